from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from gridplan import InputError
from gridplan.geo.streets import read_street_lines

DEMO_PBF = Path(__file__).parents[2] / "data" / "streets" / "portland-central-filtered.osm.pbf"


def test_reads_osm_pbf_lines_with_highway_tags():
    gdf = read_street_lines(DEMO_PBF)
    assert gdf.crs.to_epsg() == 4326
    assert set(gdf.geom_type) == {"LineString"}
    assert {"residential", "footway", "primary"} <= set(gdf["highway"].dropna())
    # the extract has negative node ids; GDAL's default index would refuse it
    assert len(gdf) > 7000


def test_line_files_and_frames(tmp_path):
    lines = gpd.GeoDataFrame(
        {"name": ["中山路"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326
    )
    p = tmp_path / "streets.geojson"
    lines.to_file(p)
    assert read_street_lines(p)["name"].tolist() == ["中山路"]
    assert read_street_lines(lines.geometry).crs.to_epsg() == 4326
    copy = read_street_lines(lines)
    assert copy is not lines and copy.equals(lines)


def test_bad_street_inputs(tmp_path):
    with pytest.raises(InputError, match=r"missing\.osm\.pbf: file not found"):
        read_street_lines(tmp_path / "missing.osm.pbf")
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"not an osm file at all" * 10)
    with pytest.raises(InputError, match="cannot read the OSM lines layer"):
        read_street_lines(junk)
    with pytest.raises(InputError, match="not list"):
        read_street_lines([1, 2])
