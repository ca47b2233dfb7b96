"""The generator's population state: struct-of-arrays over persons, households and buildings.

Persons are identified by their running number ``pid`` (row index; never reused), households by ``hh``
and buildings by ``building``. A :class:`Batch` holds newly built persons and households with *local*
indices; :meth:`State.append` shifts them into the state.

Person fields (true facts; the register extract is derived from them, see ``register.py``):
``birth`` day number; ``sex`` index into ``params.SEXES``; ``group`` index into ``params.GROUPS``;
``bc`` birth country, ``nat1``/``nat2`` nationalities, ``orig_nat`` the nationality of origin (before a
German acquisition; -1 for Germans without one), ``acq`` German acquisition (-1 for foreigners),
``natur_year`` year of naturalisation (0: none), ``immig`` year of the first move-in from abroad (0:
none), ``origin`` country of the last move-in from abroad; ``mother``/``father`` pids of the true
parents (-1: not a simulated person) and ``mother_imm``/``father_imm`` whether that parent immigrated
(used only when the parent is not simulated); ``partner`` pid; ``hh`` household; ``present`` (lives in
the city now), ``alive``; ``moved_city`` (``codes.NO_DATE``: since birth) and ``moved_addr`` day
numbers; ``marital`` index into ``params.MARITAL``; persistent register-gap draws ``gap_bc``,
``gap_acq``, ``gap_mlink``, ``gap_flink``.
"""

from __future__ import annotations

import numpy as np

from .codes import date_key

PERSON_FIELDS: dict[str, type] = {
    "birth": np.int32, "sex": np.int8, "group": np.int8, "bc": np.int16, "nat1": np.int16, "nat2": np.int16,
    "orig_nat": np.int16, "acq": np.int8, "natur_year": np.int16, "immig": np.int16, "origin": np.int16,
    "mother": np.int64, "father": np.int64, "mother_imm": np.bool_, "father_imm": np.bool_,
    "partner": np.int64, "hh": np.int64, "present": np.bool_, "alive": np.bool_, "moved_city": np.int32,
    "moved_addr": np.int32, "marital": np.int8, "gap_bc": np.bool_, "gap_acq": np.bool_,
    "gap_mlink": np.bool_, "gap_flink": np.bool_,
}
#: Person fields holding local person indices inside a Batch (shifted on append).
PERSON_LINKS = ("mother", "father", "partner")
HOUSEHOLD_FIELDS: dict[str, type] = {"building": np.int64, "inst": np.bool_, "group": np.int8, "district": np.int16}
BUILDING_FIELDS: dict[str, type] = {"x": np.float64, "y": np.float64, "district": np.int16, "kind": np.int8}
RESIDENTIAL, CARE_HOME, ACCOMMODATION = 0, 1, 2


class Batch:
    """New persons (``p``) and households (``h``) with local indices; ``p['hh']`` indexes ``h``."""

    def __init__(self, n_persons: int, n_households: int):
        self.p = {k: np.zeros(n_persons, dtype=t) for k, t in PERSON_FIELDS.items()}
        for k in ("nat2", "orig_nat", "origin", "acq"):
            self.p[k][:] = -1
        for k in PERSON_LINKS:
            self.p[k][:] = -1
        self.p["present"][:] = True
        self.p["alive"][:] = True
        self.h = {k: np.zeros(n_households, dtype=t) for k, t in HOUSEHOLD_FIELDS.items()}
        self.h["building"][:] = -1

    @property
    def n(self) -> int:
        return len(self.p["birth"])

    @property
    def n_households(self) -> int:
        return len(self.h["inst"])

    @staticmethod
    def concat(batches: list["Batch"]) -> "Batch":
        batches = [b for b in batches if b.n or b.n_households]
        out = Batch(0, 0)
        if not batches:
            return out
        p_off = np.cumsum([0] + [b.n for b in batches])[:-1]
        h_off = np.cumsum([0] + [b.n_households for b in batches])[:-1]
        for k in PERSON_FIELDS:
            parts = []
            for b, po, ho in zip(batches, p_off, h_off):
                v = b.p[k]
                if k in PERSON_LINKS:
                    v = np.where(v >= 0, v + po, -1)
                elif k == "hh":
                    v = v + ho
                parts.append(v)
            out.p[k] = np.concatenate(parts)
        for k in HOUSEHOLD_FIELDS:
            out.h[k] = np.concatenate([b.h[k] for b in batches])
        return out


class State:
    """All persons ever simulated, their households and the buildings of the city."""

    def __init__(self):
        self.p = {k: np.zeros(0, dtype=t) for k, t in PERSON_FIELDS.items()}
        self.h = {k: np.zeros(0, dtype=t) for k, t in HOUSEHOLD_FIELDS.items()}
        self.b = {k: np.zeros(0, dtype=t) for k, t in BUILDING_FIELDS.items()}
        self.birth_key = np.zeros(0, dtype=np.int32)  # year·10000 + month·100 + day of birth

    @property
    def n(self) -> int:
        return len(self.p["birth"])

    @property
    def n_households(self) -> int:
        return len(self.h["inst"])

    def append(self, batch: Batch) -> np.ndarray:
        """Add a batch; returns the new pids."""
        p0, h0 = self.n, self.n_households
        for k in PERSON_FIELDS:
            v = batch.p[k]
            if k in PERSON_LINKS:
                v = np.where(v >= 0, v + p0, -1)
            elif k == "hh":
                v = v + h0
            self.p[k] = np.concatenate([self.p[k], v.astype(PERSON_FIELDS[k])])
        for k in HOUSEHOLD_FIELDS:
            self.h[k] = np.concatenate([self.h[k], batch.h[k].astype(HOUSEHOLD_FIELDS[k])])
        self.birth_key = np.concatenate([self.birth_key, date_key(batch.p["birth"])])
        return np.arange(p0, self.n)

    def add_households(self, building: np.ndarray, inst: np.ndarray, group: np.ndarray,
                       district: np.ndarray) -> np.ndarray:
        """New (empty) households; returns their indices."""
        h0 = self.n_households
        for k, v in (("building", building), ("inst", inst), ("group", group), ("district", district)):
            self.h[k] = np.concatenate([self.h[k], np.asarray(v).astype(HOUSEHOLD_FIELDS[k])])
        return np.arange(h0, self.n_households)

    def add_buildings(self, x: np.ndarray, y: np.ndarray, district: np.ndarray, kind: np.ndarray) -> np.ndarray:
        b0 = len(self.b["x"])
        for k, v in (("x", x), ("y", y), ("district", district), ("kind", kind)):
            self.b[k] = np.concatenate([self.b[k], np.asarray(v).astype(BUILDING_FIELDS[k])])
        return np.arange(b0, len(self.b["x"]))
