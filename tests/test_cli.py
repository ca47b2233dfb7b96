"""Command line: validate's exit codes and JSON report, contract export, clean error messages."""

from __future__ import annotations

import json

from conftest import REFERENCE_DATE, clean_rows, person, write_extract
from quarterstats.cli import main


def test_validate_clean_file_exits_0(clean_extract, capsys):
    assert main(["validate", str(clean_extract)]) == 0
    assert "OK: clean" in capsys.readouterr().out


def test_validate_broken_rows_exit_1_with_rule_count_and_examples(tmp_path, capsys):
    rows = clean_rows() + [person("b1", age=-1), person("b2", age=121), person("b3", sex="f")]
    rows += [person(f"g{i:03d}") for i in range(100)]
    path = write_extract(rows, tmp_path / f"{REFERENCE_DATE}.parquet")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "age.range: 2 row(s)" in out and "sex.allowed: 1 row(s)" in out
    assert "b1" not in out and "person_id=<hidden> age='<hidden>'" in out  # no pseudonym in a CI log
    assert main(["validate", "--show-values", str(path)]) == 1
    assert "person_id=b1 age='-1'" in capsys.readouterr().out
    assert main(["validate", "--json", "--show-values", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "rows_broken"
    assert report["rule_counts"] == {"age.range": 2, "sex.allowed": 1}
    assert report["input_rows"] == report["accepted_rows"] + report["quarantined_rows"] == 113
    assert [e["person_id"] for e in report["examples"]["age.range"]] == ["b1", "b2"]


def test_validate_unusable_file_exits_2_without_traceback(tmp_path, capsys):
    path = tmp_path / f"{REFERENCE_DATE}.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "file.columns" in err and str(path) in err and "Traceback" not in err
    assert main(["validate", "--json", str(path)]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["status"] == "unusable" and payload["error"]["rule"] == "file.columns"


def test_validate_missing_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "2020-12-31.parquet")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_contract_export(tmp_path, capsys):
    target = tmp_path / "contract.json"
    assert main(["contract", "-o", str(target)]) == 0
    schema = json.loads(target.read_text(encoding="utf-8"))
    assert schema["name"] == "register_extract"
