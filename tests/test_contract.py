"""The contract as code: machine-readable export and pandera schema agree with the rules."""

from __future__ import annotations

import json

import pandera.pandas as pa
import pytest

from conftest import REFERENCE_DATE, clean_rows, person, write_extract
from quarterstats import contract
from quarterstats.ingest import ingest_register


def test_table_schema_lists_every_column_and_rule():
    schema = contract.table_schema()
    json.dumps(schema)  # serialisable
    assert [f["name"] for f in schema["fields"]] == list(contract.COLUMN_NAMES)
    assert schema["version"] == contract.CONTRACT_VERSION
    age = next(f for f in schema["fields"] if f["name"] == "age")
    assert age["constraints"] == {"required": True, "minimum": 0, "maximum": 120}
    sex = next(f for f in schema["fields"] if f["name"] == "sex")
    assert sex["constraints"]["enum"] == ["m", "w", "d", "x"]
    assert {r["id"] for r in schema["x-row-rules"]} == set(contract.RULE_BY_ID)
    assert schema["primaryKey"] == ["person_id"]


def test_every_rule_id_names_its_column():
    for rule in contract.ROW_RULES:
        assert rule.column in contract.COLUMN_NAMES
        assert rule.id.split(".")[0] in (*contract.COLUMN_NAMES, "coordinates")


def test_pandera_schema_flags_the_same_rows_as_ingest(tmp_path):
    rows = clean_rows() + [person("b1", age=130), person("b2", sex="q")] + [person(f"g{i}") for i in range(60)]
    path = write_extract(rows, tmp_path / f"{REFERENCE_DATE}.parquet")
    result = ingest_register(path)
    from quarterstats.ingest import parse_columns, read_raw

    raw, _ = read_raw(path)
    typed, _ = parse_columns(raw)
    schema = contract.pandera_schema(REFERENCE_DATE)
    with pytest.raises(pa.errors.SchemaErrors) as err:
        schema.validate(typed, lazy=True)
    failing_rows = set(err.value.failure_cases["index"].dropna().astype(int))
    assert {typed.loc[i, "person_id"] for i in failing_rows} == set(result.quarantine["person_id"])
    schema.validate(result.accepted.astype({"age": "Int64", "immigration_year": "Int64", "x": "Float64", "y": "Float64"}))


def test_committed_schema_export_is_current():
    """docs/register-extract.schema.json is what data owners' CI uses; regenerate with
    `quarterstats contract -o docs/register-extract.schema.json`."""
    from pathlib import Path

    committed = Path(__file__).resolve().parents[1] / "docs" / "register-extract.schema.json"
    assert committed.read_text(encoding="utf-8") == contract.schema_json()


def test_contract_doc_lists_the_current_rules():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "contract.md").read_text(encoding="utf-8")
    assert contract.rules_markdown() in doc, "regenerate the rule table in docs/contract.md"


def test_earliest_birth_year_is_exact_on_31_december_and_lenient_otherwise():
    from datetime import date

    import pandas as pd

    ages = pd.Series([0, 40, 120])
    assert contract.earliest_birth_year(ages, date(2020, 12, 31)).tolist() == [2020, 1980, 1900]
    assert contract.earliest_birth_year(ages, date(2020, 6, 30)).tolist() == [2019, 1979, 1899]


def test_every_rule_kind_is_in_the_rule_table():
    table = contract.rules_markdown()
    ids = [r.id for r in contract.ROW_RULES] + [r.id for r in contract.LINK_RULES]
    ids += [r.id for r in contract.WARNING_RULES] + list(contract.STRUCTURE_RULES) + list(contract.FILE_RULES)
    for rule_id in ids:
        assert f"`{rule_id}`" in table
