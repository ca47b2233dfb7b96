"""Settings of the disclosure control applied to every published table.

Defaults follow the city's own statistics (docs/spec "Publishing without disclosing anyone"):
counts of 1 and 2 are suppressed (``min_count = 3``), shares/rates need a denominator of at
least 10, composite indices need at least 300 residents. The alternative ``"cell_key"`` method
(Destatis, Zensus 2022) perturbs every count by at most ``max_deviation`` with variance
``variance``; its record keys are derived from a secret salt.

The salt is read from the environment variable ``QUARTERSTATS_CELLKEY_SALT``. Without it the public
:data:`DEFAULT_CELLKEY_SALT` is used, which is fine for the synthetic demo data only: anyone who
knows the salt can recompute every record key and hence the noise, so for real register data a
secret salt MUST be set (and kept constant between releases so that tables stay consistent).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

from quarterstats.parameter_text import ParameterText, describe

__all__ = ["DisclosureConfig", "DISCLOSURE_PARAMETER_TEXTS", "DEFAULT_CELLKEY_SALT", "LEGAL_FLOOR", "SALT_ENV_VAR",
           "METHODS"]

SALT_ENV_VAR = "QUARTERSTATS_CELLKEY_SALT"
#: Smallest count of persons or households that may be published without an explicit, documented
#: override: counts of 1 and 2 fall under statistical confidentiality (docs/disclosure.md).
LEGAL_FLOOR = 3
DEFAULT_CELLKEY_SALT = "quarterstats-public-demo-salt--replace-for-real-data"
METHODS = ("suppression", "cell_key")


def _salt_from_env() -> str:
    return os.environ.get(SALT_ENV_VAR) or DEFAULT_CELLKEY_SALT


@dataclass(frozen=True)
class DisclosureConfig:
    """Disclosure-control parameters (immutable). The salt is excluded from ``repr``.

    Creating a ``cell_key`` configuration with the public default salt emits a ``UserWarning``.
    A ``min_count`` below :data:`LEGAL_FLOOR` is refused unless ``allow_below_legal_floor`` is set
    together with a ``legal_floor_reason``; :meth:`describe_de` then says so in every published text.
    """

    #: Protection method: "suppression" (cell suppression, the yearbook's practice) or "cell_key"
    #: (random but reproducible noise, Destatis/Zensus 2022).
    method: str = "suppression"
    #: Counts from 1 to min_count - 1 are suppressed (primary suppression); at least 3 unless the
    #: override below is set.
    min_count: int = 3
    #: Shares, ratios and rates are published only with a denominator of at least this.
    min_denominator: int = 10
    #: Composite (milieu) indices only for districts with at least this many residents.
    min_population_composite: int = 300
    #: Cell key method: largest change of a count (D).
    max_deviation: int = 2
    #: Cell key method: variance of the noise (V).
    variance: float = 1.0
    #: Deliberately publish counts below the legal floor of 3 (min_count < 3); needs a
    #: legal_floor_reason. The console, the report and every workbook then say so.
    allow_below_legal_floor: bool = False
    #: Why counts below the legal floor may be published (e.g. the legal basis); printed in the
    #: protection text of the report and the workbooks.
    legal_floor_reason: str = ""
    salt: str = field(default_factory=_salt_from_env, repr=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        for name in ("min_count", "min_denominator", "min_population_composite", "max_deviation"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an integer")
        if self.min_count < 1:
            raise ValueError("min_count must be at least 1")
        if not isinstance(self.allow_below_legal_floor, bool) or not isinstance(self.legal_floor_reason, str):
            raise TypeError("allow_below_legal_floor must be true or false and legal_floor_reason a text")
        if self.min_count < LEGAL_FLOOR and not self.allow_below_legal_floor:
            raise ValueError(
                f"min_count = {self.min_count} would publish counts of 1{' and 2' if self.min_count == 1 else ''} "
                f"persons or households, below the legal floor of {LEGAL_FLOOR}; to do so deliberately, also set "
                "allow_below_legal_floor = true and give a legal_floor_reason"
            )
        if self.allow_below_legal_floor and not self.legal_floor_reason.strip():
            raise ValueError("allow_below_legal_floor needs a legal_floor_reason (why counts below the legal "
                             f"floor of {LEGAL_FLOOR} may be published)")
        if self.min_denominator < 1 or self.min_population_composite < 0:
            raise ValueError("min_denominator must be >= 1 and min_population_composite >= 0")
        if self.max_deviation < 1:
            raise ValueError("max_deviation must be at least 1")
        if not self.variance > 0:
            raise ValueError("variance must be positive")
        if not isinstance(self.salt, str) or not self.salt:
            raise ValueError("salt must be a non-empty string")
        if self.method == "cell_key" and self.uses_default_salt:
            warnings.warn(
                f"cell key method with the public default salt; set {SALT_ENV_VAR} to a secret "
                "value before publishing tables from real register data",
                UserWarning,
                stacklevel=3,
            )

    @property
    def uses_default_salt(self) -> bool:
        return self.salt == DEFAULT_CELLKEY_SALT

    @property
    def below_legal_floor(self) -> bool:
        """Whether counts below :data:`LEGAL_FLOOR` are published (only with the explicit override)."""
        return self.min_count < LEGAL_FLOOR

    def legal_floor_de(self) -> str:
        """German sentence on the override of the legal floor; empty when counts below it are not published."""
        if not self.below_legal_floor:
            return ""
        published = "Fallzahlen von 1 und 2" if self.min_count == 1 else "Fallzahlen von 2"
        return (
            f"Achtung: Abweichend von der gesetzlichen Mindestfallzahl von {LEGAL_FLOOR} werden {published} "
            f"Personen oder Haushalten veröffentlicht (ausdrückliche Ausnahme in quarterstats.toml, "
            f"Begründung: {' '.join(self.legal_floor_reason.split())})."
        )

    def describe_de(self) -> str:
        """German sentence for the report describing the protection applied (never the salt)."""
        small = _small_counts_de(self.min_count)
        rates = (
            f"Anteile und Quoten werden nur ausgewiesen, wenn die Bezugsgröße mindestens "
            f"{_int_de(self.min_denominator)} beträgt"
        )
        composite = (
            f"zusammengesetzte Indizes nur für Stadtteile mit mindestens "
            f"{_int_de(self.min_population_composite)} Einwohnerinnen und Einwohnern und nur aus "
            f"veröffentlichten Werten berechnet"
        )
        floor = f" {self.legal_floor_de()}" if self.below_legal_floor else ""
        if self.method == "suppression":
            return (
                f"Geheimhaltung durch Zellsperrung: {small}; wo Summen veröffentlicht werden, "
                f"sind weitere Felder gesperrt, damit sich kein gesperrter Wert aus Zeilen- und "
                f"Spaltensummen zurückrechnen lässt; Verhältniszahlen und Mittelwerte, aus denen sich "
                f"ein gesperrter Wert ergäbe, sind mitgesperrt; {rates}, {composite}.{floor}"
            )
        return (
            f"Geheimhaltung nach der Cell-Key-Methode (wie im Zensus 2022): Jede Fallzahl wird um "
            f"höchstens ±{self.max_deviation} verändert (Varianz {_float_de(self.variance)}), "
            f"zufällig, aber reproduzierbar, sodass dieselbe Zelle in allen Tabellen denselben "
            f"Wert erhält; echte Nullen bleiben null, und Summen können von der Summe ihrer "
            f"Einzelwerte abweichen; {rates}, {composite}.{floor}"
        )


#: German name, meaning and unit of every :class:`DisclosureConfig` field (the report's methods section).
#: The salt is never shown: only whether the public demo salt is in use.
DISCLOSURE_PARAMETER_TEXTS = describe(DisclosureConfig, {
    "method": ParameterText(
        "Verfahren", "Zellsperrung wie im Statistischen Jahrbuch der Stadt oder Cell-Key-Methode wie im Zensus "
        "2022.", form="choice", choices_de={"suppression": "Zellsperrung", "cell_key": "Cell-Key-Methode"}),
    "min_count": ParameterText(
        "Kleinste ausgewiesene Fallzahl", "Bei der Zellsperrung werden kleinere Fallzahlen (außer Null) gesperrt.",
        "Personen", "count"),
    "min_denominator": ParameterText(
        "Mindestnenner", "Anteile und Quoten werden nur ausgewiesen, wenn ihre Bezugsgröße (Personen oder "
        "Haushalte) mindestens so groß ist.", form="count"),
    "min_population_composite": ParameterText(
        "Mindestgröße für zusammengesetzte Indizes", "Milieuwerte und Quartierstypen nur für Bezirke mit "
        "mindestens so vielen Einwohnern.", "Einwohner", "count"),
    "max_deviation": ParameterText(
        "Größte Abweichung (Cell-Key-Methode)", "Jede Fallzahl wird um höchstens so viel verändert (nur bei der "
        "Cell-Key-Methode).", "Personen", "count"),
    "variance": ParameterText(
        "Varianz der Überlagerung (Cell-Key-Methode)", "Streuung der zufälligen, aber reproduzierbaren Veränderung "
        "(nur bei der Cell-Key-Methode)."),
    "allow_below_legal_floor": ParameterText(
        "Ausnahme von der gesetzlichen Mindestfallzahl", "Nur mit ausdrücklicher, begründeter Ausnahme werden "
        f"Fallzahlen unter {LEGAL_FLOOR} veröffentlicht; Bericht und Tabellen sagen es dann.", form="flag"),
    "legal_floor_reason": ParameterText(
        "Begründung der Ausnahme", "Warum Fallzahlen unter der gesetzlichen Mindestfallzahl veröffentlicht werden "
        "(leer, wenn keine Ausnahme gilt).", form="text"),
    "salt": ParameterText(
        "Schlüssel der Cell-Key-Methode", "Geheimer Schlüssel, aus dem die Zufallszahlen der Personen abgeleitet "
        "werden; er wird nie veröffentlicht (nur bei der Cell-Key-Methode).", form="secret",
        choices_de={DEFAULT_CELLKEY_SALT: "öffentlicher Beispielschlüssel, nur für synthetische Daten geeignet"}),
})


def _int_de(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _float_de(x: float) -> str:
    text = f"{x:.2f}".rstrip("0")
    if text.endswith("."):
        text += "0"
    return text.replace(".", ",")


def _small_counts_de(min_count: int) -> str:
    if min_count <= 1:
        return "alle Fallzahlen werden ausgewiesen"  # no primary suppression
    if min_count == 2:
        small = "Fallzahlen von 1"
    elif min_count == 3:
        small = "Fallzahlen von 1 und 2"
    else:
        small = f"Fallzahlen von 1 bis {min_count - 1}"
    return (
        f"{small} werden nicht ausgewiesen und mit „*“ gekennzeichnet (Nullen bleiben sichtbar)"
    )
