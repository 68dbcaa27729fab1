"""Open layers in real QGIS (Debian's python3-qgis) and report how they would be drawn.

QGIS's Python bindings belong to Debian's own ``/usr/bin/python3``, not to the interpreter
running the tests, so the layers are opened in a subprocess that prints JSON. Tests skip
when QGIS is not installed (the README's test command installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

QGIS_PYTHON = "/usr/bin/python3"

_SCRIPT = r"""
import json, os, sys
from qgis.core import QgsApplication, QgsVectorLayer

app = QgsApplication([], False)
app.initQgis()
out = {}
for uri in json.loads(sys.argv[1]):
    layer = QgsVectorLayer(uri, "layer", "ogr")
    info = {"valid": layer.isValid()}
    if layer.isValid():
        r = layer.renderer()
        info.update(
            count=layer.featureCount(),
            crs=layer.crs().authid(),
            renderer=r.type(),
            labels=layer.labelsEnabled(),
            label=layer.labeling().settings().fieldName if layer.labelsEnabled() else None,
        )
        if r.type() == "categorizedSymbol":
            info["attribute"] = r.classAttribute()
            info["categories"] = [
                [str(c.value()), c.label(), c.symbol().color().name()] for c in r.categories()
            ]
        elif r.type() == "RuleRenderer":
            def walk(rule):
                return {
                    "label": rule.label(),
                    "filter": rule.filterExpression(),
                    "active": rule.active(),
                    "colour": rule.symbol().color().name() if rule.symbol() else None,
                    "children": [walk(c) for c in rule.children()],
                }
            info["rules"] = [walk(c) for c in r.rootRule().children()]
        elif r.type() == "singleSymbol":
            info["colour"] = r.symbol().color().name()
            info["symbol"] = r.symbol().symbolLayer(0).layerType()
    out[uri] = info
    del layer
print("QGISJSON" + json.dumps(out))
sys.stdout.flush()
os._exit(0)  # QgsApplication.exitQgis() can crash on teardown in offscreen mode
"""


def qgis_layers(*uris: str | Path) -> dict[str, dict]:
    """How QGIS opens each layer URI (``file.gpkg|layername=x`` or a file path)."""
    if not Path(QGIS_PYTHON).exists() or shutil.which("ogrinfo") is None:
        pytest.skip("QGIS is not installed (apt-get install python3-qgis)")
    probe = subprocess.run(
        [QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("QGIS's Python bindings are not installed (apt-get install python3-qgis)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": "/tmp"}
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    done = subprocess.run(
        [QGIS_PYTHON, "-c", _SCRIPT, json.dumps([str(u) for u in uris])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("QGISJSON")), None)
    assert line is not None, f"QGIS failed: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(line[len("QGISJSON") :])
