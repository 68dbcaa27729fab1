"""Every hostile corpus file through every command-line reader of its kind (tests/_hostile.py).

What a station needs from each: no internal error (exit 3), no Python traceback without
``--debug``, a refused file named in a one-line message, and every good row of a partly
broken table kept while the others are rejected with row and reason.

Bombs and hangs (``heavy``) run as real ``gridplan`` processes under an address-space limit
and a generous timeout, so a regression fails the test instead of taking the machine; the
rest run in-process through Click's runner (the same code, a second each instead of an
interpreter start each). The read limits are lowered through their environment variables
(as a user would) so that the row, vertex and time limits are reached quickly; their
defaults are tested in ``tests/io/test_limits.py``. ``benchmarks/hostile_corpus.py`` prints the
time and memory of each file.
"""

from __future__ import annotations

import json

import pytest
from _hostile import LIMITS_ENV
from _hostile import build_corpus
from _hostile import cases
from _hostile import commands
from _hostile import run_guarded
from click.testing import CliRunner

from gridplan.cli import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return {case.name: (case, path) for case, path in build_corpus(folder)}


def _limits_env(monkeypatch) -> None:
    for key, value in LIMITS_ENV.items():
        monkeypatch.setenv(key, value)


def _run_inline(args, monkeypatch) -> tuple[int, str, str]:
    _limits_env(monkeypatch)
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an exception the CLI let through: the bug itself
    return result.exit_code, result.stdout, result.stderr


def check_outcome(case, path, code: int, out: str, err: str, args) -> None:
    """What every corpus file must give: see the module docstring."""
    said = f"gridplan {' '.join(map(str, args))} -> exit {code}\n{out}\n{err}"
    assert code != 3, said
    assert "Traceback" not in out + err, said
    assert code in (0, 1, 2), said
    if case.expect == "refused":
        assert code in (1, 2), said
        if code == 2:
            assert path.name in err or "Usage" in err, said
    if case.expect in ("ok", "partial") and args[0] == "incidents":
        assert code == 0, said
        summary = json.loads(out)
        assert summary["kept"] + summary["rejected"] <= summary["rows_read"], said
        if case.kept is not None:
            assert summary["kept"] == case.kept, said
        if case.rejected is not None:
            assert summary["rejected"] == case.rejected, said
        if summary["rejected"]:
            assert (path.parent / "out").exists() or summary["rejects_file"], said


LIGHT = [c for c in cases() if not c.heavy]
HEAVY = [c for c in cases() if c.heavy]


def test_the_corpus_is_large_and_covers_every_reader():
    assert len(cases()) >= 80
    assert {c.kind for c in cases()} == {"incidents", "grid", "lines", "osm", "config", "plan"}


@pytest.mark.parametrize("case", LIGHT, ids=[c.name for c in LIGHT])
def test_a_hostile_file_through_the_cli(case, corpus, tmp_path, monkeypatch):
    _, path = corpus[case.name]
    for args in commands(case.kind, path, tmp_path):
        code, out, err = _run_inline(args, monkeypatch)
        check_outcome(case, path, code, out, err, args)


@pytest.mark.parametrize("case", HEAVY, ids=[c.name for c in HEAVY])
def test_a_bomb_or_hang_through_the_cli_process(case, corpus, tmp_path):
    _, path = corpus[case.name]
    for args in commands(case.kind, path, tmp_path):
        run = run_guarded(args)
        assert not run.timed_out, f"gridplan {args} still ran after {run.seconds:.0f} s"
        code, out, err = run.code, run.out, run.err
        check_outcome(case, path, code, out, err, args)
