"""Boundaries: formats, CRS, validation tolerances, and the real Kaiserslautern file."""

from __future__ import annotations

import pytest
import shapely

from conftest import grid_districts, shared_path
from quarterstats.boundaries import WORKING_CRS, load_boundaries, read_boundaries, validate_boundaries
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
