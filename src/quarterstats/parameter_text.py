"""German names, meanings and units of the parameter dataclasses, and their values in German.

Every parameter dataclass (:class:`quarterstats.catalogue.IndicatorParameters`,
:class:`quarterstats.migration.MigrationParameters`, :class:`quarterstats.disclosure.config.DisclosureConfig`)
declares one :class:`ParameterText` per field right next to its definition, with :func:`describe`. The
report's methods section renders the parameters from there (:func:`parameter_rows`), so that a published
text never shows a Python identifier, an English enum value, a tuple or a decimal point, and stays true
when a parameter changes. A field without a text is an error (:func:`missing_texts`, and
:func:`parameter_rows` refuses to render it).

Value forms (``ParameterText.form``):

* ``number``: an integer as digits (``20161231``), a float with a decimal comma (``0,5``); the unit follows;
* ``count``: an integer with the German thousands dot (``1.000``); the unit follows;
* ``year``: a calendar year as digits (``1950``);
* ``range``: an inclusive pair ``(lo, hi)`` as "18 bis 29 Jahre";
* ``age_groups``: increasing lower bounds as "unter 6, 6 bis 14, …, 65 bis 79 Jahre, 80 Jahre und älter";
* ``flag``: ``ja`` / ``nein``;
* ``choice`` / ``choices``: one code or a tuple of codes, each shown by its German name in ``choices_de``
  (an unknown code is an error), joined with ``joiner``;
* ``codes``: codes that are shown as they are and explained, "DEU (Deutschland)";
* ``text``: a free text of the settings, shown as it is (an empty one as "keine");
* ``secret``: never shown; ``choices_de`` may name known public values (the demo salt), anything else is
  "geheim (wird nicht veröffentlicht)".
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

__all__ = ["ParameterText", "FORMS", "describe", "texts_for", "missing_texts", "format_value", "parameter_rows",
           "parameter_table"]

FORMS = ("number", "count", "year", "range", "age_groups", "flag", "choice", "choices", "codes", "text", "secret")

SECRET_DE = "geheim (wird nicht veröffentlicht)"


@dataclass(frozen=True)
class ParameterText:
    """German name, meaning and unit of one parameter, and how its value is written."""

    name_de: str
    description_de: str
    unit_de: str = ""
    form: str = "number"
    choices_de: Mapping[str, str] = field(default_factory=dict)
    joiner: str = ", "

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {self.form!r}")
        if not self.name_de.strip() or not self.description_de.strip():
            raise ValueError("a parameter needs a German name and a German description")


_REGISTRY: dict[type, Mapping[str, ParameterText]] = {}


def describe(cls: type, texts: Mapping[str, ParameterText]) -> Mapping[str, ParameterText]:
    """Register the German texts of the fields of the dataclass ``cls`` and return them."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    unknown = sorted(set(texts) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(f"{cls.__name__}: texts for fields that do not exist: {unknown}")
    _REGISTRY[cls] = texts
    return texts


def texts_for(cls_or_instance: Any) -> Mapping[str, ParameterText]:
    """The registered texts of a parameter dataclass (or of its class); empty when none are registered."""
    cls = cls_or_instance if isinstance(cls_or_instance, type) else type(cls_or_instance)
    for klass in cls.__mro__:
        if klass in _REGISTRY:
            return _REGISTRY[klass]
    return {}


def missing_texts(cls: type) -> list[str]:
    """Fields of the dataclass ``cls`` that have no German text."""
    texts = texts_for(cls)
    return [f.name for f in dataclasses.fields(cls) if f.name not in texts]


def _number(value: Any, thousands: bool) -> str:
    if isinstance(value, bool):
        raise TypeError("a flag is not a number")
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}".replace(",", ".") if thousands else str(int(value))
    x = float(value)
    if math.isnan(x):
        return "–"
    if x == int(x) and abs(x) < 1e15:
        text = f"{int(x)}.0"  # a float stays recognisable as one: "1,0"
    else:
        text = f"{x:.6f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _with_unit(text: str, unit: str, value: Any) -> str:
    if not unit:
        return text
    if unit == "Jahre" and value == 1:
        unit = "Jahr"
    return f"{text} {unit}"


def _choice(code: Any, text: ParameterText, name: str) -> str:
    key = str(code)
    if key not in text.choices_de:
        raise ValueError(f"parameter {name}: no German name for the value {key!r}")
    return text.choices_de[key]


def format_value(value: Any, text: ParameterText, name: str = "") -> str:
    """The value of one parameter in German, as :data:`FORMS` describes."""
    form = text.form
    if form == "secret":
        return text.choices_de.get(str(value), SECRET_DE)
    if value is None:
        return "–"
    if form == "flag":
        return "ja" if bool(value) else "nein"
    if form in ("number", "count"):
        return _with_unit(_number(value, thousands=form == "count"), text.unit_de, value)
    if form == "year":
        return str(int(value))
    if form == "range":
        lo, hi = value
        return _with_unit(f"{_number(lo, False)} bis {_number(hi, False)}", text.unit_de, None)
    if form == "age_groups":
        bounds = [int(b) for b in value]
        unit = f" {text.unit_de}" if text.unit_de else ""
        parts = []
        for lo, nxt in zip(bounds, bounds[1:] + [None]):
            if nxt is None:
                parts.append(f"{lo}{unit} und älter")
            elif lo == 0:
                parts.append(f"unter {nxt}")
            elif nxt - 1 == lo:
                parts.append(str(lo))
            else:
                parts.append(f"{lo} bis {nxt - 1}")
        if len(parts) > 1:
            parts[-2] += unit
        return ", ".join(parts)
    if form == "choice":
        return _choice(value, text, name)
    if form == "choices":
        return text.joiner.join(_choice(v, text, name) for v in value)
    if form == "text":
        return " ".join(str(value).split()) or "keine"
    if form == "codes":
        return text.joiner.join(f"{v} ({text.choices_de[v]})" if v in text.choices_de else str(v) for v in value)
    raise ValueError(f"parameter {name}: unknown form {form!r}")  # pragma: no cover - checked in ParameterText


def parameter_rows(params: Any) -> list[dict[str, str]]:
    """One row per field of the parameter dataclass ``params``: German name, value and meaning.

    Raises:
        KeyError: a field has no German text (it would otherwise show its Python name).
    """
    texts = texts_for(params)
    missing = missing_texts(type(params))
    if missing:
        raise KeyError(f"{type(params).__name__}: no German name and description for {', '.join(missing)} "
                       "(declare them next to the dataclass with quarterstats.parameter_text.describe)")
    rows = []
    for f in dataclasses.fields(params):
        text = texts[f.name]
        rows.append({"name": text.name_de, "value": format_value(getattr(params, f.name), text, f.name),
                     "description": text.description_de})
    return rows


def parameter_table(params: Any) -> pd.DataFrame:
    """:func:`parameter_rows` as a table with the columns ``name``, ``value``, ``description_de``."""
    rows = parameter_rows(params)
    return pd.DataFrame({"name": [r["name"] for r in rows], "value": [r["value"] for r in rows],
                         "description_de": [r["description"] for r in rows]}).astype("str")
