"""Ingest under the contract: clean and dirty extracts, Parquet and German-style CSV, file-level errors."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE_DATE, clean_rows, person, write_csv, write_extract
from quarterstats import contract
from quarterstats.errors import InputError
from quarterstats.ingest import ingest_register


def test_clean_parquet_is_accepted_whole(clean_extract):
    result = ingest_register(clean_extract)
    assert result.reference_date == REFERENCE_DATE
    assert (result.input_rows, result.accepted_rows, result.quarantined_rows) == (10, 10, 0)
    assert result.rule_counts == {} and result.link_repairs == {}
    accepted = result.accepted
    assert list(accepted.columns) == list(contract.COLUMN_NAMES) + ["mother_row", "father_row"]
    assert accepted["age"].dtype == "int16"
    # the links as resolved: p04's mother p03 is the row holding p03
    child = accepted.index[accepted.person_id == "p04"].item()
    assert accepted.loc[accepted.loc[child, "mother_row"], "person_id"] == "p03"
    assert (accepted.loc[accepted["mother_id"].isna(), "mother_row"] == -1).all()
    assert accepted.loc[accepted.person_id == "p04", "mother_id"].item() == "p03"
    assert accepted["moved_in_address"].dtype == "datetime64[s]"


@pytest.mark.parametrize(
    "sep,decimal,encoding,german_dates",
    [(";", ",", "utf-8", False), (";", ",", "cp1252", True), (",", ".", "utf-8", False), ("\t", ",", "cp1252", False)],
)
def test_german_style_csv_reads_like_parquet(tmp_path, clean_extract, sep, decimal, encoding, german_dates):
    rows = clean_rows()
    rows[0]["household_id"] = "Hüttenstraße-1"  # a non-ASCII value survives either encoding
    csv = write_csv(rows, tmp_path / f"{REFERENCE_DATE}.csv", sep=sep, decimal=decimal, encoding=encoding,
                    german_dates=german_dates)
    result = ingest_register(csv)
    assert result.quarantined_rows == 0 and result.accepted_rows == 10
    assert result.encoding == encoding and result.separator == sep
    reference = ingest_register(clean_extract).accepted
    got = result.accepted
    assert got.loc[0, "household_id"] == "Hüttenstraße-1"
    pd.testing.assert_series_equal(got["x"], reference["x"])
    pd.testing.assert_series_equal(got["moved_in_address"], reference["moved_in_address"])
    pd.testing.assert_series_equal(got["immigration_year"], reference["immigration_year"])


def test_dirty_rows_are_quarantined_with_their_rule(tmp_path):
    rows = clean_rows() * 1  # 10 good rows
    bad = [
        person("b1", age=130),
        person("b2", sex="q"),
        person("b3", nationality_1="ZZZ"),
        person("b4", moved_in_address=date(2021, 6, 1)),
        person("b5", x=None),
        person("b6", x=7.75, y=49.44),  # degrees instead of metres
        person("b7", german_acquisition="marriage"),
        person("b8", immigration_year=1930, age=40),  # before birth
    ]
    good = [person(f"g{i:03d}") for i in range(200)]
    path = write_extract(rows + bad + good, tmp_path / f"{REFERENCE_DATE}.parquet")
    result = ingest_register(path)
    assert result.input_rows == 218
    assert result.input_rows == result.accepted_rows + result.quarantined_rows
    assert result.quarantined_rows == 8
    q = result.quarantine.set_index("person_id")
    expected = {
        "b1": "age.range", "b2": "sex.allowed", "b3": "nationality_1.code",
        "b4": "moved_in_address.not_future", "b5": "x.required", "b6": "coordinates.crs",
        "b7": "german_acquisition.allowed", "b8": "immigration_year.plausible",
    }
    assert q["rule"].to_dict() == expected
    assert q.loc["b1", "age"] == "130"  # the value as delivered
    assert q.loc["b4", "row_number"] == 14  # 1-based row in the file
    assert set(result.accepted["person_id"]).isdisjoint(expected)


def test_unparseable_values_break_the_type_rule(tmp_path):
    rows = clean_rows() + [person(f"g{i:03d}") for i in range(100)]
    path = write_csv(rows, tmp_path / f"{REFERENCE_DATE}.csv")
    text = path.read_text(encoding="utf-8").splitlines()
    text[1] = text[1].replace(";40;", ";vierzig;", 1)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = ingest_register(path)
    assert result.quarantined_rows == 1
    assert result.quarantine.loc[0, "rule"] == "age.type"
    assert "age.required" not in result.rule_counts  # a bad value is not reported as missing too


def test_duplicates_within_tolerance_quarantine_all_copies(tmp_path):
    rows = [person(f"g{i:04d}") for i in range(3000)] + [person("g0001")]
    result = ingest_register(write_extract(rows, tmp_path / f"{REFERENCE_DATE}.parquet"))
    assert result.rule_counts["person_id.unique"] == 2
    assert result.accepted_rows == 2999


def test_broken_parent_links_are_removed_and_counted(tmp_path):
    rows = clean_rows() + [
        person("k1", age=5, mother_id="nobody"),
        person("k2", age=5, father_id="k2"),
        person("k3", age=30, mother_id="p04"),  # "mother" aged 7
    ]
    result = ingest_register(write_extract(rows, tmp_path / f"{REFERENCE_DATE}.parquet"))
    assert result.quarantined_rows == 0
    assert result.link_repairs == {"mother_id.exists": 1, "father_id.self": 1, "mother_id.age_gap": 1}
    links = result.accepted.set_index("person_id")[["mother_id", "father_id"]]
    assert links.loc[["k1", "k2", "k3"]].isna().all().all()
    assert links.loc["p04", "mother_id"] == "p03"


@pytest.mark.parametrize(
    "make,rule,column",
    [
        (lambda p: p.write_bytes(b""), "file.rows", None),
        (lambda p: p.write_text("person_id;household_id\n", encoding="utf-8"), "file.columns", "age"),
        (lambda p: p.write_bytes("person_id;age\n1;2\n".encode("utf-16")), "file.encoding", None),
    ],
)
def test_unusable_csv_files_stop_with_one_message(tmp_path, make, rule, column):
    path = tmp_path / f"{REFERENCE_DATE}.csv"
    make(path)
    with pytest.raises(InputError) as err:
        ingest_register(path)
    assert err.value.rule == rule
    assert err.value.column == column
    assert str(path) in str(err.value)


def test_header_only_file(tmp_path):
    path = write_csv(clean_rows()[:1], tmp_path / f"{REFERENCE_DATE}.csv")
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="no data rows"):
        ingest_register(path)


def test_truncated_parquet(tmp_path, clean_extract):
    data = clean_extract.read_bytes()
    broken = tmp_path / f"{REFERENCE_DATE}.parquet"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        ingest_register(broken)
    assert err.value.rule == "file.readable"


def test_too_many_duplicates_make_the_file_unusable(tmp_path):
    rows = [person(f"g{i:03d}") for i in range(100)] + [person("g001"), person("g002")]
    with pytest.raises(InputError) as err:
        ingest_register(write_extract(rows, tmp_path / f"{REFERENCE_DATE}.parquet"))
    assert (err.value.rule, err.value.column) == ("file.duplicates", "person_id")


def test_extract_of_a_later_date_is_rejected(tmp_path):
    rows = [person(f"g{i:03d}", moved_in_address=date(2021, 3, 1)) for i in range(20)]
    with pytest.raises(InputError) as err:
        ingest_register(write_extract(rows, tmp_path / f"{REFERENCE_DATE}.parquet"))
    assert err.value.rule == "file.reference_date"


def test_too_many_bad_rows_make_the_file_unusable(tmp_path):
    rows = [person(f"g{i:03d}", x=7.7, y=49.4) for i in range(20)] + [person("ok")]
    with pytest.raises(InputError) as err:
        ingest_register(write_extract(rows, tmp_path / f"{REFERENCE_DATE}.parquet"))
    assert err.value.rule == "file.quarantine_share"
    assert "coordinates.crs" in str(err.value)


def test_extra_columns_are_ignored_and_noted(tmp_path):
    rows = [dict(person(f"g{i}"), street="Marktstraße 1") for i in range(3)]
    path = write_csv(rows, tmp_path / f"{REFERENCE_DATE}.csv")
    result = ingest_register(path)
    assert result.extra_columns == ["street"] and result.accepted_rows == 3
    assert "street" not in result.accepted.columns


def test_row_numbers_count_lines_set_aside_and_lines_before_the_header(tmp_path):
    """An Excel 'sep=;' line and a blank line before the header; data row 3 has a field too many."""
    rows = clean_rows() + [person(f"g{i:03d}") for i in range(100)]
    path = write_csv(rows, tmp_path / f"{REFERENCE_DATE}.csv")
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[3].startswith("p03;Hfam;") and lines[5].startswith("p05;Hp05;70;")
    lines[3] = lines[3].replace(";Hfam;", ";H;fam;")  # unquoted separator in a value
    lines[5] = lines[5].replace(";70;", ";170;")
    path.write_text("sep=;\n\n" + "\n".join(lines), encoding="utf-8")
    result = ingest_register(path)
    q = result.quarantine.set_index("rule")
    assert q.loc["row.fields", "row_number"] == 3 and q.loc["row.fields", "person_id"] == "p03"
    assert q.loc["age.range", "row_number"] == 5 and q.loc["age.range", "person_id"] == "p05"
    assert result.input_rows == 110 == result.accepted_rows + result.quarantined_rows


def test_row_numbers_of_parsed_rows_skip_the_set_aside_ones():
    from quarterstats.ingest import _row_numbers

    # data rows 1..6 in the file; rows 3 and 4 were set aside, so the 4 parsed rows are 1, 2, 5, 6
    assert _row_numbers(4, [{"row": 3}, {"row": 4}]).tolist() == [1, 2, 5, 6]
    assert _row_numbers(3, [{"row": 1}]).tolist() == [2, 3, 4]
    assert _row_numbers(2, []).tolist() == [1, 2]


def test_rules_on_dates_before_birth_use_the_exact_birth_year_on_31_december(tmp_path):
    # age 40 on 2020-12-31: born in 1980. Moving in during 1980 is possible, during 1979 is not.
    rows = [person("ok", moved_in_address=date(1980, 1, 1)), person("bad", moved_in_address=date(1979, 12, 31))]
    rows += [person(f"g{i:03d}") for i in range(100)]
    result = ingest_register(write_extract(rows, tmp_path / f"{REFERENCE_DATE}.parquet"))
    assert result.quarantine["person_id"].tolist() == ["bad"]
    assert result.rule_counts == {"moved_in_address.before_birth": 1}
    # on 30 June 2020 an age of 40 allows birth in 1979 or 1980: both accepted
    rows = [dict(r, moved_in_address=min(r["moved_in_address"], date(2020, 6, 1))) for r in rows]
    result = ingest_register(write_extract(rows, tmp_path / "2020-06-30.parquet"))
    assert result.quarantined_rows == 0


def test_large_extract_repairs_links_like_the_rules_say(tmp_path):
    """Vectorised link repair on 20,000 rows: counts and removed links by hand."""
    n = 20_000
    rows = [person(f"a{i:05d}", age=40) for i in range(n // 2)]
    rows += [person(f"c{i:05d}", age=5, household_id=f"Ha{i:05d}", mother_id=f"a{i:05d}") for i in range(n // 2)]
    rows[n // 2]["mother_id"] = "missing"  # dangling
    rows[n // 2 + 1]["father_id"] = "c00001"  # himself
    rows[0]["mother_id"] = "c00009"  # a 5-year-old "mother" of a 40-year-old
    result = ingest_register(write_extract(rows, tmp_path / f"{REFERENCE_DATE}.parquet"))
    assert result.link_repairs == {"mother_id.exists": 1, "father_id.self": 1, "mother_id.age_gap": 1}
    links = result.accepted.set_index("person_id")
    assert links["mother_id"].notna().sum() == n // 2 - 1
    assert pd.isna(links.loc["a00000", "mother_id"]) and links.loc["c00002", "mother_id"] == "a00002"


def test_code_columns_are_normalised_once_per_distinct_value_in_any_storage(tmp_path):
    """Code columns come as Categoricals whatever the file stores: text, Arrow dictionaries over several
    row groups, or CSV; spellings that normalise alike share one code,
    and the quarantine shows the value as delivered."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from conftest import REGISTER_SCHEMA

    rows = clean_rows()
    rows[1]["nationality_1"] = " tur"
    rows[2]["nationality_1"] = "TUR "
    rows[3]["sex"] = "W"
    rows[4]["nationality_1"] = "qqq"  # unknown code: quarantined as delivered
    rows[5]["household_id"] = f" {rows[5]['household_id']} "  # spaces removed, case kept
    plain = write_extract(rows, tmp_path / "plain" / f"{REFERENCE_DATE}.parquet")
    table = pa.Table.from_pylist(rows, schema=REGISTER_SCHEMA)
    table = table.set_column(table.schema.get_field_index("nationality_1"), "nationality_1",
                             table.column("nationality_1").dictionary_encode())
    dictionary = tmp_path / "dictionary" / f"{REFERENCE_DATE}.parquet"
    dictionary.parent.mkdir()
    pq.write_table(table, dictionary, row_group_size=3)  # several row groups, each its own dictionary
    csv = write_csv(rows, tmp_path / "csv" / f"{REFERENCE_DATE}.csv")

    results = {name: ingest_register(path, max_quarantine_share=1.0) for name, path in
               (("plain", plain), ("dictionary", dictionary), ("csv", csv))}
    for name, result in results.items():
        accepted = result.accepted
        for column in ("sex", "nationality_1", "nationality_2", "birth_country", "german_acquisition",
                       "household_id"):
            assert isinstance(accepted[column].dtype, pd.CategoricalDtype), (name, column)
        by_id = accepted.set_index("person_id")
        assert by_id.loc[[rows[1]["person_id"], rows[2]["person_id"]], "nationality_1"].tolist() == ["TUR", "TUR"]
        assert by_id.loc[rows[3]["person_id"], "sex"] == "w"
        assert by_id.loc[rows[5]["person_id"], "household_id"] == rows[5]["household_id"].strip()
        assert "TUR" in accepted["nationality_1"].cat.categories
        assert list(accepted["nationality_1"].cat.categories).count("TUR") == 1
        quarantined = result.quarantine.set_index("rule")
        assert quarantined.loc["nationality_1.code", "nationality_1"] == "qqq"
    pd.testing.assert_frame_equal(results["plain"].accepted, results["dictionary"].accepted)
    pd.testing.assert_frame_equal(results["plain"].accepted.astype(str), results["csv"].accepted.astype(str))


def test_arrow_dictionaries_of_several_row_groups_become_one_categorical():
    import pyarrow as pa

    from quarterstats.ingest import _categorical

    chunks = [
        pa.DictionaryArray.from_arrays(pa.array([0, None, None, 2], type=pa.int32()), pa.array(["DEU", "POL", "TUR"])),
        pa.DictionaryArray.from_arrays(pa.array([1, 0], type=pa.int32()), pa.array(["SYR", "DEU"])),
    ]
    categorical = _categorical(pa.chunked_array(chunks))
    assert [None if pd.isna(v) else v for v in categorical] == ["DEU", None, None, "TUR", "DEU", "SYR"]
    assert sorted(categorical.categories) == ["DEU", "POL", "SYR", "TUR"]  # POL: in a dictionary, in no row
    assert len(_categorical(pa.chunked_array([], type=pa.dictionary(pa.int32(), pa.string())))) == 0


def test_rules_on_dates_before_birth_judge_years_before_1970_too(tmp_path):
    # age 80 on 2020-12-31: born in 1940. Moving in during 1940 is possible, during 1939 is not; the
    # dates lie before the Unix epoch, where the years come from negative day counts.
    rows = [person("ok", age=80, moved_in_city=date(1940, 1, 1), moved_in_address=date(1969, 12, 31)),
            person("bad", age=80, moved_in_city=date(1939, 12, 31), moved_in_address=date(1970, 1, 1))]
    rows += [person(f"g{i:03d}") for i in range(100)]
    result = ingest_register(write_extract(rows, tmp_path / f"{REFERENCE_DATE}.parquet"))
    assert result.quarantine["person_id"].tolist() == ["bad"]
    assert result.rule_counts == {"moved_in_city.before_birth": 1}


def test_quarantine_text_of_a_column_is_the_values_as_delivered():
    """Only the quarantined rows of a Categorical are converted; missing stays missing; dates as ISO."""
    from quarterstats.ingest import _delivered_text

    rows = np.array([0, 2, 3])
    household = pd.Series(pd.Categorical(["H1", "H2", None, "H1"], categories=["H2", "H1", "H9"]))
    assert _delivered_text(household, rows).tolist() == ["H1", pd.NA, "H1"]
    empty = pd.Series(pd.Categorical([None] * 4, categories=pd.Index([], dtype="str")))
    assert _delivered_text(empty, rows).isna().all() and len(_delivered_text(empty, rows)) == 3
    dates = pd.Series(pd.to_datetime(["2020-01-31", "2021-02-01", None, "1999-12-31"]))
    assert _delivered_text(dates, rows).tolist() == ["2020-01-31", pd.NA, "1999-12-31"]
    ages = pd.Series([5, 6, 7, None], dtype="Int64")
    result = _delivered_text(ages, rows)
    assert result.dtype == "string" and result.tolist() == ["5", "7", pd.NA]
