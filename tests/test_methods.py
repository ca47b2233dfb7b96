"""The methods section in German prose and the rule that no Python identifier reaches a published text.

* every field of the parameter dataclasses has a German name, meaning and unit, and its value is written in
  German (ranges, flags, decimal comma, enum values by their German names; the cell key salt never);
* the prose follows the parameters and says what the code does (Migrationshintergrund, Einwanderungsgeschichte,
  the measured undercount, the LISA reference level and multiple testing, the direction of the milieu
  dimensions) — the LISA and milieu statements are checked against the computation itself;
* a small synthetic city is run through the stages, and the visible text of its report (with figure
  captions), its index page and the text columns of the definitions sheet are scanned for identifiers.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quarterstats.catalogue import CATALOGUE, IndicatorParameters, build_catalogue
from quarterstats.disclosure.config import DEFAULT_CELLKEY_SALT, DisclosureConfig
from quarterstats.methods_text import (
    immigration_history_section, lisa_caveat_de, lisa_section, migration_background_section, milieu_note_de,
    milieu_section, register_undercount, register_undercount_section,
)
from quarterstats.migration import EG_STATUS_ORDER, MH_STATUS_ORDER, RECOVERY_REASONS, MigrationParameters
from quarterstats.parameter_text import ParameterText, format_value, missing_texts, parameter_rows, texts_for

PARAMETER_CLASSES = (IndicatorParameters, MigrationParameters, DisclosureConfig)


def section_text(section: dict) -> str:
    return " ".join(section["paragraphs"] + section["items"] + section.get("after", []))


# ------------------------------------------------------------------------------------ identifier scan
#: English enum values of the code that must never be published (besides snake_case, which the pattern finds).
ENGLISH_VALUES = sorted({*MH_STATUS_ORDER, *EG_STATUS_ORDER, "suppression", "cell_key", "mother", "father",
                         "naturalisation", "resettler", "adoption", "declaration", "unknown", "immigrant",
                         "descendant", "one_sided", "none", "foreign"})
_SNAKE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b")
#: Reviewed allow-list: formula subscripts such as p_i, t_j, LQ_i, p_k (mathematical notation of the catalogue).
_MATH_SUBSCRIPT = re.compile(r"[A-Za-z]{1,2}_[ijk]")
_PY_LITERALS = re.compile(r"\b(?:True|False|None|nan|NaN)\b")
_TUPLE_REPR = re.compile(r"\(\s*(?:'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?)\s*,\s+(?:'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?)")
#: Dates (31.12.2024) and versions (1.0.1) are allowed; thousands dots (1.000) are German.
_DATE_OR_VERSION = re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{4}\b|\b\d+\.\d+\.\d+(?:[+-][\w.]+)?\b")
_DECIMAL_POINT = re.compile(r"(?<![\d.])(?:0\.\d+|\d+\.(?!\d{3}(?!\d))\d+)(?![\d.])")


def identifier_findings(text: str) -> list[str]:
    """Tokens in published text that look like code: snake_case, Python literals, tuple reprs, English enum
    values of the code, decimal points."""
    found = [t for t in _SNAKE.findall(text) if not _MATH_SUBSCRIPT.fullmatch(t)]
    found += _PY_LITERALS.findall(text)
    found += _TUPLE_REPR.findall(text)
    found += [v for v in ENGLISH_VALUES if re.search(rf"\b{re.escape(v)}\b", text)]
    found += _DECIMAL_POINT.findall(_DATE_OR_VERSION.sub(" ", text))
    return found


def test_the_scan_finds_what_the_report_used_to_print():
    old = ("minor_age_limit 18 | parent_same_household True | young_adult_ages (18, 29) | "
           "typology_threshold_sd 0.5 | eg_single_parent not_determinable | personal_acquisitions "
           "naturalisation, option | familial_bezugsland_parent_order mother, father | variance 1.0 | "
           "Moran's I 0.312")
    found = identifier_findings(old)
    for token in ("minor_age_limit", "True", "not_determinable", "naturalisation", "mother", "0.5", "1.0",
                  "0.312"):
        assert token in found, token
    assert any(t for t in found if "18" in t)  # the tuple repr
    fine = ("Stichtag 31.12.2024, Programmcode 0.1.0, Katalog 1.0.1, 12.345 Einwohner, je 1.000 Einwohner, "
            "0,5 Standardabweichungen, D = Σ_i t_i |p_i − P|, Moran's I = 0,41")
    assert identifier_findings(fine) == []


# ------------------------------------------------------------------------------------ parameter texts
@pytest.mark.parametrize("cls", PARAMETER_CLASSES, ids=lambda c: c.__name__)
def test_every_parameter_has_a_german_name_and_description(cls):
    assert missing_texts(cls) == []
    for name, text in texts_for(cls).items():
        assert identifier_findings(text.name_de + " " + text.description_de) == [], name
        assert len(text.description_de) > 30, name


def test_a_parameter_without_german_text_is_refused():
    extended = dataclasses.make_dataclass("Extended", [("new_rule", int, dataclasses.field(default=3))],
                                          bases=(MigrationParameters,), frozen=True)
    params = extended()
    # without the check, a generic rendering would publish the field's Python name
    naive = " ".join(f"{f.name} {getattr(params, f.name)}" for f in dataclasses.fields(params))
    assert "new_rule" in identifier_findings(naive)
    assert missing_texts(extended) == ["new_rule"]
    with pytest.raises(KeyError, match="new_rule"):
        parameter_rows(params)


@pytest.mark.parametrize("cls", PARAMETER_CLASSES, ids=lambda c: c.__name__)
def test_default_values_are_written_in_german(cls):
    rows = parameter_rows(cls())
    assert len(rows) == len(dataclasses.fields(cls))
    for row in rows:
        assert identifier_findings(" ".join(row.values())) == [], row


@pytest.mark.parametrize("value, text, expected", [
    ((18, 29), ParameterText("a", "b" * 31, "Jahre", "range"), "18 bis 29 Jahre"),
    ((0, 6, 15, 18, 80), ParameterText("a", "b" * 31, "Jahre", "age_groups"),
     "unter 6, 6 bis 14, 15 bis 17, 18 bis 79 Jahre, 80 Jahre und älter"),
    (True, ParameterText("a", "b" * 31, form="flag"), "ja"),
    (False, ParameterText("a", "b" * 31, form="flag"), "nein"),
    (0.5, ParameterText("a", "b" * 31, "Standardabweichungen"), "0,5 Standardabweichungen"),
    (1.0, ParameterText("a", "b" * 31), "1,0"),
    (1, ParameterText("a", "b" * 31, "Jahre"), "1 Jahr"),
    (12000, ParameterText("a", "b" * 31, "Einwohner", "count"), "12.000 Einwohner"),
    (1950, ParameterText("a", "b" * 31, form="year"), "1950"),
    (("b", "a"), ParameterText("a", "b" * 31, form="choices", choices_de={"a": "Eins", "b": "Zwei"}, joiner=" vor "),
     "Zwei vor Eins"),
    (("DEU",), ParameterText("a", "b" * 31, form="codes", choices_de={"DEU": "Deutschland"}), "DEU (Deutschland)"),
])
def test_value_forms(value, text, expected):
    assert format_value(value, text) == expected


def test_an_enum_value_without_german_name_is_an_error():
    with pytest.raises(ValueError, match="no German name"):
        format_value("maybe", ParameterText("a", "b" * 31, form="choice", choices_de={"yes": "ja"}), "x")


def test_the_cell_key_salt_is_never_shown():
    secret = "s3cret-salt-of-the-city"
    rows = {r["name"]: r["value"] for r in parameter_rows(DisclosureConfig(method="cell_key", salt=secret))}
    assert secret not in " ".join(rows.values())
    assert rows["Schlüssel der Cell-Key-Methode"] == "geheim (wird nicht veröffentlicht)"
    assert rows["Verfahren"] == "Cell-Key-Methode"
    demo = {r["name"]: r["value"] for r in parameter_rows(DisclosureConfig(salt=DEFAULT_CELLKEY_SALT))}
    assert "Beispielschlüssel" in demo["Schlüssel der Cell-Key-Methode"]
    assert DEFAULT_CELLKEY_SALT not in " ".join(demo.values())


# ---------------------------------------------------------------------------------------------- prose
def test_migration_background_prose_follows_the_parameters():
    default = section_text(migration_background_section(MigrationParameters()))
    assert "selbst oder mindestens ein Elternteil die deutsche Staatsangehörigkeit nicht durch Geburt" in default
    assert "Deutsche unter 18 Jahren" in default and "vor 1950 im Ausland geboren" in default
    assert "im selben Haushalt gemeldet ist wie das Kind" in default
    assert "Einbürgerung, Optionsregelung, (Spät-)Aussiedlung oder Adoption" in default
    assert "das Bezugsland der Mutter, sonst des Vaters" in default
    changed = section_text(migration_background_section(MigrationParameters(
        minor_age_limit=16, parent_same_household=False, expellee_birth_year_before=1949,
        familial_bezugsland_parent_order=("father", "mother"))))
    assert "Deutsche unter 16 Jahren" in changed and "vor 1949 im Ausland geboren" in changed
    assert "im selben Haushalt" not in changed
    assert "das Bezugsland des Vaters, sonst der Mutter" in changed
    assert identifier_findings(default + changed) == []


def test_immigration_history_prose_explains_not_determinable():
    text = section_text(immigration_history_section(MigrationParameters(), not_determinable_share=57.96))
    assert "seit 1950 nach Deutschland eingewandert" in text
    assert "einseitigen Einwanderungsgeschichte" in text and "Staatsangehörigkeit" in text
    assert "Verknüpfungen zu den Eltern nur für Minderjährige" in text
    assert "58,0 % der Einwohnerinnen und Einwohner" in text
    assert "Ist nur ein Elternteil verknüpft, gilt die Einwanderungsgeschichte ebenfalls als nicht bestimmbar" in text
    assume = section_text(immigration_history_section(MigrationParameters(eg_single_parent="assume_same",
                                                                          eg_parent_same_household=True)))
    assert "dieselbe Geschichte hat wie der verknüpfte" in assume and "im selben Haushalt gemeldeten Eltern" in assume
    assert "% der Einwohnerinnen" not in assume  # no share given, none invented
    assert identifier_findings(text + assume) == []


def _recovery(rows: dict[str, dict[str, tuple]]) -> pd.DataFrame:
    """Recovery rows by hand: concept -> category -> (n_truth, n_derived, recovered, {reason: count})."""
    records = []
    for concept, categories in rows.items():
        for category, (n_truth, n_derived, recovered, reasons) in categories.items():
            record = {"concept": concept, "category": category, "n_truth": n_truth, "n_derived": n_derived,
                      "recovered": recovered, "missed": n_truth - recovered,
                      "wrongly_assigned": n_derived - recovered,
                      "recovered_share": recovered / n_truth if n_truth else np.nan}
            record.update({f"missed_{r}": reasons.get(r, 0) for r in RECOVERY_REASONS})
            records.append(record)
    return pd.DataFrame(records)


def test_register_undercount_from_the_recovery_report():
    recovery = _recovery({
        "mh_status": {
            "foreign": (100, 100, 100, {}),
            "german_personal_mh": (50, 40, 40, {"birth_country_gap": 6, "acquisition_gap": 4}),
            "german_familial_mh": (10, 8, 8, {"parent_link_missing": 2}),
            "german_no_mh": (840, 852, 840, {}),
            "total": (1000, 1000, 988, {"birth_country_gap": 6, "acquisition_gap": 4, "parent_link_missing": 2}),
        },
        "eg_status": {
            "descendant": (40, 10, 10, {"parent_link_missing": 30}),
            "total": (1000, 1000, 400, {"parent_link_missing": 600}),
        },
    })
    figures = register_undercount(recovery)
    assert figures["true_share"] == pytest.approx(16.0)      # 160 of 1000 truly with MH
    assert figures["derived_share"] == pytest.approx(14.8)   # 148 by the register rule
    assert figures["undercount"] == pytest.approx(7.5)       # 12 of 160 not found
    text = section_text(register_undercount_section(recovery))
    assert "16,0 %" in text and "14,8 %" in text and "erkennt damit 7,5 %" in text
    assert ("Geburtsland im Register nicht eingetragen (50 %), Erwerbsart der Staatsangehörigkeit im Register "
            "unbekannt (33 %) und Elternteil nicht verknüpft (17 %)") in text
    assert "40,0 % der Einwohnerinnen und Einwohner ihrer wahren Gruppe" in text
    assert "Nachkommen von Eingewanderten 25,0 %" in text
    assert "synthetischen Datenbestand" in text
    assert identifier_findings(text) == []


def test_without_a_truth_the_undercount_is_said_to_be_measured_on_synthetic_data_only():
    text = section_text(register_undercount_section(None))
    assert "synthetischen Datenbestand" in text and "Für echte Registerdaten ist das nicht der Fall" in text
    assert "%" not in text


def test_lisa_text_names_reference_level_and_multiple_testing():
    text = section_text(lisa_section(18))
    assert "ungewichteten Mittelwert der Bezirksanteile" in text
    assert "nicht der Anteil der Stadt insgesamt" in text
    assert "999-mal" in text and "unter 0,05" in text and "ohne Korrektur" in text
    assert "etwa 0,9 fälschlich signifikante Bezirke" in text
    caveat = lisa_caveat_de(99, 0.1)
    assert "99 Permutationen, p < 0,10" in caveat and "ungewichteten Mittelwert" in caveat
    assert identifier_findings(text + caveat) == []


def test_lisa_high_means_above_the_unweighted_mean_not_the_city_share():
    """What the text claims, on the computation: a district below the city share can be Hoch-Hoch."""
    from quarterstats.autocorrelation import local_moran_table, weights_from_neighbours

    # a row of five districts: two large ones with a high share, three small ones with a low share
    neighbours = {"1": ["2"], "2": ["1", "3"], "3": ["2", "4"], "4": ["3", "5"], "5": ["4"]}
    population = np.array([10_000, 10_000, 100, 100, 100], dtype=float)
    share = np.array([0.30, 0.28, 0.25, 0.02, 0.01])
    city_share = (share * population).sum() / population.sum()   # about 0.287
    mean_of_districts = share.mean()                               # 0.172
    w = weights_from_neighbours(neighbours, list(neighbours))
    table = local_moran_table(share, w, permutations=99, seed=1, alpha=0.999)  # every district "significant"
    classes = dict(zip(neighbours, table["lisa_class"]))
    # district 2 lies below the city share, yet above the unweighted mean with high neighbours: Hoch-Hoch
    assert mean_of_districts < share[1] < city_share
    assert classes["2"] == "HH"


def test_milieu_directions_match_the_computation():
    from quarterstats.indicators.milieu import DIMENSIONS, dimension_scores

    section = milieu_section(CATALOGUE)
    text = section_text(section)
    assert "ein hoher Wert bedeutet „weniger Bezug von Sozialleistungen“" in text
    assert "ein hoher Wert bedeutet „viele Ältere“" in text
    for dim, parts in DIMENSIONS.items():
        item = next(i for i in section["items"] if i.startswith(CATALOGUE[f"milieu_{dim}"].label_de + ":"))
        lowering = item.split("sinkt mit:")[1] if "sinkt mit:" in item else ""
        for indicator, sign in parts:
            label = CATALOGUE[indicator].label_de
            assert label in item
            assert (label in lowering) == (sign < 0), (dim, label)
    # the computation: more SGB II recipients -> lower status score; more minors in households -> higher
    # family score; a long residence -> lower mobility
    values = {"sgb2_rate": np.array([5.0, 10.0, 20.0]), "households_with_minors_share": np.array([10.0, 15.0, 25.0]),
              "residence_5y": np.array([40.0, 50.0, 70.0])}
    scores, _ = dimension_scores(values, np.array([1000, 1000, 1000]))
    assert scores["status"][2] < scores["status"][0]
    assert scores["family"][2] > scores["family"][0]
    assert scores["mobility"][2] < scores["mobility"][0]
    # the typology and the classes are explained with the run's parameters
    assert "Ward" in text and "von 4 bis 7" in text and "80 %" in text
    assert "„hoch“ ab 1,0 Standardabweichungen" in text and "„sehr niedrig“ ab 1,5" in text
    other = section_text(milieu_section(build_catalogue(IndicatorParameters(typology_types=(3, 6),
                                                                            status_very_low_sd=2.0))))
    assert "von 3 bis 6" in other and "„sehr niedrig“ ab 2,0" in other
    assert identifier_findings(text) == []
    note = milieu_note_de(CATALOGUE)
    assert "sozialer Status „weniger Bezug von Sozialleistungen“" in note and identifier_findings(note) == []


# --------------------------------------------------------------------- a small city, end to end
class VisibleText(HTMLParser):
    """Text a reader sees (no style, no script), plus alt and title attributes (figure captions)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._hidden += 1
        self.parts += [v for k, v in attrs if k in ("alt", "title") and v]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(path: Path) -> str:
    parser = VisibleText()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return "\n".join(parser.parts).replace("\u00ad", "").replace("\u200b", "")


REFERENCE_DATE = date(2024, 12, 31)


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> Path:
    from quarterstats import stages
    from quarterstats.paths import ProjectPaths
    from quarterstats.synth import generate

    root = tmp_path_factory.mktemp("city")
    generate(root / "data" / "raw", persons=3000, reference_dates=[REFERENCE_DATE])
    paths = ProjectPaths.from_workdir(root)
    stages.boundaries_stage(paths)
    for stage in (stages.ingest_stage, stages.persons_stage, stages.migration_recovery_stage,
                  stages.indicators_stage, stages.publication_stage):
        stage(paths, REFERENCE_DATE)
    stages.time_series_stage(paths)
    stages.publication_index_stage(paths)
    return root


def test_published_text_holds_no_identifier(small_city):
    report = small_city / "reports" / REFERENCE_DATE.isoformat() / "bericht.html"
    text = visible_text(report)
    assert "Migrationshintergrund" in text and "Einwanderungsgeschichte nicht bestimmbar" in text
    assert identifier_findings(text) == []
    index = visible_text(small_city / "reports" / "index.html")
    # the index links its files by name (indikatoren.csv, alterspyramide_de.csv): no code tokens besides
    files = re.compile(r"[\w.-]+\.(?:csv|parquet|xlsx|gpkg|geojson|html)\b")
    assert files.search(index)
    assert identifier_findings(files.sub(" ", index)) == []


def test_interactive_map_text_holds_no_identifier(small_city):
    """What the map shows: the page's own text and the texts its script puts in (labels, definitions,
    legend, signs, dates) from the JSON block."""
    import json

    files = re.compile(r"[\w.-]+\.(?:csv|parquet|xlsx|gpkg|geojson|html)\b")
    for page in (small_city / "reports" / REFERENCE_DATE.isoformat() / "karte.html", small_city / "reports" / "karte.html"):
        text = visible_text(page)
        assert "Kennzahl" in text and "Stichtag" in text
        assert identifier_findings(files.sub(" ", text)) == []
        html = page.read_text(encoding="utf-8")
        data = json.loads(re.search(r'id="kartendaten">(.*?)</script>', html, re.S).group(1))
        shown = [i[key] for i in data["indicators"] for key in ("label", "unit", "definition")]
        shown += [d["label"] for d in data["dates"]] + [s["label"] for s in data["signs"].values()]
        for per_date in data["cells"].values():
            for cells in per_date.values():
                shown += [cells["method"], *(entry["label"] for entry in cells["legend"])]
        assert identifier_findings("\n".join(shown)) == []


def test_report_methods_explain_the_run(small_city):
    text = visible_text(small_city / "reports" / REFERENCE_DATE.isoformat() / "bericht.html")
    methods = text[text.rindex("Methoden und Definitionen"):]
    for heading in ("Migrationshintergrund", "Einwanderungsgeschichte", "Untererfassung im Register",
                    "Räumliche Cluster (LISA)", "Milieudimensionen", "Geheimhaltung"):
        assert heading in methods
    # the synthetic city has a truth: the undercount is measured, with numbers
    assert re.search(r"nach der Registerregel \d+,\d %", methods)
    # the disclosure rules in words and the parameters by their German names
    assert "Geheimhaltung durch Zellsperrung" in methods
    assert "Kleinste ausgewiesene Fallzahl" in methods and "3 Personen" in methods
    assert "Junge Erwachsene" in methods and "18 bis 29 Jahre" in methods
    # the LISA figure captions and the LISA table carry the reading aid, the milieu table its direction
    assert text.count("ungewichteten Mittelwert der Bezirksanteile") >= 4  # methods, table, two LISA maps
    assert "sozialer Status „weniger Bezug von Sozialleistungen“" in text and "benachteiligt" not in text


def test_definitions_sheet_text_holds_no_identifier(small_city):
    sheet = pd.read_excel(small_city / "reports" / REFERENCE_DATE.isoformat() / "tabellen.xlsx",
                          sheet_name="Definitionen", header=None, dtype=str)
    header_row = next(i for i in range(len(sheet)) if "Kennung" in set(sheet.iloc[i].dropna()))
    table = sheet.iloc[header_row + 1:]
    table.columns = sheet.iloc[header_row]
    # "Kennung" is the key that joins the sheet with the long CSV table (indicator ids): allowed
    text_columns = [c for c in table.columns if isinstance(c, str) and c != "Kennung"]
    assert {"Indikator", "Definition", "Formel", "Zähler", "Nenner", "Quelle"} <= set(text_columns)
    assert len(table) > 50
    findings = {c: identifier_findings(" | ".join(table[c].dropna())) for c in text_columns}
    assert {c: f for c, f in findings.items() if f} == {}


def test_the_report_waits_for_the_undercount_measurement():
    """The publication reads migration_recovery's output: Dagster must run it first, not beside."""
    import dagster as dg

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    upstream = {k.to_user_string() for k in graph.get(dg.AssetKey("publication")).parent_keys}
    assert "migration_recovery" in upstream


def test_every_acquisition_code_of_the_contract_has_a_german_name():
    from quarterstats.contract import ACQUISITION_CODES
    from quarterstats.migration import ACQUISITIONS_DE

    assert set(ACQUISITIONS_DE) == set(ACQUISITION_CODES)
