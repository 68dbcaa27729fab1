"""Build the bundled Portland demo data in data/ from the shared portland_central set.

Usage::

    python scripts/build_demo_data.py [--source /work/shared/data/portland_central] [--out data]

Steps (all deterministic, so re-running gives the same files):

1. station: four central Portland neighbourhoods (Downtown, Old Town, Pearl District, Goose
   Hollow) dissolved into one jurisdiction, clipped to the study rectangle
   -> boundaries/station.geojson
2. incidents: every 2015-2021 row inside the station, original columns, gzip CSV
   -> incidents/portland_station_incidents.csv.gz
3. grid: generate_grid with 200 m square micro-grids, workload-balanced on the 2015-2018
   incidents weighted by the station config's category weights
   -> boundaries/grid.geojson (RFC 7946) and boundaries/grid.gpkg (three layers)
4. streets: the OSM extract copied byte for byte (0.67 MB, already small)
   -> streets/portland-central-filtered.osm.pbf

It prints the row counts, balance figures and file sizes that data/README.md quotes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gridplan.geo.generate import generate_grid
from gridplan.io.results import write_grid
from gridplan.station.config import load_config

NEIGHBOURHOODS = (
    "PORTLAND DOWNTOWN",
    "OLD TOWN COMMUNITY ASSOCIATION",
    "PEARL DISTRICT",
    "GOOSE HOLLOW FOOTHILLS LEAGUE",
)
GRID_YEARS = (2015, 2018)
METRIC_CRS = "EPSG:26910"  # NAD83 / UTM 10N, as the source README recommends


def build_station(source: Path) -> gpd.GeoDataFrame:
    hoods = gpd.read_file(source / "boundaries" / "portland_neighborhoods.geojson")
    study = gpd.read_file(source / "boundaries" / "study_area.geojson")
    chosen = hoods[hoods["NAME"].isin(NEIGHBOURHOODS)]
    missing = sorted(set(NEIGHBOURHOODS) - set(chosen["NAME"]))
    if missing:
        sys.exit(f"neighbourhood(s) not found in the source: {', '.join(missing)}")
    merged = (
        chosen.to_crs(METRIC_CRS).union_all().intersection(study.to_crs(METRIC_CRS).union_all())
    )
    if merged.geom_type != "Polygon":
        sys.exit(f"the neighbourhoods do not form one polygon ({merged.geom_type})")
    station = gpd.GeoDataFrame(
        {
            "id": ["S01"],
            "name": ["波特兰中心示范警务室 (Portland Central demo)"],
            "neighbourhoods": ["; ".join(sorted(chosen["NAME"]))],
            "area_km2": [round(merged.area / 1e6, 3)],
        },
        geometry=[merged],
        crs=METRIC_CRS,
    )
    return station.to_crs("EPSG:4326")


def build_incidents(source: Path, station: gpd.GeoDataFrame) -> pd.DataFrame:
    path = source / "incidents" / "portland_crime_central_2015_2021.csv.gz"
    table = pd.read_csv(path, dtype={"CaseNumber": "string", "OccurTime": "Int64"})
    points = gpd.GeoDataFrame(
        table,
        geometry=gpd.points_from_xy(table["OpenDataLon"], table["OpenDataLat"]),
        crs="EPSG:4326",
    )
    inside = points.to_crs(METRIC_CRS).within(station.to_crs(METRIC_CRS).geometry.iloc[0])
    return table[inside.to_numpy()].reset_index(drop=True)


def write_csv_gz(table: pd.DataFrame, path: Path) -> None:
    # mtime=0 keeps the gzip header, and so the file, identical across runs
    text = table.to_csv(index=False, lineterminator="\n")
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(text.encode("utf-8"))


def build_grid(incidents: pd.DataFrame, station: gpd.GeoDataFrame, config) -> gpd.GeoDataFrame:
    year = pd.to_numeric(incidents["occur_datetime"].str[:4], errors="coerce")
    recent = incidents[year.between(*GRID_YEARS)]
    points = gpd.GeoDataFrame(
        {"weight": [config.weight_for(c) for c in recent["OffenseCategory"]]},
        geometry=gpd.points_from_xy(recent["OpenDataLon"], recent["OpenDataLat"]),
        crs="EPSG:4326",
    )
    return generate_grid(station, incidents=points, shape="square", config=config, seed=0)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/work/shared/data/portland_central"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data")
    args = parser.parse_args(argv)
    source, out = args.source, args.out
    for sub in ("boundaries", "incidents", "streets"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    config = load_config(out / "station.toml")

    station = build_station(source)
    station_path = out / "boundaries" / "station.geojson"
    pyogrio.write_dataframe(
        station, station_path, driver="GeoJSON", layer_options={"RFC7946": "YES"}
    )

    incidents = build_incidents(source, station)
    incidents_path = out / "incidents" / "portland_station_incidents.csv.gz"
    write_csv_gz(incidents, incidents_path)

    grid = build_grid(incidents, station, config)
    grid_path = write_grid(grid, out / "boundaries" / "grid.geojson")
    # GeoPackages record their write time; a fixed one keeps the file byte-identical
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2024-01-01T00:00:00.000Z"})
    gpkg_path = write_grid(grid, out / "boundaries" / "grid.gpkg", three_layers=True)

    pbf = source / "streets" / "portland-central-filtered.osm.pbf"
    pbf_out = out / "streets" / pbf.name
    shutil.copyfile(pbf, pbf_out)

    report = io.StringIO()
    print(
        f"station: {station['area_km2'].iloc[0]} km², {station['neighbourhoods'].iloc[0]}",
        file=report,
    )
    year = incidents["occur_datetime"].str[:4]
    print(
        f"incidents: {len(incidents)} rows; by year {year.value_counts().sort_index().to_dict()}",
        file=report,
    )
    counts = grid["level"].value_counts().to_dict()
    balance = grid.attrs["balance"]
    print(f"grid: {counts}; workload max/min {balance['max_min_ratio']:.3f}", file=report)
    print(pd.DataFrame(balance["bases"]).T.to_string(), file=report)
    for path in (station_path, incidents_path, grid_path, gpkg_path, pbf_out):
        size_kb = path.stat().st_size / 1024
        print(f"{path.relative_to(out)}: {size_kb:.0f} KB sha256 {sha256(path)[:16]}", file=report)
    print(report.getvalue(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
