"""`gridplan serve`, the README's main command, answers on its port with waitress."""

import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from _web import PASSWORD


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("workers", "server"), [(1, "waitress"), (2, "gunicorn")])
def test_serve_starts_the_ui_and_prints_the_url_and_demo_logins(
    web_store, tmp_path, workers, server
):
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
            "--workers",
            str(workers),
            "--instance",
            str(instance),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Python's cookie jar sends Secure cookies over https only (browsers: also localhost)
        env={**os.environ, "PYTHONUNBUFFERED": "1", "GRIDPLAN_SESSION_COOKIE_SECURE": "false"},
    )
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("server:"):
                break
        out = "".join(lines)
        assert f"http://localhost:{port}/" in out, out
        assert "admin" in out and "volunteer_lead" in out
        assert f"server: {server}, {workers} process(es)" in out
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
                    body = r.read().decode()
                    assert r.status == 200 and "csrf_token" in body
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not answer: " + out)
        # logged in, a page that reads the store and renders a map answers from every worker
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://localhost:{port}"
        token = re.search(
            r'name="csrf_token" value="([^"]+)"', opener.open(base + "/login").read().decode()
        ).group(1)
        form = urllib.parse.urlencode(
            {
                "username": web_store["users"][("S02", "officer")],
                "password": PASSWORD,
                "csrf_token": token,
            }
        ).encode()
        opener.open(base + "/login", data=form)
        for _ in range(6):
            with opener.open(base + "/plans/") as r:
                assert r.status == 200 and "S02-B1-M001" in r.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()
