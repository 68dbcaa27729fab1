"""`gridplan city plan` on a real Dask cluster: a scheduler and two workers on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _dask import environment
from _dask import start_cluster

from gridplan.io.planfile import load_plan

DATE = "2025-06-14"
CLI = [sys.executable, "-c", "from gridplan.cli import main; main()"]


@pytest.fixture
def cluster(tmp_path):
    with start_cluster(tmp_path / "dask") as running:
        yield running


def _plan_cmd(city: Path, out: Path, address: str | None, *extra: str) -> list[str]:
    """The command line of ``gridplan city plan`` (``address`` None: a local cluster)."""
    where = ["--scheduler", address] if address else []
    return [
        *CLI,
        "city",
        "plan",
        str(city),
        "--date",
        DATE,
        "--time-limit",
        "1",
        *where,
        "--out",
        str(out),
        *extra,
    ]


def _processing(address: str) -> dict[str, tuple]:
    """Worker name -> the tasks the scheduler has it working on."""
    from distributed import Client

    with Client(address, timeout="10s") as client:
        info = client.scheduler_info()["workers"]
        busy = client.processing()
        return {str(v["name"]): tuple(busy.get(addr, ())) for addr, v in info.items()}


def _wait_until_w1_works(address: str, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and proc.poll() is None:
        if _processing(address).get("w1"):
            return
        time.sleep(0.2)
    pytest.fail("worker w1 never got a station to plan")


def test_a_worker_killed_mid_run_loses_no_plan_and_leaves_no_half_plan(city, cluster, tmp_path):
    out = tmp_path / "plans"
    proc = subprocess.Popen(
        _plan_cmd(city, out, cluster.address, "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    _wait_until_w1_works(cluster.address, proc)
    time.sleep(1.0)  # into the station's planning
    assert _processing(cluster.address).get("w1"), "w1 finished before it could be killed"
    cluster.kill("w1")
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["plans"] == 4 and summary["failed"] == 0, summary
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [f"C0{k}/{DATE}.plan.json" for k in range(1, 5)]  # no temporary file left
    for k in range(1, 5):
        plan = load_plan(out / f"C0{k}" / f"{DATE}.plan.json")
        assert plan.station_id == f"C0{k}" and plan.date.isoformat() == DATE
        assert plan.is_feasible(), plan.violations()
        assert sum(len(r.stops) for s in plan.slices for r in s.routes) > 0, f"C0{k}: no stop"


def test_a_failing_station_is_listed_and_the_others_are_planned(city, tmp_path):
    """On a local cluster (no --scheduler): two worker processes of this machine."""
    broken = city.with_name("broken-city.toml")  # beside the city: same relative paths
    text = city.read_text(encoding="utf-8")
    broken.write_text(text.replace('config = "C02/', 'config = "C03/'), encoding="utf-8")
    out = tmp_path / "plans"
    cmd = _plan_cmd(
        broken, out, None, "--stations", "C01,C02", "--retries", "1", "--slices", "night"
    )
    done = subprocess.run(cmd, capture_output=True, text=True, env=environment(), timeout=240)
    assert done.returncode == 1, done.stderr
    assert "1 of 2 plans written" in done.stdout
    assert "C02: FAILED InputError" in done.stdout and "station.id is 'C03'" in done.stdout
    assert "[2/2] plan C02: failed" in done.stderr or "[1/2] plan C02: failed" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["C01"]
