"""Signs for table cells without a number, as German official statistics use them.

DIN 55301 and the Destatis "Zeichenerklärung" (used by the statistical yearbooks of German cities) give
each sign one meaning; "–" is *nothing there, exactly zero*, never "no value". The published tables use:

* ``*`` — suppressed for statistical confidentiality (the city's yearbook and the Federal Employment
  Agency mark cells withheld by cell suppression this way; Destatis itself writes ".");
* ``x`` — no value because a value would not be meaningful or cannot be computed (Destatis: "Tabellenfach
  gesperrt, weil Aussage nicht sinnvoll"): a share of an empty group, a district too small for a composite
  score, a change without an earlier reference date;
* ``.`` — value unknown (Destatis: "Zahlenwert unbekannt"): the delivered figures (SGB II, unemployment)
  lack the district's number;
* a true zero is written as the number 0. Values are stored unrounded; a cell shown as "0" or "0,0" holds
  either exactly zero or a value smaller than half a unit of its last shown digit (the Destatis "0").

Every table states this legend once (:data:`LEGEND_DE`): workbooks on their sheet "Erläuterungen" and in
each sheet's title area, the German CSV files in ``zeichenerklaerung.csv`` beside them, the documentation in
``docs/published-files.md``.
"""

from __future__ import annotations

__all__ = ["LEGEND_DE", "NOT_AVAILABLE", "SUPPRESSED", "UNKNOWN", "legend_line_de"]

#: Cell withheld for statistical confidentiality.
SUPPRESSED = "*"
#: No value: not meaningful or not computable (Destatis "x").
NOT_AVAILABLE = "x"
#: Value unknown: a delivered number is missing (Destatis ".").
UNKNOWN = "."

#: (sign, German meaning), in the order the legend lists them.
LEGEND_DE: tuple[tuple[str, str], ...] = (
    (SUPPRESSED, "Zahlenwert aus Gründen der statistischen Geheimhaltung gesperrt"),
    (NOT_AVAILABLE, "Tabellenfach gesperrt, weil Aussage nicht sinnvoll (kein Wert berechenbar, z. B. Nenner "
                    "null oder zu klein für einen zusammengesetzten Index, kein früherer Stichtag)"),
    (UNKNOWN, "Zahlenwert unbekannt (die zugelieferte Zahl fehlt für das Gebiet)"),
    ("0", "genau null oder weniger als die Hälfte von 1 in der letzten angezeigten Stelle (Werte sind "
          "ungerundet gespeichert, die Anzeige ist gerundet)"),
)


def legend_line_de() -> str:
    """The legend in one line, for the title area of a table."""
    return "Zeichen: " + "; ".join(f"{sign} = {meaning.split(' (')[0]}" for sign, meaning in LEGEND_DE)
