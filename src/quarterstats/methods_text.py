"""The methods section of the report in German prose, generated from the code's own rules and parameters.

Each function returns one section (``{"id", "title", "paragraphs", "items"}``) whose sentences are built from
the parameters and constants the pipeline used, so the text stays true when they change:

* :func:`migration_background_section` — the Migrationshintergrund rule of
  :func:`quarterstats.migration.derive_migration` (Mikrozensus definition, register procedure);
* :func:`immigration_history_section` — Einwanderungsgeschichte (Destatis 2023), how it differs, and why
  the register leaves many residents "nicht bestimmbar";
* :func:`register_undercount_section` — the undercount measured against the synthetic truth
  (:func:`quarterstats.migration.recovery_report`), or a sentence that it is measured only there;
* :func:`lisa_section` and :func:`lisa_caveat_de` — the LISA reference level (the unweighted mean of the
  district shares) and the multiple-testing caveat, also used by the LISA map captions;
* :func:`milieu_section` and :func:`milieu_note_de` — the direction of every milieu dimension
  (:data:`quarterstats.catalogue.MILIEU_DIMENSIONS`), how the district types are formed and kept over
  time, and the status and dynamics classes (:mod:`quarterstats.indicators.milieu`).

No Python identifier, English enum value or decimal point reaches the text: codes are translated with the
German names the modules declare, numbers are written with a decimal comma.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import pandas as pd

from quarterstats.catalogue import CATALOGUE, Indicator, IndicatorParameters
from quarterstats.indicators.milieu import (
    DIMENSION_ORDER, DIMENSION_WORDS_DE, DIMENSIONS, DYNAMICS_LABELS_DE, STATUS_LABELS_DE, TYPOLOGY_DIMENSIONS,
)
from quarterstats.indicators.segregation import LISA_ALPHA, MORAN_PERMUTATIONS
from quarterstats.migration import (
    ACQUISITIONS_DE, MH_STATUS_ORDER, RECOVERY_REASONS, RECOVERY_REASONS_DE, MigrationParameters,
)

__all__ = [
    "migration_background_section",
    "immigration_history_section",
    "register_undercount_section",
    "register_undercount",
    "lisa_caveat_de",
    "lisa_section",
    "milieu_section",
    "milieu_note_de",
    "milieu_classes_note_de",
]

_PARENTS_GENITIVE_DE = {"mother": "der Mutter", "father": "des Vaters"}
_MH_STATUSES = tuple(s for s in MH_STATUS_ORDER if s != "german_no_mh")


def _de(x: float, decimals: int = 1) -> str:
    """German number: decimal comma, thousands dot, minus sign "−"."""
    text = f"{abs(x):,.{decimals}f}".replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return f"−{text}" if x < 0 and float(text.replace(".", "").replace(",", ".")) != 0 else text


def _enumerate_de(parts: list[str], last: str = "und") -> str:
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {last} {parts[-1]}"


def _section(sid: str, title: str, paragraphs: list[str], items: list[str] | None = None) -> dict[str, Any]:
    return {"id": sid, "title": title, "paragraphs": paragraphs, "items": items or []}


# ------------------------------------------------------------------------------- Migrationshintergrund
def migration_background_section(params: MigrationParameters = MigrationParameters()) -> dict[str, Any]:
    """What Migrationshintergrund means and how the register rule derives it."""
    minor = params.minor_age_limit
    acquisitions = _enumerate_de([ACQUISITIONS_DE.get(a, a) for a in params.personal_acquisitions], "oder")
    expellee = _enumerate_de([ACQUISITIONS_DE.get(a, a) for a in params.expellee_acquisitions], "oder")
    order = [_PARENTS_GENITIVE_DE[p] for p in params.familial_bezugsland_parent_order]
    household = (" und im selben Haushalt gemeldet ist wie das Kind" if params.parent_same_household else "")
    paragraphs = [
        "Eine Person hat nach der Definition des Mikrozensus einen Migrationshintergrund, wenn sie selbst oder "
        "mindestens ein Elternteil die deutsche Staatsangehörigkeit nicht durch Geburt besitzt. Das "
        "Melderegister enthält die Merkmale dieser Definition nur zum Teil. Der Bericht leitet den "
        "Migrationshintergrund deshalb wie die kommunale Statistik (Verfahren MigraPro des KOSIS-Verbunds) nach "
        "festen Regeln aus den Registermerkmalen ab. Jede Person fällt in genau eine Gruppe; es gilt die erste "
        "zutreffende Regel:",
    ]
    items = [
        "Ausländerinnen und Ausländer: Personen ohne deutsche Staatsangehörigkeit, auch Staatenlose und "
        "Personen mit ungeklärter Staatsangehörigkeit. Wer neben der deutschen eine weitere Staatsangehörigkeit "
        "hat, ist Deutsche oder Deutscher.",
        f"Deutsche mit eigenem Migrationshintergrund: Deutsche, die die Staatsangehörigkeit durch {acquisitions} "
        "erworben haben, die zusätzlich eine ausländische Staatsangehörigkeit besitzen oder die im Ausland "
        f"geboren sind. Ausgenommen sind Deutsche mit der Erwerbsart {expellee}, die vor "
        f"{params.expellee_birth_year_before} im Ausland geboren wurden: Vertriebene des Zweiten Weltkriegs "
        "zählen wie in der amtlichen Statistik nicht als zugewandert.",
        f"Deutsche mit familiärem Migrationshintergrund: Deutsche unter {minor} Jahren ohne eigenes Merkmal, "
        f"bei denen mindestens ein im Register verknüpfter Elternteil Ausländerin oder Ausländer ist oder einen "
        f"eigenen Migrationshintergrund hat{household}. Ein familiärer Migrationshintergrund wird nicht an die "
        "nächste Generation weitergegeben.",
        "Deutsche ohne Migrationshintergrund: alle übrigen Einwohnerinnen und Einwohner.",
    ]
    after = [
        "Das Bezugsland ist bei Ausländerinnen und Ausländern die erste Staatsangehörigkeit, bei eigenem "
        "Migrationshintergrund die ausländische Staatsangehörigkeit, sonst das Geburtsland, sonst das "
        "Herkunftsland, und bei familiärem Migrationshintergrund das Bezugsland "
        f"{order[0]}, sonst {order[1]}. Die Herkunftsregionen fassen "
        "die Bezugsländer zusammen; die Zugehörigkeit zur Europäischen Union gilt zum Stichtag.",
        f"Der Registerwert liegt unter dem des Mikrozensus: Das Melderegister verknüpft nur Minderjährige mit "
        f"ihren Eltern. Erwachsene, deren Migrationshintergrund allein von ihren Eltern herrührt, und Kinder, "
        f"deren Eltern nicht verknüpft{' oder anderswo gemeldet' if params.parent_same_household else ''} sind, "
        "erscheinen als Deutsche ohne Migrationshintergrund; ebenso Deutsche, bei denen Geburtsland oder "
        "Erwerbsart der Staatsangehörigkeit im Register fehlen.",
    ]
    section = _section("methoden-mh", "Migrationshintergrund", paragraphs, items)
    section["after"] = after
    return section


# ---------------------------------------------------------------------------- Einwanderungsgeschichte
def immigration_history_section(params: MigrationParameters = MigrationParameters(),
                                not_determinable_share: float | None = None) -> dict[str, Any]:
    """What Einwanderungsgeschichte means, how it differs from Migrationshintergrund, why many residents
    are "nicht bestimmbar" (``not_determinable_share``: the city's published share in percent, if any)."""
    year = params.eg_immigration_year_from
    parents = ("die im selben Haushalt gemeldeten Eltern" if params.eg_parent_same_household
               else "die im Register verknüpften Eltern, gleich in welchem Haushalt sie gemeldet sind")
    if params.eg_single_parent == "assume_same":
        single = ("Ist nur ein Elternteil verknüpft, wird angenommen, dass der andere dieselbe Geschichte hat wie "
                  "der verknüpfte.")
    else:
        single = "Ist nur ein Elternteil verknüpft, gilt die Einwanderungsgeschichte ebenfalls als nicht bestimmbar."
    paragraphs = [
        "Seit 2023 weist das Statistische Bundesamt neben dem Migrationshintergrund die Einwanderungsgeschichte "
        f"aus. Eine Einwanderungsgeschichte haben Personen, die selbst seit {year} nach Deutschland eingewandert "
        "sind (Eingewanderte), und Personen, deren beide Elternteile eingewandert sind (Nachkommen von "
        "Eingewanderten). Ist nur ein Elternteil eingewandert, spricht man von einer einseitigen "
        "Einwanderungsgeschichte; sie zählt nicht als Einwanderungsgeschichte.",
        "Der Unterschied: Der Migrationshintergrund fragt nach der Staatsangehörigkeit der Person und ihrer "
        "Eltern, die Einwanderungsgeschichte nach der Zuwanderung. Ein in Deutschland geborenes Kind mit "
        "ausländischer Staatsangehörigkeit, dessen Eltern ebenfalls hier geboren sind, hat einen "
        "Migrationshintergrund, aber keine Einwanderungsgeschichte; ein Kind mit nur einem eingewanderten "
        "Elternteil hat einen Migrationshintergrund, aber nur eine einseitige Einwanderungsgeschichte.",
        f"Aus dem Register: Als eingewandert gilt, wer laut Register in oder nach {year} aus dem Ausland "
        "zugezogen ist; fehlt das Zuzugsjahr, wer im Ausland geboren ist, und zwar in oder nach "
        f"{params.expellee_birth_year_before}. Wer im Ausland geboren, aber nicht eingewandert ist (etwa "
        "Vertriebene), hat keine Einwanderungsgeschichte. Für alle übrigen, die als in Deutschland geboren gelten "
        "(auch bei fehlendem Geburtsland), entscheiden "
        f"{parents}: beide eingewandert – Nachkommen von Eingewanderten; genau einer – einseitige "
        "Einwanderungsgeschichte; keiner – ohne Einwanderungsgeschichte.",
    ]
    why = (
        "Warum viele „nicht bestimmbar“ sind: Das Melderegister führt Verknüpfungen zu den Eltern nur für "
        "Minderjährige. Bei einer in Deutschland geborenen Person ohne verknüpften Elternteil – das sind fast alle "
        "Erwachsenen – ist deshalb nicht bekannt, ob ihre Eltern eingewandert sind. Der Bericht weist sie als "
        "„Einwanderungsgeschichte nicht bestimmbar“ aus und "
        f"zählt sie nicht stillschweigend zu „ohne Einwanderungsgeschichte“. {single}"
    )
    if not_determinable_share is not None and math.isfinite(not_determinable_share):
        why += (f" Am Stichtag betraf das {_de(not_determinable_share)} % der Einwohnerinnen und Einwohner. "
                "Die Anteile der Nachkommen von Eingewanderten und der Personen ohne Einwanderungsgeschichte "
                "sind daher nur für Minderjährige aussagekräftig; für Erwachsene kennt das Register nur die "
                "Eingewanderten.")
    else:
        why += (" Die Anteile der Nachkommen von Eingewanderten und der Personen ohne Einwanderungsgeschichte "
                "sind daher nur für Minderjährige aussagekräftig.")
    paragraphs.append(why)
    return _section("methoden-eg", "Einwanderungsgeschichte", paragraphs)


# --------------------------------------------------------------------------------- register undercount
def register_undercount(recovery: pd.DataFrame) -> dict[str, Any] | None:
    """Key figures of the recovery report (:func:`quarterstats.migration.recovery_report`): shares in percent
    of the true and the derived population with Migrationshintergrund, the share of persons with MH the
    register rule does not recognise, the misses by reason (percent of the missed), and the share of
    correctly classified persons for Einwanderungsgeschichte. None without usable rows."""
    if recovery is None or recovery.empty:
        return None
    mh = recovery[recovery["concept"] == "mh_status"].set_index("category")
    eg = recovery[recovery["concept"] == "eg_status"].set_index("category")
    if "total" not in mh.index or not set(_MH_STATUSES) <= set(mh.index):
        return None
    population = float(mh.loc["total", "n_truth"])
    true_mh = float(mh.loc[list(_MH_STATUSES), "n_truth"].sum())
    derived_mh = float(mh.loc[list(_MH_STATUSES), "n_derived"].sum())
    if population <= 0 or true_mh <= 0:
        return None
    missed = mh.loc[list(_MH_STATUSES)]
    missed_total = float(missed["missed"].sum())
    reasons = {}
    for reason in RECOVERY_REASONS:
        column = f"missed_{reason}"
        if column in missed.columns and missed_total > 0:
            count = float(missed[column].sum())
            if count > 0:
                reasons[reason] = 100.0 * count / missed_total
    result = {
        "true_share": 100.0 * true_mh / population,
        "derived_share": 100.0 * derived_mh / population,
        "undercount": 100.0 * max(true_mh - derived_mh, 0.0) / true_mh,
        "missed_share": 100.0 * missed_total / true_mh,
        "reasons": reasons,
        "eg_recovered": None,
        "descendants_recovered": None,
    }
    if "total" in eg.index and float(eg.loc["total", "n_truth"]) > 0:
        result["eg_recovered"] = 100.0 * float(eg.loc["total", "recovered"]) / float(eg.loc["total", "n_truth"])
    if "descendant" in eg.index and float(eg.loc["descendant", "n_truth"]) > 0:
        result["descendants_recovered"] = 100.0 * float(eg.loc["descendant", "recovered_share"])
    return result


def register_undercount_section(recovery: pd.DataFrame | None) -> dict[str, Any]:
    """How large the register undercount of Migrationshintergrund is, where the synthetic truth exists."""
    figures = register_undercount(recovery) if recovery is not None else None
    if figures is None:
        text = (
            "Wie viele Personen mit Migrationshintergrund die Registerregel übersieht, lässt sich nur messen, wo "
            "die wahre Herkunft jeder Person bekannt ist. Für echte Registerdaten ist das nicht der Fall; das "
            "Projekt misst die Untererfassung deshalb bei jedem Lauf an seinem synthetischen Datenbestand, dessen "
            "wahre Herkunft bekannt ist. Für die Daten dieses Berichts liegt keine solche Messung vor."
        )
        return _section("methoden-untererfassung", "Untererfassung im Register", [text])
    reasons = sorted(figures["reasons"].items(), key=lambda kv: (-kv[1], RECOVERY_REASONS.index(kv[0])))
    reason_text = _enumerate_de([f"{RECOVERY_REASONS_DE[r]} ({_de(share, 0)} %)" for r, share in reasons])
    paragraphs = [
        "Dieser Bericht beruht auf dem synthetischen Datenbestand des Projekts, für den die wahre Herkunft jeder "
        "Person bekannt ist; die Untererfassung ist daran gemessen (für echte Registerdaten ist sie nicht "
        f"messbar). Nach ihrer wahren Herkunft haben {_de(figures['true_share'])} % der Einwohnerinnen und "
        f"Einwohner einen Migrationshintergrund, nach der Registerregel {_de(figures['derived_share'])} %. Die "
        f"Registerregel erkennt damit {_de(figures['undercount'])} % der Personen mit Migrationshintergrund "
        "nicht.",
    ]
    if reason_text:
        paragraphs.append(
            f"Gründe, als Anteil an den {_de(figures['missed_share'])} % der Personen mit Migrationshintergrund, "
            f"die die Regel nicht ihrer wahren Gruppe zuordnet: {reason_text}.")
    if figures["eg_recovered"] is not None:
        eg = (f"Bei der Einwanderungsgeschichte ordnet die Regel {_de(figures['eg_recovered'])} % der "
              "Einwohnerinnen und Einwohner ihrer wahren Gruppe zu")
        if figures["descendants_recovered"] is not None:
            eg += (f", von den Nachkommen von Eingewanderten {_de(figures['descendants_recovered'])} %; der Rest "
                   "ist vor allem „nicht bestimmbar“")
        paragraphs.append(eg + ".")
    return _section("methoden-untererfassung", "Untererfassung im Register", paragraphs)


# ------------------------------------------------------------------------------------------------ LISA
def lisa_caveat_de(permutations: int = MORAN_PERMUTATIONS, alpha: float = LISA_ALPHA) -> str:
    """The reading aid of every LISA map and table: reference level and multiple testing."""
    return (
        "„Hoch“ und „niedrig“ beziehen sich auf den ungewichteten Mittelwert der Bezirksanteile, nicht auf den "
        "Anteil der Stadt insgesamt. Signifikanz je Bezirk mit einem Permutationstest "
        f"({_de(permutations, 0)} Permutationen, p < {_de(alpha, 2)}), ohne Korrektur für das Testen vieler "
        "Bezirke: Einzelne signifikante Bezirke können zufällig sein."
    )


def lisa_section(n_districts: int | None = None, permutations: int = MORAN_PERMUTATIONS,
                 alpha: float = LISA_ALPHA) -> dict[str, Any]:
    """How to read the LISA clusters (Anselin 1995) of the report."""
    paragraphs = [
        "Die LISA-Karten und -Tabellen (lokales Moran's I) vergleichen den Anteil einer Gruppe in einem Bezirk "
        "und den mittleren Anteil in seinen Nachbarbezirken (Bezirke mit gemeinsamer Grenze oder gemeinsamem "
        "Eckpunkt, jeder Nachbar gleich gewichtet) mit dem ungewichteten Mittelwert der Bezirksanteile: Jeder "
        "Bezirk zählt dabei gleich, unabhängig von seiner Einwohnerzahl. „Hoch“ heißt über diesem Mittelwert, "
        "„niedrig“ darunter. Hoch-Hoch ist ein Bezirk mit hohem Anteil, dessen Nachbarn im Mittel ebenfalls "
        "hoch liegen; Hoch-Niedrig und Niedrig-Hoch sind Ausreißer gegenüber ihren Nachbarn.",
        "Der Mittelwert der Bezirksanteile ist nicht der Anteil der Stadt insgesamt. Liegen kleine Bezirke mit "
        "hohem Anteil neben großen mit niedrigem, kann ein Bezirk „Hoch-Hoch“ sein, obwohl sein Anteil unter "
        "dem der Stadt liegt.",
    ]
    expected = ""
    if n_districts:
        expected = (f" Bei {_de(n_districts, 0)} Bezirken sind rein zufällig etwa "
                    f"{_de(n_districts * alpha, 1)} fälschlich signifikante Bezirke je Karte zu erwarten.")
    paragraphs.append(
        "Ob ein Bezirk einem Cluster zugeordnet wird, entscheidet ein Permutationstest: Die Anteile der übrigen "
        f"Bezirke werden {_de(permutations, 0)}-mal zufällig auf seine Nachbarn verteilt (mit festem Startwert, "
        f"daher reproduzierbar); liegt der Pseudo-p-Wert unter {_de(alpha, 2)}, gilt der Bezirk als signifikant, "
        "sonst als „nicht signifikant“. Der Test wird für jeden Bezirk einzeln durchgeführt, ohne Korrektur für "
        f"das multiple Testen.{expected} Einzelne signifikante Bezirke sind daher ein Hinweis, kein Nachweis."
    )
    return _section("methoden-lisa", "Räumliche Cluster (LISA)", paragraphs)


# ---------------------------------------------------------------------------------------------- milieu
def milieu_section(catalogue: Mapping[str, Indicator] = CATALOGUE) -> dict[str, Any]:
    """What a high value of each milieu dimension means and how its indicators are oriented; how the
    district types are formed and kept over time; the status and dynamics classes."""
    params = getattr(catalogue, "params", None) or IndicatorParameters()

    def label(indicator: str) -> str:
        return catalogue[indicator].label_de if indicator in catalogue else indicator

    def dimension(dim: str) -> str:
        return label(f"milieu_{dim}").removeprefix("Dimension ")

    items = []
    for dim in DIMENSION_ORDER:
        parts = DIMENSIONS[dim]
        raising = [label(i) for i, sign in parts if sign > 0]
        lowering = [label(i) for i, sign in parts if sign < 0]
        low, high = DIMENSION_WORDS_DE[dim]
        text = f"{label(f'milieu_{dim}')}: ein hoher Wert bedeutet „{high}“, ein niedriger „{low}“."
        if raising:
            text += f" Er steigt mit: {_enumerate_de(raising)}"
            text += f"; er sinkt mit: {_enumerate_de(lowering)} (umgekehrt gepolt)." if lowering else "."
        else:
            text += f" Er sinkt mit: {_enumerate_de(lowering)} (umgekehrt gepolt)."
        items.append(text)
    t = params.typology_threshold_sd
    k_lo, k_hi = params.typology_types
    paragraphs = [
        "Die Milieudimensionen fassen Kennzahlen, die dasselbe messen, zu einem Wert je Bezirk zusammen "
        "(Sozialraumanalyse nach Shevky und Bell): Jede Kennzahl wird über die Bezirke mit mindestens "
        f"{_count_de(params.composite_min_population)} Einwohnern standardisiert (z-Wert: Abstand vom Mittelwert "
        "der Bezirke in Standardabweichungen), der Dimensionswert ist der gleichgewichtete Mittelwert dieser "
        "z-Werte. Null ist der Durchschnitt der Bezirke. Jede Dimension misst nur eines; keine braucht einen "
        "vorigen Stichtag, so bedeutet sie an jedem Stichtag dasselbe.",
    ]
    after = [
        "Quartierstypen: Die Bezirke werden nach den Dimensionen "
        f"{_enumerate_de([dimension(d) for d in TYPOLOGY_DIMENSIONS])} gruppiert, jede Dimension noch einmal auf "
        "Mittelwert 0 und Standardabweichung 1 gebracht. Das Verfahren ist die hierarchische Clusteranalyse nach "
        "Ward; sie hat keinen Zufallsstart, dieselben Daten ergeben immer dieselben Typen. Die Zahl der Typen ist "
        f"die kleinste Zahl von {k_lo} bis {k_hi} (höchstens die Zahl der Bezirke mit Milieuwerten), bei der die "
        f"Typen mindestens {_de(params.typology_min_explained * 100, 0)} % der Streuung erklären, sonst {k_hi}. "
        "Die Typen werden einmal am ersten Stichtag gebildet; an jedem Stichtag erhält jeder Bezirk den Typ, "
        "dessen Mittelpunkt seinen Dimensionswerten am nächsten liegt. So bleiben die Typen über die Zeit "
        "vergleichbar, und ein Bezirk wechselt den Typ nur, wenn sich seine Lage unter den Bezirken deutlich "
        "ändert.",
        "Name und Beschreibung eines Typs ergeben sich aus seinem Mittelpunkt: Liegt er in einer Dimension um mehr "
        f"als {_de(t, 1)} Standardabweichungen über (unter) dem Durchschnitt, heißt es „mehr“ („weniger“), ab "
        f"{_de(2 * t, 1)} „deutlich mehr“ („deutlich weniger“); der Name nennt die zwei stärksten Abweichungen. "
        "Die Namen beschreiben, wer in einem Bezirk wohnt, und werten nicht. Der soziale Status gehört "
        "deshalb nicht zu den Typen, er wird eigens klassifiziert.",
        f"Status- und Dynamikklassen (wie im Berliner Monitoring Soziale Stadtentwicklung; nur mit Zulieferdaten "
        f"zu {_enumerate_de([label(i) for i, _ in DIMENSIONS['status']])}): Der Statuswert wird über die Bezirke "
        f"standardisiert; Statusklasse „{STATUS_LABELS_DE[1]}“ ab {_de(params.status_high_sd, 1)} "
        f"Standardabweichungen über dem Mittelwert, „{STATUS_LABELS_DE[3]}“ ab {_de(params.status_low_sd, 1)} und "
        f"„{STATUS_LABELS_DE[4]}“ ab {_de(params.status_very_low_sd, 1)} Standardabweichungen darunter, sonst "
        f"„{STATUS_LABELS_DE[2]}“. Die Dynamikklasse vergleicht die Veränderung des Statuswerts seit dem vorigen "
        f"Stichtag mit der Streuung dieser Veränderung über die Bezirke: „{DYNAMICS_LABELS_DE[1]}“ ab "
        f"{_de(params.dynamics_threshold_sd, 1)} Standardabweichungen über ihrem Mittelwert, "
        f"„{DYNAMICS_LABELS_DE[3]}“ ebenso weit darunter, sonst „{DYNAMICS_LABELS_DE[2]}“. Am ersten Stichtag gibt "
        "es keine Dynamikklasse. Bezirke unter der Mindestgröße erhalten weder Typ noch Klasse "
        "(„nicht klassifiziert“, mit Grund in der Tabelle „quartierstypen“).",
    ]
    section = _section("methoden-milieu", "Milieudimensionen, Quartierstypen, Status und Dynamik", paragraphs, items)
    section["after"] = after
    return section


def milieu_note_de(catalogue: Mapping[str, Indicator] = CATALOGUE) -> str:
    """The reading aid under the milieu table: what high values mean, the status dimension in particular."""
    high = [f"{catalogue[f'milieu_{d}'].label_de.removeprefix('Dimension ')} „{DIMENSION_WORDS_DE[d][1]}“"
            for d in DIMENSION_ORDER if f"milieu_{d}" in catalogue]
    return ("Milieudimensionen als z-Werte: 0 ist der Durchschnitt der Bezirke. "
            f"Hohe Werte bedeuten: {_enumerate_de(high)}.")


def milieu_classes_note_de() -> str:
    """The reading aid under the table of types and classes."""
    return ("Quartierstyp: gebildet am ersten Stichtag und beibehalten (Beschreibung der Typen in der Tabelle "
            "„quartierstypen“). Statusklasse nach der Lage des Statuswerts unter den Bezirken, Dynamikklasse nach "
            "seiner Veränderung seit dem vorigen Stichtag; beide nur mit Zulieferdaten. x: nicht klassifiziert "
            "(zu wenige Einwohner) oder kein Vergleich möglich.")


def _count_de(n: int) -> str:
    return f"{int(n):,}".replace(",", ".")
