"""Person ids as Arrow text, and parent links resolved to row positions.

Register extracts identify persons by string pseudonyms, and a minor's ``mother_id`` / ``father_id``
name another row. Hashing a million strings is the expensive part of resolving those links, so it is
done in one Arrow dictionary encoding of person ids, mother ids and father ids together
(:class:`PersonLinks`), which gives at once which ids occur twice and which row each link points to.

:func:`factorize_text` turns a text column into integer codes the same way for every caller, without
hashing any text when the column is a Categorical already (code columns and household ids are);
:func:`text_codes` is the cheaper variant for callers that only compare or group (household ids), and
:func:`categorical_from_codes` builds a Categorical from codes and distinct categories without pandas
hashing the categories again.

The ingest resolves the links once and keeps the result in two derived columns of the processed
tables (:data:`PARENT_ROWS`: ``mother_row``, ``father_row``). :func:`keep_rows` keeps them true when
rows are dropped (persons outside every district), and :func:`parent_rows` gives them to the
migration derivation after checking them, so the ids are hashed once per extract, not once per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def arrow_text(series: pd.Series) -> pa.LargeStringArray:
    """A text-like column as one Arrow large_string array, nulls for missing values.

    Zero-copy for pandas' Arrow-backed ``str``/``string`` columns; categoricals are decoded and other
    dtypes (numbers as ids, objects) converted to text.
    """
    if isinstance(series.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_string_dtype(series.dtype) or series.dtype == object
    ):
        series = series.astype("string")
    array = pa.array(series, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array if array.type == pa.large_string() else array.cast(pa.large_string())


def is_text_categorical(series: pd.Series) -> bool:
    """A pandas Categorical whose categories are text."""
    return isinstance(series.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(series.cat.categories.dtype)


def factorize_text(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``(codes, values)`` of a text column: ``values[codes[i]]`` is row i's value, code -1 = missing.

    ``values`` (an Index of text) are the distinct values present, in order of first appearance (as
    Arrow's ``dictionary_encode``). A Categorical gives the same result from its codes (categories no
    row uses are left out) without hashing any text; other columns take one Arrow hash pass
    (:func:`arrow_text`). No Python object per value: household ids have millions.
    """
    if is_text_categorical(series):
        codes = series.cat.codes.to_numpy()
        seen = pd.unique(codes)  # the codes in order of first appearance (a hash of small integers)
        order = seen[seen >= 0].astype(np.int64)
        renumber = np.full(len(series.cat.categories) + 1, -1, dtype=np.int64)  # the last entry serves code -1
        renumber[order] = np.arange(len(order))
        return renumber[codes], series.cat.categories.take(order)
    encoded = arrow_text(series).dictionary_encode()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, pd.Index(encoded.dictionary.to_pandas(), dtype="str")


def text_codes(series: pd.Series) -> np.ndarray:
    """int64 codes that tell the values of a text column apart (equal values, equal codes; -1 missing),
    for callers that only compare or group (household ids): a Categorical's own codes, no hashing and
    no pass to put them in order of appearance; other columns one Arrow hash pass (:func:`factorize_text`).

    The codes need not be consecutive: a category no row uses keeps its code, so a count per code
    can be 0 (use ``bincount(codes[codes >= 0], minlength=codes.max() + 1)`` and skip the empty ones).
    """
    if is_text_categorical(series):
        return series.cat.codes.to_numpy().astype(np.int64)
    return factorize_text(series)[0]


def categorical_from_codes(codes: np.ndarray, categories: pd.Index) -> pd.Categorical:
    """A Categorical of ``categories[codes]`` (code -1: missing) for categories that are distinct by
    construction (a dictionary from Arrow or ``pd.factorize``).

    pandas checks that categories are unique by hashing them all again (1.3 s for the 2 million
    household ids of a 4-million extract); the dtype's fast path skips that check, which is safe here
    and only here. Without that (private) constructor, the public one is used.
    """
    from_fastpath = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    dtype = from_fastpath(categories, False) if from_fastpath is not None else pd.CategoricalDtype(categories)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


@dataclass
class PersonLinks:
    """Who is who in one table of persons, from one dictionary encoding of person_id, mother_id and
    father_id (person ids first, so a code below the number of distinct person ids is somebody's id).

    ``duplicated``: rows whose non-empty person_id occurs more than once;
    ``mother_row``, ``father_row``: for each row, a row holding the linked person_id, -1 for no link or
    an id nobody has (for a duplicated id, one of its rows).
    """

    duplicated: np.ndarray
    mother_row: np.ndarray
    father_row: np.ndarray

    #: The columns :meth:`of` reads.
    COLUMNS: ClassVar[tuple[str, ...]] = ("person_id", "mother_id", "father_id")

    @classmethod
    def of(cls, frame: pd.DataFrame) -> "PersonLinks":
        n = len(frame)
        ids = arrow_text(frame["person_id"])
        links = [arrow_text(frame[c]) for c in cls.COLUMNS[1:]]
        # only the links that are there are hashed (most persons are adults without links)
        linked = [np.flatnonzero(link.is_valid().to_numpy(zero_copy_only=False)) for link in links]
        combined = pa.concat_arrays([ids] + [link.take(pa.array(rows)) for link, rows in zip(links, linked)])
        codes = pc.fill_null(combined.dictionary_encode().indices, -1).to_numpy(zero_copy_only=False)
        own = codes[:n]
        present = own >= 0
        counts = np.bincount(own[present], minlength=int(codes.max()) + 1 if len(codes) else 0)
        duplicated = present & (counts[np.where(present, own, 0)] > 1)
        row_of_code = np.full(len(counts), -1, dtype=np.int64)
        row_of_code[own[present]] = np.flatnonzero(present)
        parent_rows, start = [], n
        for rows in linked:
            found = np.full(n, -1, dtype=np.int64)
            found[rows] = row_of_code[codes[start:start + len(rows)]]
            parent_rows.append(found)
            start += len(rows)
        return cls(duplicated, *parent_rows)

    def positions_among(self, kept: np.ndarray) -> dict[str, np.ndarray]:
        """Parent positions among the ``kept`` rows (renumbered 0..), for the kept rows, keyed by link
        column; -1 where the parent is not kept (or there is none)."""
        kept = np.asarray(kept, dtype=bool)
        new_position = np.cumsum(kept) - 1
        return {column: renumber_rows(rows, kept, new_position)
                for column, rows in (("mother_id", self.mother_row), ("father_id", self.father_row))}


#: Derived columns of the processed register tables: for each link column, the row position of the
#: linked parent in the same table (-1: no link, or the parent is not in the table).
PARENT_ROWS: dict[str, str] = {"mother_id": "mother_row", "father_id": "father_row"}


def renumber_rows(rows: np.ndarray, kept: np.ndarray, new_position: np.ndarray | None = None) -> np.ndarray:
    """Row positions pointing into a table, for the ``kept`` rows only and renumbered among them (the
    table after ``frame[kept]``); -1 where the row pointed at is not kept (or was -1).
    ``new_position``: ``cumsum(kept) - 1``, if the caller renumbers several columns."""
    kept = np.asarray(kept, dtype=bool)
    if new_position is None:
        new_position = np.cumsum(kept) - 1
    rows = np.asarray(rows)[kept]
    renumbered = np.full(len(rows), -1, dtype=np.int64)
    linked = np.flatnonzero(rows >= 0)  # only these point somewhere (few: the minors' parents)
    target = rows[linked]
    still = kept[target]
    renumbered[linked[still]] = new_position[target[still]]
    return renumbered


def keep_rows(frame: pd.DataFrame, kept: np.ndarray) -> pd.DataFrame:
    """``frame[kept]`` with a fresh index, and its :data:`PARENT_ROWS` columns renumbered to match."""
    kept = np.asarray(kept, dtype=bool)
    if kept.all():
        return frame.reset_index(drop=True)
    out = frame.loc[kept].reset_index(drop=True)
    new_position = np.cumsum(kept) - 1
    for column in PARENT_ROWS.values():
        if column in frame.columns:
            renumbered = renumber_rows(frame[column].to_numpy(), kept, new_position)
            out[column] = renumbered.astype(frame[column].dtype)
    return out


def parent_rows(frame: pd.DataFrame) -> dict[str, np.ndarray] | None:
    """The :data:`PARENT_ROWS` of ``frame`` keyed by link column, or None when the frame does not carry
    them or they do not fit it: every position must lie in the table, and the person there must have
    the id the link names (one comparison of the linked ids, no hashing). None makes the caller
    resolve the links itself."""
    if not all(column in frame.columns for column in PARENT_ROWS.values()):
        return None
    n = len(frame)
    ids = arrow_text(frame["person_id"])
    found = {}
    for link, column in PARENT_ROWS.items():
        rows = frame[column].to_numpy(dtype=np.int64)
        linked = np.flatnonzero(rows >= 0)
        if len(linked) and rows[linked].max() >= n:
            return None
        named = arrow_text(frame[link]).take(pa.array(linked))
        if pc.all(pc.equal(ids.take(pa.array(rows[linked])), named), skip_nulls=False).as_py() is not True:
            return None
        found[link] = rows
    return found
