"""A real Dask cluster on 127.0.0.1 for the city tests: builders, not tests.

:func:`start_cluster` starts ``dask scheduler`` and ``dask worker`` processes (no nanny, so
killing a worker's process kills the worker and nothing restarts it) on free ports, with this
checkout first on ``PYTHONPATH`` so that the workers import the gridplan under test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment() -> dict[str, str]:
    """The environment of the cluster's and the CLI's processes: this checkout importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@dataclasses.dataclass
class Cluster:
    """A scheduler's address and its worker processes, by name."""

    address: str
    workers: dict[str, subprocess.Popen]

    def kill(self, name: str) -> None:
        """Kill one worker's process at once (SIGKILL: no goodbye to the scheduler)."""
        self.workers[name].send_signal(signal.SIGKILL)
        self.workers[name].wait(timeout=30)


def _dask(*args: str, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dask", *args]  # `dask scheduler`, `dask worker`
    with log.open("wb") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=environment())


def _wait_for_workers(address: str, n: int, *, timeout_s: float = 60.0) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:  # the scheduler answers
        if n:
            client.wait_for_workers(n, timeout=timeout_s)


@contextlib.contextmanager
def start_cluster(folder: Path, *, workers: int = 2) -> Iterator[Cluster]:
    """Start a scheduler and ``workers`` single-threaded workers (0: a scheduler alone); stop
    them after the block."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        _dask(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
            log=folder / "scheduler.log",
        )
    ]
    cluster = Cluster(address, {})
    try:
        time.sleep(1.0)
        for k in range(1, workers + 1):
            name = f"w{k}"
            cluster.workers[name] = _dask(
                "worker",
                address,
                "--name",
                name,
                "--nthreads",
                "1",
                "--no-nanny",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--local-directory",
                str(folder / name),
                log=folder / f"{name}.log",
            )
        procs += cluster.workers.values()
        _wait_for_workers(address, workers)
        yield cluster
    finally:
        for proc in procs:  # the workers at once (nothing of theirs is kept), then the scheduler
            if proc.poll() is None:
                proc.kill() if proc in cluster.workers.values() else proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
