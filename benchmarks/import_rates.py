"""Incident time parsing benchmark: rows per second per date/time layout, and a whole import.

For each layout police and open-data exports write (ISO, slashes, a UTC offset after ISO or
slashes, two Chinese forms) it draws 1,000,000 random minutes of 2014-2018, formats them,
and times what :func:`gridplan.geo.incidents.import_incidents` does with a time column read
from a CSV: :func:`gridplan.geo._parse.parse_datetimes` on the text column, then
:func:`gridplan.geo._parse.localise` in the station's timezone. Every parsed instant is
checked against the one that was written (naive times are station time, times with an offset
that instant). Then it writes a 200,000-row CSV shaped like Toronto's open data
(``2014/03/02 05:00:00+00``) and times ``import_incidents`` end to end.

Target on a 2-core machine: >= 200,000 rows/s for every layout. The machine's load average
(``os.getloadavg``) is printed with the figures, since the machines here are shared.

Usage::

    python benchmarks/import_rates.py [--rows N] [--import-rows N] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gridplan.geo import _parse
from gridplan.geo.incidents import import_incidents
from gridplan.station.config import default_config

TARGET_ROWS_PER_S = 200_000
TIMEZONE = "America/Toronto"


def _parts(stamps: pd.DatetimeIndex) -> dict[str, pd.Index]:
    """Unpadded and zero-padded text of each field (strftime has no unpadded codes)."""
    out = {}
    for name in ("year", "month", "day", "hour", "minute"):
        values = pd.Index(getattr(stamps, name)).astype(str)
        out[name] = values
        out[name + "2"] = values.str.zfill(2)
    return out


def layouts(stamps: pd.DatetimeIndex) -> dict[str, tuple[pd.Index, pd.DatetimeIndex]]:
    """Layout name -> (the text written, the UTC instants it means in TIMEZONE)."""
    local = stamps.tz_localize(TIMEZONE, ambiguous=True, nonexistent="shift_forward")
    as_utc = local.tz_convert("UTC")
    in_utc = stamps.tz_localize("UTC")  # the same wall times, written as UTC
    in_cst = stamps.tz_localize("Asia/Shanghai").tz_convert("UTC")
    p = _parts(stamps)
    zh = p["year"] + "年" + p["month"] + "月" + p["day"] + "日 " + p["hour"] + "时"
    return {
        "iso 2014-03-02 05:00:00": (stamps.strftime("%Y-%m-%d %H:%M:%S"), as_utc),
        "slash 2014/03/02 05:00:00": (stamps.strftime("%Y/%m/%d %H:%M:%S"), as_utc),
        "offset 2014-03-02T05:00:00+08:00": (stamps.strftime("%Y-%m-%dT%H:%M:%S+08:00"), in_cst),
        "offset 2014/03/02 05:00:00+00": (stamps.strftime("%Y/%m/%d %H:%M:%S+00"), in_utc),
        "chinese 2014年3月2日 5时00分": (zh + p["minute2"] + "分", as_utc),
        "chinese 2014年03月02日 05:00": (stamps.strftime("%Y年%m月%d日 %H:%M"), as_utc),
    }


def time_layout(text: pd.Index, expected: pd.DatetimeIndex) -> dict:
    """Parse ``text`` as a CSV time column is parsed; return rows/s and the mismatches."""
    column = pd.Series(text, dtype=str)  # the dtype read_csv gives a text column
    t0 = time.perf_counter()
    parsed = _parse.parse_datetimes(column)
    utc = _parse.localise(parsed, TIMEZONE)
    seconds = time.perf_counter() - t0
    wrong = int((utc != expected.tz_localize(None).as_unit("ns").to_numpy()).sum())
    return {"rows": len(text), "seconds": round(seconds, 3), "rows_per_s": len(text) / seconds,
            "wrong": wrong}  # fmt: skip


def time_import(rows: int, rng: np.random.Generator) -> dict:
    """Write a Toronto-like CSV of ``rows`` rows and time ``import_incidents`` on it."""
    minutes = rng.integers(0, 5 * 365 * 24 * 60, rows).astype("timedelta64[m]")
    stamps = pd.DatetimeIndex(np.datetime64("2014-01-01T00:00") + minutes)
    frame = pd.DataFrame(
        {
            "event_unique_id": [f"GO-2014{k:07d}" for k in range(rows)],
            "occurrencedate": stamps.strftime("%Y/%m/%d %H:%M:%S+00"),
            "category": rng.choice(["Assault", "Break and Enter", "Robbery", "Auto Theft"], rows),
            "lon": np.round(-79.4 + rng.normal(0, 0.05, rows), 6),
            "lat": np.round(43.7 + rng.normal(0, 0.05, rows), 6),
        }
    )
    config = dataclasses.replace(default_config(), timezone=TIMEZONE)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "toronto.csv"
        frame.to_csv(path, index=False)
        t0 = time.perf_counter()
        result = import_incidents(path, config=config, columns={"time": "occurrencedate"})
        seconds = time.perf_counter() - t0
    expected = stamps.tz_localize("UTC").tz_convert(TIMEZONE)
    wrong = int((result.incidents["time"].to_numpy() != expected.to_numpy()).sum())
    return {"rows": rows, "kept": len(result.incidents), "seconds": round(seconds, 3),
            "rows_per_s": rows / seconds, "wrong": wrong}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; exit 1 if a layout misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per layout")
    parser.add_argument("--import-rows", type=int, default=200_000, help="rows of the CSV")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(14)
    minutes = rng.integers(0, 5 * 365 * 24 * 60, args.rows).astype("timedelta64[m]")
    stamps = pd.DatetimeIndex(np.datetime64("2014-01-01T00:00") + minutes)
    figures: dict = {"load_before": os.getloadavg(), "layouts": {}}
    for name, (text, expected) in layouts(stamps).items():
        figures["layouts"][name] = time_layout(text, expected)
    figures["import"] = time_import(args.import_rows, rng)
    figures["load_after"] = os.getloadavg()
    ok = all(
        f["rows_per_s"] >= TARGET_ROWS_PER_S and f["wrong"] == 0
        for f in figures["layouts"].values()
    )
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0 if ok else 1
    print(f"load average before: {', '.join(f'{x:.2f}' for x in figures['load_before'])}")
    for name, f in figures["layouts"].items():
        verdict = "PASS" if f["rows_per_s"] >= TARGET_ROWS_PER_S and not f["wrong"] else "FAIL"
        print(
            f"{name:<36} {f['rows']:>9,} rows {f['seconds']:>7.2f} s "
            f"{f['rows_per_s']:>12,.0f} rows/s  wrong {f['wrong']}  "
            f"(target {TARGET_ROWS_PER_S:,}: {verdict})"
        )
    imp = figures["import"]
    print(
        f"import_incidents, Toronto-like CSV: {imp['rows']:,} rows in {imp['seconds']:.2f} s "
        f"({imp['rows_per_s']:,.0f} rows/s), kept {imp['kept']:,}, wrong times {imp['wrong']}"
    )
    print(f"load average after: {', '.join(f'{x:.2f}' for x in figures['load_after'])}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
