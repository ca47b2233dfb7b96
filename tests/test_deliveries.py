"""Deliveries: ids exactly as delivered, every entry of data/raw accounted for, bounded reading, the
auxiliary contract in the run, pseudonym consistency, and the ``validate --json`` result schema.

Each protection is shown twice where that is possible: the attack succeeding without it, and refused
with it. The per-file cases themselves are rows of the bad-input catalogue (``tests/test_bad_inputs.py``).
"""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from conftest import REFERENCE_DATE, clean_rows, make_small_project, person, write_csv, write_extract
from quarterstats import ingest
from quarterstats.cli import main
from quarterstats.errors import InputError
from quarterstats.ingest import READ_LIMITS, ReadLimits, gunzip_bounded, ingest_register
from quarterstats.paths import ProjectPaths

REPO = Path(__file__).resolve().parents[1]
RESULT_SCHEMA = json.loads((REPO / "docs" / "validate-result.schema.json").read_text(encoding="utf-8"))
DAY = REFERENCE_DATE.isoformat()


# ------------------------------------------------------------------ a small JSON Schema check
# (jsonschema is not a dependency: this covers the keywords docs/validate-result.schema.json uses)
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _type_ok(value, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def schema_errors(value, schema: dict, root: dict = RESULT_SCHEMA, where: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (a subset of JSON Schema 2020-12: $ref to $defs, oneOf, type,
    enum, const, required, properties, additionalProperties, items, minimum)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return schema_errors(value, root["$defs"][name], root, where)
    errors = []
    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if not schema_errors(value, s, root, where)]
        if len(matching) != 1:
            errors.append(f"{where}: matches {len(matching)} of the oneOf alternatives")
        return errors
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_type_ok(value, n) for n in names):
            return [f"{where}: {value!r} is not of type {types}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "minimum" in schema and _type_ok(value, "number") and value < schema["minimum"]:
        errors.append(f"{where}: {value} below {schema['minimum']}")
    if isinstance(value, dict):
        errors += [f"{where}: missing {key}" for key in schema.get("required", []) if key not in value]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], root, f"{where}.{key}")
            elif extra is False:
                errors.append(f"{where}: unexpected key {key}")
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, root, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], root, f"{where}[{i}]")
    return errors


def validate_json(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["validate", "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_schema_check_can_fail():
    """The structural check itself rejects a result of another shape."""
    good = {"result_version": "1.0.0", "status": "clean", "exit_code": 0, "contract": "register", "folder": "x",
            "files": [], "refused": [], "not_used": []}
    assert schema_errors(good, RESULT_SCHEMA) == []
    assert schema_errors({**good, "status": "fine"}, RESULT_SCHEMA)
    assert schema_errors({k: v for k, v in good.items() if k != "files"}, RESULT_SCHEMA)
    assert schema_errors({**good, "files": [{"status": "clean"}]}, RESULT_SCHEMA)


def test_every_validate_outcome_has_the_documented_shape(tmp_path, capsys):
    clean = write_extract(clean_rows(), tmp_path / "clean" / f"{DAY}.parquet")
    repaired = write_extract(clean_rows() + [person("k1", age=5, household_id="Hp01", mother_id="nobody")],
                             tmp_path / "repaired" / f"{DAY}.parquet")
    broken = write_extract(clean_rows() + [person(f"g{i}") for i in range(50)] + [person("b1", age=130)],
                           tmp_path / "broken" / f"{DAY}.parquet")
    unusable = tmp_path / "unusable" / f"{DAY}.csv"
    unusable.parent.mkdir()
    unusable.write_text("a;b\n1;2\n", encoding="utf-8")
    auxiliary = tmp_path / "auxiliary" / f"{DAY}.csv"
    auxiliary.parent.mkdir()
    auxiliary.write_text("district_id;sgb2_recipients_under65;unemployed;children_under15_in_sgb2\n"
                         "A;k.A.;3;-\nB;-4;1;0\n", encoding="utf-8")
    outcomes = {}
    for path in (clean, repaired, broken, unusable, auxiliary):
        code, result = validate_json(capsys, str(path))
        assert schema_errors(result, RESULT_SCHEMA) == [], (path, schema_errors(result, RESULT_SCHEMA))
        assert result["exit_code"] == code
        outcomes[path.parent.name] = (code, result["status"])
        assert set(result) == set(RESULT_SCHEMA["$defs"]["file_result"]["required"])  # one shape for all
    assert outcomes == {"clean": (0, "clean"), "repaired": (1, "repaired"), "broken": (1, "rows_broken"),
                        "unusable": (2, "unusable"), "auxiliary": (1, "rows_broken")}
    (broken.parent / "liesmich.txt").write_text("x", encoding="utf-8")
    code, folder = validate_json(capsys, str(broken.parent))
    assert schema_errors(folder, RESULT_SCHEMA) == [] and code == 1
    assert [e["path"].split("/")[-1] for e in folder["not_used"]] == ["liesmich.txt"]


def test_validate_calls_a_file_with_removed_links_repaired_not_clean(tmp_path, capsys):
    path = write_extract(clean_rows() + [person("k1", age=5, household_id="Hp01", mother_id="nobody")],
                         tmp_path / f"{DAY}.parquet")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "mother_id.exists: 1 link(s) removed" in out and "REPAIRED" in out and "OK: clean" not in out


def test_examples_and_messages_hide_pseudonyms_unless_asked(tmp_path, capsys):
    rows = clean_rows() + [person(f"g{i}") for i in range(20)] + [person("geheim-42"), person("geheim-42")]
    path = write_extract(rows, tmp_path / f"{DAY}.parquet")
    code, result = validate_json(capsys, str(path))
    assert code == 2 and "geheim-42" not in json.dumps(result)  # file.duplicates names an example id
    assert "<hidden, 9 characters>" in result["error"]["message"]
    code, result = validate_json(capsys, "--show-values", str(path))
    assert "'geheim-42'" in result["error"]["message"] and result["values_shown"]


# ------------------------------------------------------------------ ids exactly as delivered
def numbered_rows(mother_suffix: str = "") -> list[dict]:
    rows = clean_rows() + [person(f"g{i:03d}") for i in range(100)]
    rename = {row["person_id"]: str(i + 1) for i, row in enumerate(rows)}
    for row in rows:
        row["person_id"] = rename[row["person_id"]]
        for link in ("mother_id", "father_id"):
            if row[link] is not None:
                row[link] = rename[row[link]] + mother_suffix
    return rows


def test_spreadsheet_ids_would_silently_unlink_every_parent_without_the_check(tmp_path, monkeypatch):
    path = write_csv(numbered_rows(".0"), tmp_path / f"{DAY}.csv")
    with pytest.raises(InputError) as err:
        ingest_register(path)
    assert err.value.rule == "file.id_format" and err.value.column == "mother_id"
    monkeypatch.setattr(ingest, "check_id_format", lambda raw, path: None)
    with pytest.raises(InputError, match="trailing '.0'"):  # the second sign catches it on its own
        ingest_register(path)
    monkeypatch.setattr(ingest, "check_link_normalisation", lambda typed, links, path: None)
    result = ingest_register(path)  # the attack: the file passes, every link of the child is "dangling"
    assert result.quarantined_rows == 0
    assert result.link_repairs == {"mother_id.exists": 1, "father_id.exists": 1}


def test_lost_leading_zeros_are_refused_and_would_unlink_without_the_check(tmp_path, monkeypatch):
    rows = numbered_rows()
    for row in rows:
        row["person_id"] = row["person_id"].zfill(5)
    path = write_csv(rows, tmp_path / f"{DAY}.csv")
    with pytest.raises(InputError, match="leading zeros"):
        ingest_register(path)
    monkeypatch.setattr(ingest, "check_link_normalisation", lambda typed, links, path: None)
    assert ingest_register(path).link_repairs == {"mother_id.exists": 1, "father_id.exists": 1}


def test_ids_with_leading_zeros_everywhere_are_kept_exactly(tmp_path):
    rows = numbered_rows()
    for row in rows:
        row["person_id"] = row["person_id"].zfill(5)
        for link in ("mother_id", "father_id"):
            if row[link] is not None:
                row[link] = row[link].zfill(5)
    result = ingest_register(write_csv(rows, tmp_path / f"{DAY}.csv"))
    assert result.link_repairs == {} and result.accepted["person_id"].str.startswith("0000").sum() == 9


# ------------------------------------------------------------------ bounded reading, short messages
def test_gzip_bomb_expands_without_the_limit_and_is_refused_with_it(tmp_path):
    data = gzip.compress(b"0" * (80 * 1024 * 1024), compresslevel=9)
    assert len(data) < 200_000
    path = tmp_path / f"{DAY}.csv.gz"
    unbounded = ReadLimits(max_expanded_bytes=2**40, max_ratio=float("inf"))
    assert len(gunzip_bounded(data, path, unbounded)) == 80 * 1024 * 1024  # the attack, without the limit
    with pytest.raises(InputError) as err:
        gunzip_bounded(data, path, READ_LIMITS)
    assert err.value.rule == "file.size" and "expands to more than" in err.value.message


def test_gzip_of_several_members_and_a_normal_extract_still_read(tmp_path):
    text = b"a;b\n1;2\n"
    assert gunzip_bounded(gzip.compress(text[:4]) + gzip.compress(text[4:]), tmp_path / "x.csv.gz") == text


def test_a_10mb_value_is_cut_in_the_message(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from conftest import REGISTER_SCHEMA

    table = pa.Table.from_pylist(clean_rows(), schema=REGISTER_SCHEMA)
    table = table.append_column("reference_date", pa.array(["\x1b[31m" + "9" * 10_000_000] * len(table)))
    path = tmp_path / f"{DAY}.parquet"
    pq.write_table(table, path)
    with pytest.raises(InputError) as err:
        ingest_register(path)
    assert len(str(err.value)) < 500 and "\x1b" not in str(err.value) and "characters in all" in str(err.value)


# ------------------------------------------------------------------ deliveries in data/raw
def test_symlink_out_of_the_workdir_echoes_its_content_without_the_discovery_check(tmp_path):
    root = make_small_project(tmp_path / "project")
    secret = tmp_path / "secret.csv"
    secret.write_text("root:SECRET:0:0;x\n1;2\n", encoding="utf-8")
    link = root / "data" / "raw" / "register" / "2019-12-31.csv"
    link.symlink_to(secret)
    with pytest.raises(InputError) as read:  # the attack: reading the link directly shows its content
        ingest_register(link)
    assert "root:secret" in str(read.value)  # (column names are lower-cased)
    paths = ProjectPaths(root)
    with pytest.raises(InputError) as refused:
        paths.register_files()
    assert refused.value.rule == "file.delivery" and "outside the working directory" in refused.value.message
    assert "secret" not in str(refused.value).lower() and str(tmp_path) not in refused.value.message


def test_auxiliary_file_follows_the_inventory(tmp_path):
    root = make_small_project(tmp_path / "project")
    folder = root / "data" / "raw" / "auxiliary"
    folder.mkdir()
    paths = ProjectPaths(root)
    (folder / f"{DAY}.CSV").write_text("district_id\n", encoding="utf-8")
    assert paths.auxiliary_file(REFERENCE_DATE) == folder / f"{DAY}.CSV"  # not skipped for its upper case
    (folder / f"{DAY}.CSV").unlink()
    outside = tmp_path / "sgb2.csv"
    outside.write_text("district_id\n", encoding="utf-8")
    (folder / f"{DAY}.csv").symlink_to(outside)
    with pytest.raises(InputError) as err:
        paths.auxiliary_file(REFERENCE_DATE)
    assert err.value.rule == "file.delivery" and "outside the working directory" in err.value.message
    assert paths.auxiliary_file(date(2019, 12, 31)) is None


def test_paths_outside_the_workdir_never_reach_reports(tmp_path):
    from quarterstats.stages import _relative

    paths = ProjectPaths(make_small_project(tmp_path / "project"))
    assert _relative(paths.register_file(REFERENCE_DATE), paths) == f"data/raw/register/{DAY}.parquet"
    assert _relative(tmp_path / "elsewhere" / "x.csv", paths) == "x.csv"


def test_run_lists_unused_entries_and_stops_on_a_duplicate_date(tmp_path, capsys):
    from quarterstats.stages import ingest_stage

    root = make_small_project(tmp_path / "project")
    register = root / "data" / "raw" / "register"
    (register / "liesmich.txt").write_text("Hinweise", encoding="utf-8")
    meta = ingest_stage(ProjectPaths(root), REFERENCE_DATE).metadata
    assert meta["deliveries_not_used"] == [
        "not used: data/raw/register/liesmich.txt — not a delivery: deliveries are named "
        "<YYYY-MM-DD>.parquet|.csv.gz|.csv"]
    write_csv(clean_rows(), register / f"{DAY}.csv")
    assert main(["run", "--workdir", str(root)]) == 2
    err = capsys.readouterr().err
    assert "2 files for reference date 2020-12-31" in err and "file.delivery" in err


# ------------------------------------------------------------------ auxiliary figures and pseudonyms in the run
def test_auxiliary_over_residents_and_changed_pseudonyms_in_the_stages(tmp_path, monkeypatch):
    monkeypatch.setenv("QUARTERSTATS_THREADS", "1")
    from quarterstats.stages import boundaries_stage, indicators_stage, ingest_stage, persons_stage

    root = make_small_project(tmp_path / "project")
    later = date(2021, 12, 31)
    rows = clean_rows()
    for row in rows:
        row["age"] += 1
    rows[0]["age"] = 70  # p01: 40 -> 70 in a year
    rows[4]["sex"] = "w"  # p05: m -> w
    write_extract(rows, root / "data" / "raw" / "register" / f"{later}.parquet")
    aux = root / "data" / "raw" / "auxiliary" / f"{later}.csv"
    aux.parent.mkdir(parents=True)
    # district A has 3 residents under 65 at the later date (p02 39, p03 37, p04 8; p01 is 70 now)
    aux.write_text("district_id;sgb2_recipients_under65;unemployed;children_under15_in_sgb2\n"
                   "A;7;1;-\nB;1;k.A.;0\nC;1;1;0\nD;0;0;0\n", encoding="utf-8")
    paths = ProjectPaths(root)
    boundaries_stage(paths)
    for day in (REFERENCE_DATE, later):
        ingest_stage(paths, day)
        persons_stage(paths, day)
        result = indicators_stage(paths, day)
    meta = result.metadata
    assert 7 / 3 > 1  # without the contract: an SGB II rate of 233 % for district A
    assert meta["auxiliary_values_removed"] == {"sgb2_recipients_under65.residents": 1}
    assert meta["auxiliary_markers"] == {"children_under15_in_sgb2.zero": 1, "unemployed.missing": 1}
    table = pd.read_parquet(paths.indicators(later)).set_index(["indicator", "district_id"])["value"]
    assert pd.isna(table[("sgb2_rate", "A")]) and table[("sgb2_rate", "B")] == pytest.approx(50.0)  # 1 of p06, p07
    assert meta["pseudonym_changes"] == {"matched": 10, "person_id.birth_year": 1, "person_id.sex": 1}
    passed, text = result.checks["pseudonyms_keep_birth_year_and_sex"]
    assert not passed and "1 of 10" in text and "p01" not in text and "p05" not in text
    assert "pseudonyms_keep_birth_year_and_sex" in result.warnings  # warns, does not stop the run
    assert not result.checks["auxiliary_figures_within_contract"][0]


# ------------------------------------------------------------------ contract exports, CI files
def test_committed_auxiliary_schema_and_rules_are_current():
    from quarterstats import auxiliary

    assert (REPO / "docs" / "auxiliary.schema.json").read_text(encoding="utf-8") == auxiliary.schema_json()
    assert auxiliary.rules_markdown() in (REPO / "docs" / "contract.md").read_text(encoding="utf-8")


def test_contract_command_exports_the_auxiliary_schema(capsys):
    assert main(["contract", "--contract", "auxiliary"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "auxiliary_district_figures"


def test_data_owner_ci_jobs_validate_extract_and_auxiliary_file():
    import yaml

    github = yaml.safe_load((REPO / "docs" / "ci" / "github-actions.yml").read_text(encoding="utf-8"))
    gitlab = yaml.safe_load((REPO / "docs" / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    steps = " ".join(str(step.get("run", "")) for job in github["jobs"].values() for step in job["steps"])
    scripts = " ".join(" ".join(job["script"]) for name, job in gitlab.items() if isinstance(job, dict) and "script" in job)
    for text in (steps, scripts):
        assert "pip install" in text and "quarterstats validate" in text and "--json" in text
        assert "data/raw/register" in text and "data/raw/auxiliary" in text and "--show-values" not in text
