"""Parent links resolved to rows in one hash pass; duplicates found in the same pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from quarterstats.links import (
    PersonLinks, arrow_text, categorical_from_codes, factorize_text, keep_rows, parent_rows, renumber_rows,
)


def frame(rows):
    return pd.DataFrame(rows, columns=["person_id", "mother_id", "father_id"]).astype("string")


def test_links_point_to_rows_and_duplicates_are_marked():
    links = PersonLinks.of(frame([
        ("m", None, None),      # 0
        ("f", None, None),      # 1
        ("c", "m", "f"),        # 2
        ("d", "m", "ghost"),    # 3: father nobody has
        ("x", None, None),      # 4 \ x twice
        ("x", None, None),      # 5 /
        ("e", "x", None),       # 6: mother id duplicated
        (None, "m", None),      # 7: no id of its own
    ]))
    assert links.duplicated.tolist() == [False, False, False, False, True, True, False, False]
    assert links.mother_row.tolist()[:4] == [-1, -1, 0, 0]
    assert links.father_row.tolist()[:4] == [-1, -1, 1, -1]
    assert links.mother_row[6] in (4, 5) and links.mother_row[7] == 0


def test_positions_among_kept_rows_renumber_and_drop_removed_parents():
    links = PersonLinks.of(frame([("m", None, None), ("gone", None, None), ("f", None, None),
                                  ("c", "m", "f"), ("k", "gone", "f")]))
    kept = np.array([True, False, True, True, True])
    positions = links.positions_among(kept)
    # kept rows renumbered: m 0, f 1, c 2, k 3
    assert positions["mother_id"].tolist() == [-1, -1, 0, -1]
    assert positions["father_id"].tolist() == [-1, -1, 1, 1]


def test_arrow_text_accepts_categoricals_numbers_and_chunked_text():
    assert arrow_text(pd.Series(["a", None, "b"], dtype="category")).to_pylist() == ["a", None, "b"]
    assert arrow_text(pd.Series([7, 8])).to_pylist() == ["7", "8"]
    text = arrow_text(pd.Series(["a", "b"], dtype="str"))
    assert text.type == pa.large_string() and text.to_pylist() == ["a", "b"]


def test_factorize_text_gives_the_same_codes_for_text_and_categoricals():
    values = ["TUR", None, "DEU", "TUR", "SYR", None, "DEU"]
    text = pd.Series(values, dtype="str")
    # categories in another order, one of them used by no row (a code seen only in quarantined rows)
    categorical = pd.Series(pd.Categorical(values, categories=["ZZZ", "SYR", "DEU", "TUR"]))
    for series in (text, categorical):
        codes, uniques = factorize_text(series)
        assert list(uniques) == ["TUR", "DEU", "SYR"]  # order of first appearance, only values present
        assert codes.tolist() == [0, -1, 1, 0, 2, -1, 1]
        assert codes.dtype == np.int64
    empty_codes, empty_values = factorize_text(pd.Series(pd.Categorical([None, None], categories=["A"])))
    assert empty_codes.tolist() == [-1, -1] and list(empty_values) == []


def with_rows(rows, mother_row, father_row):
    return frame(rows).assign(mother_row=mother_row, father_row=father_row)


def test_keep_rows_renumbers_the_carried_parent_rows():
    table = with_rows([("m", None, None), ("out", None, None), ("f", None, None), ("c", "m", "f"),
                       ("k", "out", "f")], [-1, -1, -1, 0, 1], [-1, -1, -1, 2, 2])
    kept = keep_rows(table, np.array([True, False, True, True, True]))
    assert kept["person_id"].tolist() == ["m", "f", "c", "k"] and kept.index.tolist() == [0, 1, 2, 3]
    assert kept["mother_row"].tolist() == [-1, -1, 0, -1]  # k's mother is gone with the dropped row
    assert kept["father_row"].tolist() == [-1, -1, 1, 1]
    assert parent_rows(kept) is not None


def test_parent_rows_are_used_only_when_they_fit_the_table():
    rows = [("m", None, None), ("f", None, None), ("c", "m", "f")]
    good = with_rows(rows, [-1, -1, 0], [-1, -1, 1])
    assert {k: v.tolist() for k, v in parent_rows(good).items()} == {"mother_id": [-1, -1, 0],
                                                                      "father_id": [-1, -1, 1]}
    assert parent_rows(frame(rows)) is None  # not carried
    assert parent_rows(with_rows(rows, [-1, -1, 1], [-1, -1, 1])) is None  # points at the wrong person
    assert parent_rows(with_rows(rows, [-1, -1, 3], [-1, -1, 1])) is None  # beyond the table
    assert parent_rows(with_rows(rows, [0, -1, 0], [-1, -1, 1])) is None  # a row but no link
    assert parent_rows(good.iloc[[2, 0, 1]].reset_index(drop=True)) is None  # rows reordered


def test_categorical_from_codes_equals_the_validated_constructor():
    categories = pd.Index(["H2", "H1", "H3"], dtype="str")
    codes = np.array([1, -1, 0, 2, 1])
    fast = categorical_from_codes(codes, categories)
    checked = pd.Categorical.from_codes(codes, categories=categories)
    assert fast.equals(checked) and fast.dtype == checked.dtype
    assert [fast[i] for i in (0, 2, 3, 4)] == ["H1", "H2", "H3", "H1"] and pd.isna(fast[1])


def test_renumber_rows_with_a_shared_renumbering_gives_the_same_rows():
    rows = np.array([2, -1, 0, 4, 3])
    kept = np.array([True, True, False, True, True])
    alone = renumber_rows(rows, kept)
    shared = renumber_rows(rows, kept, np.cumsum(kept) - 1)
    # kept rows 0, 1, 3, 4 become 0, 1, 2, 3; row 0 pointed at the dropped row 2, row 3 at row 4 -> 3
    assert alone.tolist() == shared.tolist() == [-1, -1, 3, 2]


def test_text_codes_tell_values_apart_without_ordering_them():
    from quarterstats.links import text_codes

    text = pd.Series(["H2", None, "H1", "H2", "H3"], dtype="str")
    categorical = text.astype(pd.CategoricalDtype(pd.Index(["H9", "H3", "H2", "H1"], dtype="str")))
    for series in (text, categorical):
        codes = text_codes(series)
        assert codes.dtype == np.int64 and codes[1] == -1
        assert codes[0] == codes[3] and len({codes[0], codes[2], codes[4]}) == 3
    # a Categorical keeps its own codes: the unused category H9 holds code 0, nobody has it
    assert text_codes(categorical).tolist() == [2, -1, 3, 2, 1]
