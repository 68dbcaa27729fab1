"""Read what GDAL's own ``ogrinfo`` (Debian ``gdal-bin``) reports about a vector file.

Debian 12's GDAL 3.6 has no ``ogrinfo -json``, so the summary text (``-so -al``) is parsed:
per layer the geometry type, feature count, EPSG code of the layer CRS and field types.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

_FIELD = re.compile(r"^(?P<name>[^:=]+): (?P<type>\w+)(?:\((?P<sub>\w+)\))? \(\d+\.\d+\)")
_EPSG = re.compile(r'ID\["EPSG",(\d+)\]')


@dataclasses.dataclass(frozen=True)
class OgrLayer:
    """One layer as ogrinfo describes it."""

    name: str
    geometry: str
    count: int
    epsg: int | None
    fields: dict[str, str]


def ogrinfo(path: str | Path, *open_options: str) -> dict[str, OgrLayer]:
    """Run ``ogrinfo -ro -so -al`` on ``path`` and return its layers by name."""
    if shutil.which("ogrinfo") is None:
        pytest.skip("GDAL's ogrinfo is not installed (apt-get install gdal-bin)")
    cmd = ["ogrinfo", "-ro", "-so", "-al"]
    for opt in open_options:
        cmd += ["-oo", opt]
    done = subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"ogrinfo cannot open {path}: {done.stderr}"
    assert "ERROR" not in done.stderr, done.stderr
    layers = {}
    for block in done.stdout.split("\nLayer name: ")[1:]:
        lines = block.splitlines()
        info = dict(
            line.split(": ", 1)
            for line in lines
            if line.startswith(("Geometry:", "Feature Count:"))
        )
        srs = block.split("Layer SRS WKT:", 1)[1] if "Layer SRS WKT:" in block else ""
        codes = _EPSG.findall(srs.split("\n", 1)[1].split("\nData axis")[0]) if srs else []
        fields = {}
        for line in lines:
            m = _FIELD.match(line)
            if m and m["name"] not in ("Geometry", "Feature Count"):
                fields[m["name"]] = m["type"] + (f"({m['sub']})" if m["sub"] else "")
        layers[lines[0]] = OgrLayer(
            name=lines[0],
            geometry=info.get("Geometry", ""),
            count=int(info.get("Feature Count", "-1")),
            epsg=int(codes[-1]) if codes else None,
            fields=fields,
        )
    return layers
