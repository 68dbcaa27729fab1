"""The hostile corpus through every command-line reader: time and peak memory per file.

Builds the corpus of ``tests/_hostile.py`` (broken encodings, impossible values, compression
bombs, a GeoPackage view that never ends, external entities, paths leading out of their
folder, ...) and runs each file through each ``gridplan`` command that reads a file of its
kind, as its own process under a 3 GB address-space limit, with the read limits the tests use
(``tests/_hostile.LIMITS_ENV``; ``--default-limits`` runs the shipped defaults instead).

Targets (issue 16): no exit 3 (internal error), no traceback, nothing over 30 s or 1 GB. The
machine's load average is printed with the figures: the machines here are shared.

Usage::

    python benchmarks/hostile_corpus.py [--only NAME ...] [--default-limits] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _hostile import LIMITS_ENV
from _hostile import build_corpus
from _hostile import commands
from _hostile import run_guarded

TARGET_S = 30.0
TARGET_BYTES = 1024**3


def main(argv: list[str] | None = None) -> int:
    """Run the corpus; print one line per command and file, then the worst figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="Corpus file names to run (default: all).")
    parser.add_argument("--default-limits", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    env = {k: "" for k in LIMITS_ENV} if args.default_limits else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for case, path in build_corpus(folder / "corpus"):
            if args.only and case.name not in args.only:
                continue
            for command in commands(case.kind, path, folder):
                run = run_guarded(command, env=env)
                rows.append(
                    {
                        "file": case.name,
                        "kind": case.kind,
                        "command": " ".join(map(str, command[:2])),
                        "exit": run.code,
                        "seconds": round(run.seconds, 2),
                        "peak_mb": round(run.peak_rss / 1024**2),
                        "traceback": "Traceback" in run.out + run.err,
                        "timed_out": run.timed_out,
                        "message": (run.err.strip().splitlines() or [""])[-1][:160],
                    }
                )
                if not args.json:
                    r = rows[-1]
                    print(
                        f"{r['file']:<34} {r['command']:<18} exit {r['exit']:>3} "
                        f"{r['seconds']:>6.1f} s {r['peak_mb']:>5} MB  {r['message'][:70]}"
                    )
    summary = _summary(rows)
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, ensure_ascii=False, indent=1))
    else:
        print(json.dumps(summary, indent=1))
    return 0 if summary["ok"] else 1


def _summary(rows: list[dict]) -> dict:
    worst_s = max(rows, key=lambda r: r["seconds"])
    worst_mb = max(rows, key=lambda r: r["peak_mb"])
    bad = [r for r in rows if r["exit"] == 3 or r["traceback"] or r["timed_out"]]
    return {
        "files": len({r["file"] for r in rows}),
        "runs": len(rows),
        "internal_errors_or_tracebacks": len(bad),
        "max_seconds": worst_s["seconds"],
        "max_seconds_file": worst_s["file"],
        "max_peak_mb": worst_mb["peak_mb"],
        "max_peak_file": worst_mb["file"],
        "load_average_1min": round(os.getloadavg()[0], 2),
        "ok": not bad
        and worst_s["seconds"] <= TARGET_S
        and worst_mb["peak_mb"] * 1024**2 <= TARGET_BYTES,
    }


if __name__ == "__main__":
    sys.exit(main())
