"""Rebuild tests/data/network_portland_b4.osm.bz2 (run from the repository root).

A crop of the demo OSM extract to base grid S01-B4 of the demo station plus about 150 m: every
way with a highway tag that has a node in that box, with all its tags and all its nodes
(so ways stay whole), written as bzip2-compressed OSM XML by pyosmium.
"""

from pathlib import Path

import geopandas as gpd
import osmium

ROOT = Path(__file__).parents[2]
SOURCE = ROOT / "data" / "streets" / "portland-central-filtered.osm.pbf"
OUT = ROOT / "tests" / "data" / "network_portland_b4.osm.bz2"


def main() -> None:
    grid = gpd.read_file(ROOT / "data" / "boundaries" / "grid.geojson")
    b4 = grid[grid["id"] == "S01-B4"].to_crs(26910).buffer(150).to_crs(4326)
    w, s, e, n = b4.total_bounds
    inside = set()
    for node in osmium.FileProcessor(str(SOURCE), osmium.osm.NODE):
        if w <= node.location.lon <= e and s <= node.location.lat <= n:
            inside.add(node.id)
    ways, refs = [], set()
    for way in osmium.FileProcessor(str(SOURCE), osmium.osm.WAY):
        nodes = [r.ref for r in way.nodes]
        if "highway" in way.tags and any(r in inside for r in nodes):
            ways.append(way.replace(tags=dict(way.tags), nodes=nodes))
            refs.update(nodes)
    OUT.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(OUT)) as writer:
        for node in osmium.FileProcessor(str(SOURCE), osmium.osm.NODE):
            if node.id in refs:
                writer.add_node(node)
        for way in ways:
            writer.add_way(way)
    print(f"{OUT}: {len(refs)} nodes, {len(ways)} ways, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
