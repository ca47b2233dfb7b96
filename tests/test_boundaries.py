"""Boundaries: formats, CRS, tolerances relative to the city, sliver repairs, real Kaiserslautern and Berlin files."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import pytest
import shapely

from conftest import ORIGIN, SIDE, grid_districts, shared_path
from quarterstats.boundaries import (
    WORKING_CRS, BoundaryParameters, load_boundaries, read_boundaries, read_boundary_parameters, validate_boundaries,
)
from quarterstats.errors import InputError


@pytest.mark.parametrize("suffix,driver", [(".gpkg", "GPKG"), (".geojson", "GeoJSON"), (".shp", "ESRI Shapefile"), (".parquet", None)])
def test_reads_every_format_and_reprojects(tmp_path, suffix, driver):
    grid = grid_districts().to_crs("EPSG:4326")  # delivered in degrees
    path = tmp_path / f"districts{suffix}"
    if driver is None:
        grid.to_parquet(path)
    else:
        grid.to_file(path, driver=driver)
    districts, report = load_boundaries(path)
    assert districts.crs == WORKING_CRS
    assert report.source_crs.endswith("4326")
    assert districts["district_id"].tolist() == ["A", "B", "C", "D"]
    assert districts["area_km2"].round(3).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert report.ok


def test_undeclared_crs_is_refused(tmp_path):
    path = tmp_path / "districts.shp"
    grid_districts().to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(InputError) as err:
        read_boundaries(path)
    assert err.value.rule == "boundaries.crs"
    districts, _, _ = read_boundaries(path, crs="EPSG:25832")
    assert districts.crs == WORKING_CRS


def test_overlap_and_gap_beyond_tolerance_are_reported():
    grid = grid_districts()
    geoms = list(grid.geometry)
    geoms[0] = shapely.affinity.translate(geoms[0], xoff=20)  # overlaps B by 20 m × 1 km, opens a gap
    grid = grid.set_geometry(geoms)
    _, report = validate_boundaries(grid)
    assert not report.ok
    assert report.overlap_total_m2 == pytest.approx(20_000, rel=1e-6)
    assert report.overlap_pairs[0]["a"] == "A" and report.overlap_pairs[0]["b"] == "B"
    assert any("overlap" in p for p in report.problems)


def test_hole_between_districts_is_a_gap():
    grid = grid_districts()
    geoms = list(grid.geometry)
    centre = shapely.box(410_900, 5_477_900, 411_100, 5_478_100)  # 200 m × 200 m around the meeting point
    grid = grid.set_geometry([g.difference(centre) for g in geoms])
    _, report = validate_boundaries(grid)
    assert report.gap_count == 1
    assert report.gap_total_m2 == pytest.approx(40_000)
    assert not report.ok


def test_invalid_geometry_is_repaired_and_named():
    grid = grid_districts()
    bowtie = shapely.Polygon([(410_000, 5_477_000), (411_000, 5_478_000), (411_000, 5_477_000), (410_000, 5_478_000)])
    grid.loc[0, "geometry"] = bowtie
    repaired, report = validate_boundaries(grid)
    assert report.repaired_invalid == ["A"]
    assert repaired.geometry.is_valid.all()


def test_duplicate_ids_and_empty_geometries_stop_the_run(tmp_path):
    grid = grid_districts()
    grid.loc[1, "district_id"] = "A"
    path = tmp_path / "dup.gpkg"
    grid.to_file(path)
    with pytest.raises(InputError) as err:
        load_boundaries(path)
    assert err.value.rule == "boundaries.duplicate_ids" and "A" in str(err.value)
    grid = grid_districts()
    grid.loc[2, "geometry"] = shapely.Polygon()
    path = tmp_path / "empty.gpkg"
    grid.to_file(path)
    with pytest.raises(InputError, match="empty"):
        load_boundaries(path)


def test_real_kaiserslautern_boundaries_pass():
    path = shared_path("data", "kaiserslautern", "ortsbezirke_wgs84.geojson")
    districts, report = load_boundaries(path)
    assert report.ok, report.problems
    assert report.districts == 10
    assert report.total_area_km2 == pytest.approx(139.6, abs=0.1)
    assert 0 < report.overlap_total_m2 < 1.0  # the city's own file overlaps by about 0.3 m²
    assert "Innenstadt" in set(districts["district_id"])  # ids fall back to the names
    assert not districts.geometry.has_z.any()


def test_a_file_with_several_layers_needs_the_layer_named(tmp_path):
    path = tmp_path / "city.gpkg"
    grid_districts().to_file(path, layer="ortsbezirke")
    grid_districts().iloc[:2].to_file(path, layer="stadtteile")
    with pytest.raises(InputError) as err:
        read_boundaries(path)
    assert err.value.rule == "boundaries.layers" and "ortsbezirke, stadtteile" in str(err.value)
    districts, _, _ = read_boundaries(path, layer="stadtteile")
    assert districts["district_id"].tolist() == ["A", "B"]


def test_declared_crs_must_fit_the_coordinates(tmp_path):
    # metres in a file that declares degrees, and degrees in a file that declares metres
    grid = grid_districts().set_crs("EPSG:4326", allow_override=True)
    path = tmp_path / "metres.gpkg"
    grid.to_file(path)
    with pytest.raises(InputError, match="they are metres") as err:
        read_boundaries(path)
    assert (err.value.rule, err.value.column) == ("boundaries.crs", "geometry")
    grid = grid_districts().to_crs("EPSG:4326").set_crs("EPSG:25832", allow_override=True)
    path = tmp_path / "degrees.gpkg"
    grid.to_file(path)
    with pytest.raises(InputError, match="do not lie in Germany"):
        read_boundaries(path)


# ============================================================================ tolerances relative to the city
KM2 = 2_000.0  # side of the sliver city's districts: 10 × 10 squares of 2 km, 400 km² like the city that found it


def sliver_city(overlap_m2: float = 900.0, gaps: int = 750, gap_m2: float = 1_300.0) -> gpd.GeoDataFrame:
    """A 400 km² city of 100 districts (ids "1".."100") with digitising noise: district "1" reaches
    ``overlap_m2 / 2 km`` into "2" along their border, and ``gaps`` holes of 1 m width straddle the other
    inner vertical borders (``gap_m2`` in total)."""
    ids, geoms = [], []
    for row in range(10):
        for col in range(10):
            x0, y0 = ORIGIN[0] + col * KM2, ORIGIN[1] + row * KM2
            ids.append(str(row * 10 + col + 1))
            geoms.append(shapely.box(x0, y0, x0 + KM2, y0 + KM2))
    geoms[0] = shapely.box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + KM2 + overlap_m2 / KM2, ORIGIN[1] + KM2)
    length = gap_m2 / gaps  # each hole: 1 m wide across the border, `length` m along it
    holes = []
    per_border = -(-gaps // 89)  # 9 inner vertical lines × 10 rows of borders, but not the one of "1" and "2"
    for k in range(gaps):
        border, slot = divmod(k, per_border)
        border += 1
        line, row = divmod(border, 10)
        x = ORIGIN[0] + (line + 1) * KM2
        y = ORIGIN[1] + row * KM2 + (slot + 1) * KM2 / (per_border + 1)
        holes.append(shapely.box(x - 0.5, y, x + 0.5, y + length))
    cut = shapely.union_all(holes)
    return gpd.GeoDataFrame({"district_id": ids, "name": [f"Bezirk {i}" for i in ids]},
                            geometry=[g.difference(cut) for g in geoms], crs="EPSG:25832")


def test_digitising_noise_of_a_large_city_is_repaired():
    city = sliver_city()
    # the old fixed tolerance of 10 m² refuses this file; a share of the city's area accepts it
    assert not validate_boundaries(city, parameters=BoundaryParameters(max_overlap_share=10 / 400e6,
                                                                        max_gap_share=10 / 400e6))[1].ok
    repaired, report = validate_boundaries(city)
    assert report.ok, report.problems
    assert report.city_area_km2 == pytest.approx(400.0, abs=1e-3)
    assert report.overlap_total_m2 == pytest.approx(900.0) and report.gap_count == 750
    assert report.gap_total_m2 == pytest.approx(1_300.0)
    summary = report.summary()
    assert (summary["overlaps_repaired"], summary["slivers_repaired"], summary["gaps_left"]) == (1, 750, 0)
    assert summary["overlap_repaired_m2"] == pytest.approx(900.0) and summary["sliver_repaired_m2"] == pytest.approx(1_300.0, abs=0.5)  # entries rounded to mm²
    assert report.overlap_after_m2 == pytest.approx(0.0, abs=1e-6) and report.gap_after_m2 == pytest.approx(0.0, abs=1e-6)
    area = dict(zip(repaired["district_id"], repaired.geometry.area))
    # the overlap stays with "1" (first id), and cut out of "2"
    assert area["1"] == pytest.approx(KM2 * KM2 + 900.0, abs=1e-3)
    delivered = dict(zip(city["district_id"], city.geometry.area))
    assert area["2"] == pytest.approx(delivered["2"] - 900.0 + _sliver_area(report, "2"), abs=1e-2)
    assert area["3"] == pytest.approx(delivered["3"] + _sliver_area(report, "3"), abs=1e-2)
    assert sum(area.values()) == pytest.approx(400e6, abs=1e-2)  # every m² in exactly one district
    overlap = next(r for r in report.repairs if r["repair"] == "overlap")
    assert (overlap["to"], overlap["from"]) == ("1", "2")
    # a symmetric sliver touches both sides equally: the tie goes to the first id
    slivers = [r for r in report.repairs if r["repair"] == "sliver"]
    assert len(slivers) == 750 and {r["to"] for r in slivers if r["x"] < ORIGIN[0] + 2 * KM2} == {"11", "21", "31", "41", "51", "61", "71", "81", "91"}


def _sliver_area(report, district: str) -> float:
    return sum(r["area_m2"] for r in report.repairs if r["repair"] == "sliver" and r["to"] == district)


def test_a_sliver_goes_to_the_neighbour_with_the_longest_shared_border():
    grid = grid_districts()
    x = ORIGIN[0] + SIDE  # the border between A (left) and B (right)
    notch = shapely.box(x, ORIGIN[1] + 400, x + 1.5, ORIGIN[1] + 410)  # cut into B only: 10 m × 1.5 m
    grid = grid.set_geometry([g.difference(notch) for g in grid.geometry])
    repaired, report = validate_boundaries(grid)
    assert [(r["repair"], r["to"]) for r in report.repairs] == [("sliver", "B")]  # B borders it on 3 sides
    assert repaired.geometry.area.round(6).tolist() == [1e6] * 4


def test_repair_does_not_depend_on_the_order_of_the_file():
    city = sliver_city(gaps=60, gap_m2=100.0)
    first, _ = validate_boundaries(city)
    second, _ = validate_boundaries(city.iloc[::-1].reset_index(drop=True))
    by_id = dict(zip(second["district_id"], shapely.to_wkb(second.geometry.values)))
    assert all(by_id[i] == w for i, w in zip(first["district_id"], shapely.to_wkb(first.geometry.values)))


def test_a_wider_gap_within_tolerance_stays_open():
    grid = grid_districts()
    hole = shapely.box(ORIGIN[0] + 995, ORIGIN[1] + 500, ORIGIN[0] + 1005, ORIGIN[1] + 510)  # 10 m × 10 m
    grid = grid.set_geometry([g.difference(hole) for g in grid.geometry])
    _, report = validate_boundaries(grid)
    assert not report.ok  # 100 m² of 4 km² is beyond the default share ...
    repaired, report = validate_boundaries(grid, parameters=BoundaryParameters(max_gap_share=1e-4))
    assert report.ok and report.gaps_left == 1 and report.slivers_repaired == 0  # ... and 10 m is no sliver
    assert report.gap_after_m2 == pytest.approx(100.0)


def test_overlaps_beyond_tolerance_stop_with_the_worst_pairs(tmp_path):
    path = tmp_path / "districts.gpkg"
    sliver_city(overlap_m2=9_000.0).to_file(path)  # 9,000 m²: 2.25e-5 of the city
    with pytest.raises(InputError) as err:
        load_boundaries(path)
    assert (err.value.rule, err.value.column, err.value.file) == ("boundaries.overlaps", "geometry", str(path))
    assert "1 / 2 (9,000.0 m²)" in err.value.message and "max_overlap_share" in err.value.message
    _, report = load_boundaries(path, parameters=BoundaryParameters(max_overlap_share=1e-4))
    assert report.ok and report.overlaps_repaired == 1


def test_gaps_beyond_tolerance_stop_with_the_largest_and_where(tmp_path):
    path = tmp_path / "districts.gpkg"
    grid = grid_districts()
    hole = shapely.box(ORIGIN[0] + 990, ORIGIN[1] + 500, ORIGIN[0] + 1010, ORIGIN[1] + 600)  # 2,000 m²
    grid.set_geometry([g.difference(hole) for g in grid.geometry]).to_file(path)
    with pytest.raises(InputError) as err:
        load_boundaries(path)
    assert err.value.rule == "boundaries.gaps" and "1 gap(s)" in err.value.message
    assert "2,000.0 m² at 411,000 / 5,477," in err.value.message


def test_geometry_make_valid_cannot_turn_into_a_polygon_is_refused(tmp_path):
    grid = grid_districts()
    grid.loc[3, "geometry"] = shapely.Polygon([(ORIGIN[0], ORIGIN[1]), (ORIGIN[0] + 5, ORIGIN[1] + 5),
                                               (ORIGIN[0] + 10, ORIGIN[1] + 10)])  # collapsed to a line
    path = tmp_path / "line.gpkg"
    grid.to_file(path)
    with pytest.raises(InputError) as err:
        load_boundaries(path)
    assert err.value.rule == "boundaries.geometry" and "D" in err.value.message


def test_parameters_are_checked_and_unknown_keys_refused(tmp_path):
    assert BoundaryParameters.from_table({"sliver_width_m": 1, "series_geography": date(2021, 1, 1)}) == \
        BoundaryParameters(sliver_width_m=1, series_geography="2021-01-01")
    with pytest.raises(InputError) as err:
        BoundaryParameters.from_table({"overlap_tolerance": 5}, file="quarterstats.toml")
    assert err.value.rule == "boundaries.parameters" and "overlap_tolerance" in err.value.message
    for bad in ({"max_gap_share": -1}, {"max_overlap_share": 0.5}, {"nearest_distance_m": "far"},
                {"series_geography": "newest"}, {"sliver_width_m": True}):
        with pytest.raises(InputError, match="boundaries"):
            BoundaryParameters.from_table(bad)
    (tmp_path / "quarterstats.toml").write_text("[boundaries]\nmax_gap_share = 2e-5\n", encoding="utf-8")
    assert read_boundary_parameters(tmp_path).max_gap_share == 2e-5
    (tmp_path / "quarterstats.toml").write_text("[boundaries]\nmax_gap = 2e-5\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_boundary_parameters(tmp_path)
    assert err.value.file == str(tmp_path / "quarterstats.toml")


def test_real_kaiserslautern_noise_is_repaired_and_listed():
    path = shared_path("data", "kaiserslautern", "ortsbezirke_wgs84.geojson")
    districts, report = load_boundaries(path)
    assert report.overlaps_repaired >= 1 and report.slivers_repaired == 1 and report.gaps_left == 0
    assert report.overlap_after_m2 < 1e-3 and report.gap_after_m2 < 1e-3
    assert districts.geometry.area.sum() / 1e6 == pytest.approx(report.city_area_km2, abs=1e-6)


@pytest.mark.parametrize("name,districts", [("forecast-areas-until-2020.geojson", 60),
                                            ("forecast-areas-from-2021.geojson", 58)])
def test_real_berlin_forecast_areas_pass(name, districts):
    path = shared_path("data", "berlin_lor", name)
    repaired, report = load_boundaries(path)
    assert report.ok and report.districts == districts
    assert report.city_area_km2 == pytest.approx(892.36, abs=0.01)
    assert report.overlap_after_m2 < 1e-3 and report.gap_after_m2 < 1e-3
    assert repaired["district_id"].str.fullmatch(r"\d{4}").all()  # ids as text, leading zeros kept
