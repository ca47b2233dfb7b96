"""quarterstats.toml: one validated Settings, refused clearly when wrong, passed to every stage, traced
in the provenance, the legal floor of published counts, and the generated settings reference."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import REFERENCE_DATE, clean_rows, make_small_project, write_extract
from quarterstats.catalogue import IndicatorParameters, age_group_id, age_groups
from quarterstats.cli import main
from quarterstats.disclosure import DisclosureConfig
from quarterstats.errors import InputError
from quarterstats.paths import ProjectPaths
from quarterstats.settings import field_docs, load_settings, reference_markdown, sections
from quarterstats.stages import made_with

ROOT = Path(__file__).resolve().parents[1]
OTHER_AGES = "[indicators]\nage_group_lower_bounds = [0, 3, 6, 10, 16, 18, 21, 30, 50, 60, 75]\nyouth_age_limit = 21\n"
OVERRIDE = ('[disclosure]\nmin_count = 1\nallow_below_legal_floor = true\n'
            'legal_floor_reason = "Beschluss des Statistikausschusses vom 1. März 2024"\n')


@pytest.fixture(autouse=True)
def isolated_dagster_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "quarterstats.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(project: Path, lines: list[str] | None = None):
    from pipelines.runner import materialize_all

    outcome = materialize_all(project, progress=(lines.append if lines is not None else lambda _: None))
    assert outcome.ok, outcome.message
    return outcome


def _published(project: Path) -> pd.DataFrame:
    return pd.read_parquet(ProjectPaths.from_workdir(project).published(REFERENCE_DATE))


# ------------------------------------------------------------------------------------- loading
def test_absent_file_gives_the_defaults(tmp_path):
    settings = load_settings(tmp_path)
    assert settings.disclosure == DisclosureConfig() and settings.indicators == IndicatorParameters()
    assert settings.city.name == "Stadt" and settings.city.source.startswith("Melderegister")
    (tmp_path / "data" / "raw" / "synthetic_truth").mkdir(parents=True)
    assert load_settings(tmp_path).city.name == "Kaiserslautern (synthetisch)"


def test_file_values_arrive_typed_and_arrays_become_tuples(tmp_path):
    _write(tmp_path, OTHER_AGES + '[migration]\npersonal_acquisitions = ["naturalisation"]\n'
                      '[disclosure]\nvariance = 2\n[city]\nname = "Musterstadt"\n')
    settings = load_settings(tmp_path)
    assert settings.indicators.age_group_lower_bounds == (0, 3, 6, 10, 16, 18, 21, 30, 50, 60, 75)
    assert settings.indicators.youth_age_limit == 21
    assert settings.migration.personal_acquisitions == ("naturalisation",)
    assert settings.disclosure.variance == 2.0 and isinstance(settings.disclosure.variance, float)
    assert settings.city.name == "Musterstadt"
    assert settings.sha256() != load_settings(tmp_path / "elsewhere").sha256()


@pytest.mark.parametrize("text, where, rule", [
    ("[disclosure]\nmin_cont = 5\n", "[disclosure] min_cont: unknown key", "settings.unknown_key"),
    ("[disclosur]\nmin_count = 5\n", "unknown section [disclosur]", "settings.unknown_section"),
    ("[indicators]\nyouth_age_limit = \"21\"\n", "[indicators] youth_age_limit: expected a whole number",
     "settings.type"),
    ("[disclosure]\nmin_count = 3.5\n", "[disclosure] min_count: expected a whole number", "settings.type"),
    ("[indicators]\nyoung_adult_ages = [18]\n", "[indicators] young_adult_ages: expected a list of 2 whole numbers",
     "settings.type"),
    ("[indicators]\nage_group_lower_bounds = [0, 18, 6]\n",
     "[indicators] age_group_lower_bounds: age_group_lower_bounds must start at 0 and increase strictly",
     "settings.value"),
    ("[disclosure]\nvariance = -1.0\n", "[disclosure] variance: variance must be positive", "settings.value"),
    ("[disclosure]\nmethod = \"rounding\"\n", "[disclosure] method: method must be one of", "settings.value"),
    ("[disclosure]\nsalt = \"geheim\"\n", "[disclosure] salt: the cell key salt is a secret: set it in the "
     "environment variable QUARTERSTATS_CELLKEY_SALT", "settings.secret"),
    ("[disclosure]\nmin_count = 1\n", "[disclosure] min_count: min_count = 1 would publish counts of 1 and 2",
     "settings.value"),
    ("[disclosure]\nmin_count = 2\nallow_below_legal_floor = true\n",
     "[disclosure] allow_below_legal_floor: allow_below_legal_floor needs a legal_floor_reason", "settings.value"),
    ("[disclosure\nmin_count = 5\n", "not valid TOML", "settings.syntax"),
    ("[migration]\nminor_age_limit = 16\n", "[migration] minor_age_limit: 16 differs from [indicators] "
     "minor_age_limit 18", "settings.value"),
])
def test_a_wrong_file_stops_the_run_with_one_clear_message(small_project, capsys, text, where, rule):
    path = _write(small_project, text)
    with pytest.raises(InputError) as err:
        load_settings(small_project)
    assert err.value.rule == rule and where in err.value.message and err.value.file == str(path)
    assert main(["run", "--workdir", str(small_project)]) == 2
    message = capsys.readouterr().err
    assert where in message and str(path) in message and rule in message and "Traceback" not in message
    assert not ProjectPaths.from_workdir(small_project).processed.exists()  # refused before anything ran


def test_each_municipality_has_its_own_settings_and_all_are_checked_first(tmp_path, capsys):
    make_small_project(tmp_path / "municipalities" / "a")
    make_small_project(tmp_path / "municipalities" / "b")
    path = _write(tmp_path / "municipalities" / "b", "[disclosure]\nmin_count = 0\n")
    assert main(["run", "--workdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "[disclosure] min_count" in err
    assert not (tmp_path / "municipalities" / "a" / "data" / "processed").exists()  # a did not run either


# ----------------------------------------------------------------------- passed to every stage
def test_other_age_bounds_run_end_to_end_and_the_published_age_groups_follow_them(tmp_path):
    rows = [dict(r, age=20) if r["person_id"] == "p08" else r for r in clean_rows()]  # 20: a youth only under 21
    small_project = make_small_project(tmp_path / "city", rows)
    _write(small_project, OTHER_AGES)
    _run(small_project)
    settings = load_settings(small_project)
    expected = [age_group_id(lo, hi) for lo, hi in age_groups(settings.indicators)]
    published = _published(small_project)
    ages = [i for i in dict.fromkeys(published["indicator"]) if i.startswith("age_") and not i.endswith("_share")]
    assert ages == expected  # without the settings these would be the defaults, age_00_05 ... age_80plus
    assert "age_00_05" not in set(published["indicator"]) and "age_18_20" in set(published["indicator"])
    labels = published.drop_duplicates("indicator").set_index("indicator")["label_de"]
    assert labels["age_18_20"] == "Einwohner von 18 bis unter 21 Jahren"
    # the dependency ratios use youth_age_limit = 21 (the unprotected table; the default 20 gives 1 and 7)
    table = pd.read_parquet(ProjectPaths.from_workdir(small_project).indicators(REFERENCE_DATE))
    youth = table[(table["district_id"] == "city") & (table["indicator"] == "youth_ratio")].iloc[0]
    assert youth["numerator"] == 2  # p04 (7) and p08 (20)
    old_age = table[(table["district_id"] == "city") & (table["indicator"] == "old_age_ratio")].iloc[0]
    assert youth["denominator"] == old_age["denominator"] == 6  # 21 to 64: p01, p02, p03, p06, p07, p09
    # the report's parameter table and the workbook's definitions use the same parameters
    folder = ProjectPaths.from_workdir(small_project).report_dir(REFERENCE_DATE)
    html = (folder / "bericht.html").read_text(encoding="utf-8")
    # the methods section shows the age groups in German ("unter 3, 3 bis 5, ...")
    assert "unter 3, 3 bis 5, 6 bis 9, 10 bis 15, 16 bis 17, 18 bis 20, 21 bis 29" in html
    assert "75 Jahre und älter" in html and settings.sha256() in html
    definitions = load_workbook(folder / "tabellen.xlsx")["Definitionen"]
    assert "Einwohner von 18 bis unter 21 Jahren" in [row[1].value for row in definitions.iter_rows(min_row=2)]
    series = pd.read_parquet(ProjectPaths.from_workdir(small_project).indicator_time_series)
    assert "age_18_20" in set(series["indicator"])


def _varied_project(root: Path) -> Path:
    """400 persons over the four grid districts (A 180, B 120, C 90, D 10), ages spread over 1..89: many
    small counts of age groups and nationalities."""
    from conftest import cell_centre, person

    rows = []
    for district, (col, row, n, foreign) in {"A": (0, 0, 180, 40), "B": (1, 0, 120, 10), "C": (0, 1, 90, 4),
                                              "D": (1, 1, 10, 3)}.items():
        x, y = cell_centre(col, row)
        for k in range(n):
            extra = dict(nationality_1="TUR", german_acquisition=None, birth_country="TUR",
                         origin_country="TUR") if k < foreign else {}
            rows.append(person(f"q{district}{k:04d}", x=x, y=y, age=1 + (k * 7) % 89, sex="mw"[k % 2],
                               moved_in_address=date(2020, 1, 1),
                               household_id=f"h{district}{k // 2:04d}", **extra))
    return make_small_project(root, rows)


def _small_counts(published: pd.DataFrame, upto: int) -> pd.DataFrame:
    counts = published[(published["kind"] == "count") & published["value"].notna()]
    return counts[(counts["value"] >= 1) & (counts["value"] <= upto)]


def test_min_count_5_suppresses_counts_of_3_and_4_and_a_change_of_settings_is_not_reused(tmp_path):
    small_project = _varied_project(tmp_path / "city")
    _run(small_project)
    paths = ProjectPaths.from_workdir(small_project)
    before = _small_counts(_published(small_project), 4)
    assert len(before) > 0 and set(before["value"]) <= {3, 4}  # the default min_count 3 publishes 3s or 4s
    first = load_settings(small_project).sha256()
    _write(small_project, "[disclosure]\nmin_count = 5\n")
    second = load_settings(small_project).sha256()
    assert second != first
    lines: list[str] = []
    _run(small_project, lines)
    assert any("differ from those of existing outputs" in line for line in lines)
    after = _published(small_project)
    assert _small_counts(after, 4).empty
    cells = after.set_index(["district_id", "indicator"])
    for _, row in before.iterrows():
        assert cells.loc[(row["district_id"], row["indicator"]), "flag"] == "*"
    assert cells.loc[("city", "pop"), "value"] == 400
    pyramid = pd.read_csv(paths.report_dir(REFERENCE_DATE) / "alterspyramide.csv")
    assert not ((pyramid["count"] >= 1) & (pyramid["count"] <= 4)).any()
    provenance = {r[0].value: r[1].value for r in load_workbook(paths.report_dir(REFERENCE_DATE) / "tabellen.xlsx")
                  ["Herkunft"].iter_rows(min_row=2)}
    assert provenance["SHA-256 der Einstellungen (quarterstats.toml, wirksame Werte)"] == second
    html = (paths.report_dir(REFERENCE_DATE) / "bericht.html").read_text(encoding="utf-8")
    assert "Fallzahlen von 1 bis 4 werden nicht ausgewiesen" in html


def test_outputs_of_an_earlier_date_made_with_other_settings_are_refused_or_recomputed(small_project):
    from pipelines.runner import with_unprocessed_predecessors
    from quarterstats.stages import (boundaries_stage, indicators_stage, ingest_stage, made_with, persons_stage,
                                     publication_stage)

    paths = ProjectPaths.from_workdir(small_project)
    earlier = date(2019, 12, 31)
    write_extract(clean_rows(), paths.raw_register / f"{earlier}.parquet")
    boundaries_stage(paths)
    for day in (earlier, REFERENCE_DATE):
        ingest_stage(paths, day)
    defaults = load_settings(small_project)
    persons_stage(paths, earlier, defaults)
    indicators_stage(paths, earlier, defaults)
    publication_stage(paths, earlier, defaults)
    assert made_with(paths, earlier, "publication", defaults)
    assert with_unprocessed_predecessors(paths, [REFERENCE_DATE], defaults) == [REFERENCE_DATE]
    _write(small_project, OTHER_AGES)
    other = load_settings(small_project)
    persons_stage(paths, REFERENCE_DATE)  # reads the file itself: made with the other settings
    assert made_with(paths, REFERENCE_DATE, "persons", other)
    with pytest.raises(InputError) as err:
        indicators_stage(paths, REFERENCE_DATE)  # 2019's indicators have the default age groups
    assert err.value.rule == "settings.changed" and "2019-12-31 were made with other settings" in err.value.message
    assert not paths.indicators(REFERENCE_DATE).exists()
    # quarterstats run --date 2020-12-31 runs 2019 again first
    assert with_unprocessed_predecessors(paths, [REFERENCE_DATE], other) == [earlier, REFERENCE_DATE]
    # an own earlier step made with other settings is refused as well
    persons_stage(paths, earlier, defaults)
    indicators_stage(paths, earlier, defaults)
    with pytest.raises(InputError, match="the indicators outputs of 2019-12-31 were made with other settings"):
        publication_stage(paths, earlier, other)


# ---------------------------------------------------------------------------------- legal floor
def test_below_the_legal_floor_only_with_a_documented_override():
    with pytest.raises(ValueError, match="below the legal floor of 3"):
        DisclosureConfig(min_count=2)
    config = DisclosureConfig(min_count=1, allow_below_legal_floor=True, legal_floor_reason="Satzung")
    assert config.below_legal_floor and "Abweichend von der gesetzlichen Mindestfallzahl von 3" in config.describe_de()
    assert "Begründung: Satzung" in config.describe_de()
    assert "Mindestfallzahl" not in DisclosureConfig().describe_de()
    assert "Mindestfallzahl" not in DisclosureConfig(allow_below_legal_floor=True, legal_floor_reason="x").describe_de()


def test_min_count_1_with_the_override_warns_and_says_so_in_report_and_workbook(small_project):
    _write(small_project, OVERRIDE)
    lines: list[str] = []
    _run(small_project, lines)
    warning = [line for line in lines if "WARNING" in line]
    assert len(warning) == 1 and "min_count = 1" in warning[0] and "Statistikausschusses" in warning[0]
    published = _published(small_project).set_index(["district_id", "indicator"])
    assert published.loc[("D", "pop"), "value"] == 1 and published.loc[("D", "pop"), "flag"] == ""
    paths = ProjectPaths.from_workdir(small_project)
    folder = paths.report_dir(REFERENCE_DATE)
    sentence = "Abweichend von der gesetzlichen Mindestfallzahl von 3 werden Fallzahlen von 1 und 2"
    assert sentence in (folder / "bericht.html").read_text(encoding="utf-8")
    for workbook in (folder / "tabellen.xlsx", paths.reports / "zeitreihe.xlsx"):
        book = load_workbook(workbook)
        notes = [row[1].value for row in book["Erläuterungen"].iter_rows() if row[0].value == "Geheimhaltung"]
        assert notes and all(sentence in note for note in notes), workbook
        herkunft = {r[0].value: r[1].value for r in book["Herkunft"].iter_rows(min_row=2)}
        assert sentence in herkunft["Geheimhaltung"]


def test_the_disclosure_check_reports_the_override_honestly(small_project):
    from quarterstats.stages import (boundaries_stage, indicators_stage, ingest_stage, persons_stage,
                                     publication_stage)

    paths = ProjectPaths.from_workdir(small_project)
    boundaries_stage(paths)
    ingest_stage(paths, REFERENCE_DATE)
    _write(small_project, OVERRIDE)
    settings = load_settings(small_project)
    persons_stage(paths, REFERENCE_DATE, settings)
    indicators_stage(paths, REFERENCE_DATE, settings)
    result = publication_stage(paths, REFERENCE_DATE, settings)
    passed, text = result.checks["published_counts_pass_disclosure"]
    small = _published(small_project).query("kind == 'count' and value >= 1 and value < 3")
    assert passed and len(small) > 0
    assert f"OVERRIDE of the legal floor of 3 (allow_below_legal_floor, min_count = 1): {len(small)} count(s)" in text
    assert result.metadata["below_legal_floor_published"] == len(small)
    # the same table under a min_count of 1 without the override (which the settings refuse to load):
    # the check fails, so small counts can never pass it silently
    from quarterstats.stages import disclosure_verdict

    silent = DisclosureConfig(min_count=1, allow_below_legal_floor=True, legal_floor_reason="x")
    object.__setattr__(silent, "allow_below_legal_floor", False)
    passed, text = disclosure_verdict(_published(small_project), silent, 0, 0)
    assert not passed and "OVERRIDE" in text


# ------------------------------------------------------------------------------------ the docs
def test_every_setting_is_documented_and_docs_settings_md_is_generated():
    for name, cls in sections().items():
        docs = field_docs(cls)
        missing = [f.name for f in fields(cls) if f.name != "salt" and not docs.get(f.name)]
        assert missing == [], f"[{name}] keys without documentation: {missing}"
    text = reference_markdown()
    for name, cls in sections().items():
        assert f"## `[{name}]`" in text
        assert all(f"| `{f.name}` |" in text for f in fields(cls) if f.name != "salt")
    assert "`salt`" not in text
    on_disk = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert on_disk == text, "docs/settings.md is out of date: regenerate it (see its first lines)"


def test_every_section_key_round_trips_through_the_file(tmp_path):
    """A file that sets every key to its default loads to the default settings (the reference is complete)."""
    import re

    lines = []
    for line in reference_markdown().splitlines():
        if line.startswith("## `["):
            lines.append(line[4:-1])
        row = re.match(r"^\| `(\w+)` \| [^|]+ \| `(.*?)` \|", line)
        if row:
            lines.append(f"{row.group(1)} = {row.group(2)}")
    _write(tmp_path, "\n".join(lines) + "\n")
    assert load_settings(tmp_path).sha256() == load_settings(tmp_path / "none").sha256()


def test_settings_command_shows_the_effective_settings_that_load_back_to_the_same_hash(tmp_path, capsys):
    _write(tmp_path / "a", OTHER_AGES + '[city]\nname = "Muster\\"stadt\\" \\\\ Nord"\n' + OVERRIDE)
    assert main(["settings", "--workdir", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    settings = load_settings(tmp_path / "a")
    assert settings.sha256() in out and "WARNING: min_count = 1" in out
    _write(tmp_path / "b", out)
    assert load_settings(tmp_path / "b") == settings
    assert main(["settings", "--reference"]) == 0
    assert capsys.readouterr().out == reference_markdown()
    _write(tmp_path / "c", "[indicators]\nseed = true\n")
    assert main(["settings", "--workdir", str(tmp_path / "c")]) == 2
    assert "[indicators] seed: expected a whole number, got bool True" in capsys.readouterr().err


def test_run_of_a_later_date_runs_an_earlier_one_made_with_other_settings_again(small_project, capsys):
    paths = ProjectPaths.from_workdir(small_project)
    write_extract(clean_rows(), paths.raw_register / f"{date(2019, 12, 31)}.parquet")
    assert main(["run", "--workdir", str(small_project), "--date", "2019-12-31"]) == 0
    _write(small_project, OTHER_AGES)
    capsys.readouterr()
    assert main(["run", "--workdir", str(small_project), "--date", REFERENCE_DATE.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "(also 2019-12-31: the requested date(s) need their outputs, which were made with other settings)" in out
    assert "differ from those of existing outputs" in out
    settings = load_settings(small_project)
    assert all(made_with(paths, day, "publication", settings) for day in paths.reference_dates())
    published = pd.read_parquet(paths.published(date(2019, 12, 31)))
    assert "age_18_20" in set(published["indicator"])
