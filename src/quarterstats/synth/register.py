"""The register extract and the synthetic truth of one reference date, as Arrow tables.

The extract has exactly the contract columns and Arrow types (common ground §1) and is sorted by
``person_id``. Register gaps (only with ``register_gaps=True``; drawn once per person when the person
enters the simulation, so they persist across dates):

* ``birth_country`` null (about 10 %: more for persons 65+ and for residents since before 1995);
* ``german_acquisition`` = ``unknown`` for about a quarter of the Germans (45 % of those who moved in
  from another German municipality, where the entry is typically lost; naturalisations by the city
  itself are always recorded);
* a missing ``mother_id``/``father_id`` link for about 4 % of minors' parents living in the city.

Links are written only for persons under 18 and only to parents present in the same extract.
The truth records each gap (``gap_birth_country``, ``gap_acquisition``, ``gap_parent_link`` — the
last one for minors whose true parent lives in the city but is not linked).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from quarterstats.contract import arrow_schema

from . import codes as C
from . import params as P
from .state import State
from .truth import EG_STATUS, MH_STATUS, register_view, truth_at

REGISTER_SCHEMA = arrow_schema()
TRUTH_SCHEMA = pa.schema([
    ("person_id", pa.string()), ("origin_group", pa.string()), ("true_birth_country", pa.string()),
    ("true_german_acquisition", pa.string()), ("true_nationality_1", pa.string()),
    ("true_nationality_2", pa.string()), ("true_immigration_year", pa.int16()), ("true_mother_id", pa.string()),
    ("true_father_id", pa.string()), ("true_mh_status", pa.string()), ("true_has_mh", pa.bool_()),
    ("true_bezugsland", pa.string()), ("true_eg_status", pa.string()), ("gap_birth_country", pa.bool_()),
    ("gap_acquisition", pa.bool_()), ("gap_parent_link", pa.bool_()),
])
_ACQ = C.Vocabulary(P.ACQUISITIONS)
_SEX = C.Vocabulary(P.SEXES)
_MARITAL = C.Vocabulary(P.MARITAL)
_GROUPS = C.Vocabulary(P.GROUPS)
_MH = C.Vocabulary(MH_STATUS)
_EG = C.Vocabulary(EG_STATUS)
_COUNTRY = C.Vocabulary(C.COUNTRIES)


def _codes(vocab: C.Vocabulary, idx: np.ndarray) -> pa.Array:
    """Strings of a vocabulary for integer codes; negative codes become null."""
    return vocab.strings(idx)


class Keys:
    """Pseudonyms of persons and households for one seed (hex characters cached per running number)."""

    def __init__(self, seed: int):
        self._key = {"person": C.pseudonym_key(seed, 1), "household": C.pseudonym_key(seed, 2)}
        self._chars = {k: np.zeros(0, dtype="S12") for k in self._key}

    def order(self, pids: np.ndarray) -> np.ndarray:
        """Permutation sorting the pids by their pseudonym."""
        return np.argsort(C.mix48(pids, self._key["person"]), kind="stable")

    def ids(self, kind: str, values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        values = np.asarray(values, dtype=np.int64)
        need = int(values.max()) + 1 if len(values) else 0
        cache = self._chars[kind]
        if need > len(cache):
            extra = C.hex12_bytes(C.mix48(np.arange(len(cache), need), self._key[kind])).view("S12").ravel()
            cache = self._chars[kind] = np.concatenate([cache, extra])
        return C.strings_from_bytes(cache[np.maximum(values, 0)], valid)


def snapshot_tables(state: State, at: int, keys: Keys, register_gaps: bool) -> tuple[pa.Table, pa.Table]:
    """(register extract, truth) of the persons present at day ``at``, both sorted by person_id."""
    p, h = state.p, state.h
    present = p["present"]
    truth = truth_at(state, at)
    reg = register_view(state, at, register_gaps)
    idx = np.flatnonzero(present)
    order = keys.order(idx)
    idx = idx[order]
    age = truth["age"][idx]
    hh = p["hh"][idx]
    inst = h["inst"][hh]
    building = h["building"][hh]
    german = (p["nat1"][idx] == C.DEU) | (p["nat2"][idx] == C.DEU)
    immig = p["immig"][idx].astype(np.int16)
    city = p["moved_city"][idx]
    person_id = keys.ids("person", idx)
    register = pa.Table.from_arrays([
        person_id,
        keys.ids("household", hh, ~inst),
        pa.array(age.astype(np.int16), type=pa.int16()),
        _codes(_SEX, p["sex"][idx]),
        _codes(_COUNTRY, p["nat1"][idx]),
        _codes(_COUNTRY, p["nat2"][idx]),
        _codes(_ACQ, reg["acq"][idx]),
        _codes(_COUNTRY, reg["bc"][idx]),
        pa.array(immig, type=pa.int16(), mask=immig == 0),
        _codes(_COUNTRY, p["origin"][idx]),
        pa.array(city, type=pa.int32(), mask=city == C.NO_DATE).cast(pa.date32()),
        pa.array(p["moved_addr"][idx], type=pa.int32()).cast(pa.date32()),
        keys.ids("person", reg["mother"][idx], reg["mother"][idx] >= 0),
        keys.ids("person", reg["father"][idx], reg["father"][idx] >= 0),
        _codes(_MARITAL, p["marital"][idx]),
        pa.array(state.b["x"][building], type=pa.float64()),
        pa.array(state.b["y"][building], type=pa.float64()),
    ], schema=REGISTER_SCHEMA)

    mother, father = p["mother"][idx], p["father"][idx]
    minor = age < 18
    m_here = (mother >= 0) & present[np.maximum(mother, 0)]
    f_here = (father >= 0) & present[np.maximum(father, 0)]
    gap_link = minor & ((m_here & (reg["mother"][idx] < 0)) | (f_here & (reg["father"][idx] < 0)))
    status = truth["mh_status"][idx]
    true_acq = np.where(german, p["acq"][idx], -1)
    truth_table = pa.Table.from_arrays([
        person_id,
        _codes(_GROUPS, p["group"][idx]),
        _codes(_COUNTRY, p["bc"][idx]),
        _codes(_ACQ, true_acq),
        _codes(_COUNTRY, p["nat1"][idx]),
        _codes(_COUNTRY, p["nat2"][idx]),
        pa.array(immig, type=pa.int16(), mask=immig == 0),
        keys.ids("person", mother, mother >= 0),
        keys.ids("person", father, father >= 0),
        _codes(_MH, status),
        pa.array(status != 3, type=pa.bool_()),
        _codes(_COUNTRY, np.where(status != 3, truth["bezugsland"][idx], -1)),
        _codes(_EG, truth["eg_status"][idx]),
        pa.array(reg["bc"][idx] < 0, type=pa.bool_()),
        pa.array(german & (reg["acq"][idx] != true_acq), type=pa.bool_()),
        pa.array(gap_link, type=pa.bool_()),
    ], schema=TRUTH_SCHEMA)
    return register, truth_table


def write_table(table: pa.Table, target: Path) -> Path:
    """Write a table as Parquet (zstd), atomically; the same table gives the same bytes."""
    from quarterstats.atomic import atomic_path

    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(target)
