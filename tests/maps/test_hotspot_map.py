import json
import re

import geopandas as gpd
import pytest
import shapely

from gridplan import InputError
from gridplan.maps.hotspot_map import hotspot_map
from gridplan.maps.hotspot_map import save_map
from gridplan.maps.layers import require_vendor
from gridplan.maps.layers import script_json
from gridplan.maps.layers import use_local_assets


@pytest.fixture
def gdf_hot():
    """A 3x3 lattice of cells near Shanghai with two slices of hot-spot figures."""
    rows = []
    for sid in ("all", "night"):
        for k in range(9):
            i, j = divmod(k, 3)
            rows.append(
                {
                    "id": f"S01-B1-M{k + 1:03d}",
                    "name": f"微网格{k + 1}",
                    "slice": sid,
                    "count": k,
                    "density_km2": k * 25.0,
                    "score": float(k if sid == "all" else 8 - k),
                    "rank": 9 - k,
                    "gi_z": (k - 4) / 1.5,
                    "gi_class": "hot_99" if k == 8 else "not_significant",
                    "geometry": shapely.box(
                        121.4 + i * 0.002, 31.2 + j * 0.002, 121.402 + i * 0.002, 31.202 + j * 0.002
                    ),
                }
            )
    return gpd.GeoDataFrame(rows, crs=4326)


def test_saved_map_is_offline_and_self_contained(tmp_path, gdf_hot):
    p = save_map(hotspot_map(gdf_hot, tiles="none"), tmp_path / "map.html")
    html = p.read_text(encoding="utf-8")
    # every script and stylesheet is inline: nothing is fetched from a CDN
    assert not re.search(r'<script[^>]+src="http', html)
    assert not re.search(r'<link[^>]+href="http', html)
    assert "L.geoJSON" in html and "S01-B1-M009" in html and "微网格9" in html
    assert "night" in html and "时段" in html


def test_tile_server_setting(gdf_hot):
    html = hotspot_map(gdf_hot, tiles="http://tiles.station.local/{z}/{x}/{y}.png")
    rendered = html.get_root().render()
    assert "tiles.station.local" in rendered
    assert "tile.openstreetmap.org" not in rendered
    with pytest.raises(InputError, match="placeholders"):
        hotspot_map(gdf_hot, tiles="http://tiles.station.local/")


def test_web_static_url(gdf_hot):
    rendered = hotspot_map(gdf_hot, tiles="none", static_url="/static").get_root().render()
    assert '<script src="/static/vendor/leaflet/leaflet.js"></script>' in rendered


def test_english_labels_and_missing_columns(gdf_hot):
    rendered = hotspot_map(gdf_hot, tiles="none", lang="en").get_root().render()
    assert "Time slice" in rendered
    with pytest.raises(InputError, match="lacks columns gi_class"):
        hotspot_map(gdf_hot.drop(columns="gi_class"))


def test_hotspot_map_is_offline_served_and_saved(tmp_path, gdf_hot):
    from _maps import outside_refs

    served = hotspot_map(gdf_hot, tiles="none", static_url="/static").get_root().render()
    assert outside_refs(served) == []
    saved = save_map(hotspot_map(gdf_hot, tiles="none"), tmp_path / "m.html").read_text("utf-8")
    assert outside_refs(saved) == []
    # the vendored files' pointers to source maps that are not shipped are dropped
    assert "sourceMappingURL" not in saved
    # the Leaflet attribution links to no outside site
    assert 'setPrefix("Leaflet")' in saved


def test_hotspot_map_escapes_names(gdf_hot):
    hostile = "</script><script>alert(1)</script>"
    gdf = gdf_hot.copy()
    gdf.loc[gdf["id"] == "S01-B1-M001", "name"] = hostile
    html = hotspot_map(gdf, tiles="none", slice_labels={"night": hostile}).get_root().render()
    assert hostile not in html
    assert html.count("<script") == html.count("</script>")


def test_script_json_keeps_markup_inside_strings():
    text = script_json({"name": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><!-- & \u2028"}


def test_markercluster_follows_a_later_asset_setting(gdf_hot):
    # a layer that needs markercluster, then the web UI re-points the map at its static URL
    m = hotspot_map(gdf_hot, tiles="none")
    require_vendor(m, "leaflet.markercluster")
    use_local_assets(m, static_url="/app/static/")
    html = m.get_root().render()
    assert (
        '<script src="/app/static/vendor/leaflet.markercluster/leaflet.markercluster.js">' in html
    )
    assert 'href="/app/static/vendor/leaflet.markercluster/MarkerCluster.css"' in html
    assert "gridplan-asset:" not in html
