"""`gridplan serve`, the README's main command, answers on its port with waitress."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_the_ui_and_prints_the_url_and_demo_logins(web_store, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copyfile(web_store["database"], instance / "gridplan.sqlite")
    shutil.copyfile(web_store["instance"] / "demo-logins.txt", instance / "demo-logins.txt")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from gridplan.cli import main; main()",
            "serve",
            "--demo",
            "--port",
            str(port),
            "--instance",
            str(instance),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip().startswith("analyst"):
                break
        out = "".join(lines)
        assert f"http://localhost:{port}/" in out, out
        assert "admin" in out and "volunteer_lead" in out
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
                    body = r.read().decode()
                    assert r.status == 200 and r.headers["Server"] == "gridplan"
                    assert "csrf_token" in body
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not answer: " + out)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()
