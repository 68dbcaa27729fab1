"""Tests guard the shipped defaults: a test may override a production setting only if another
test runs that setting's default.

The web tests make the app faster and quieter (jobs inline, one solver worker, one second per
slice), which once hid that every plan made with the shipped settings failed. This file reads
every test module, finds each web setting a test or fixture overrides (``create_app({...})``,
``app.config["X"] = ...``, ``GRIDPLAN_X`` in an environment), and checks that the test named
in :data:`RUNS_DEFAULT` exists and runs with that setting untouched, through its own body and
every fixture it uses.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

TESTS = Path(__file__).parent

QUICKSTART = "test_quickstart.py::test_an_officer_plans_pins_excludes_replans_and_prints"

#: setting -> a test that runs its shipped default (with what it checks of it)
RUNS_DEFAULT = {
    # the whole officer path under `gridplan serve --demo`: jobs in job processes, every
    # core for the solver, 10 s per slice, the default tiles and cookie flags
    "JOBS_INLINE": QUICKSTART,
    "PLAN_WORKERS": QUICKSTART,
    "PLAN_TIME_LIMIT_S": QUICKSTART,
    "SESSION_COOKIE_SECURE": QUICKSTART,
    "TILES": QUICKSTART,
    "LOGIN_RATE_LIMIT": "web/test_app.py::test_the_shipped_login_limits",
    "LOGIN_RATE_LIMIT_PER_USER": "web/test_app.py::test_the_shipped_login_limits",
    "LOGIN_RATE_LIMIT_PER_ADDRESS": "web/test_app.py::test_the_shipped_login_limits",
    "PENDING_UPLOAD_MAX_AGE_S": "web/test_imports.py::test_a_forged_or_foreign_token_is_refused",
    "MAX_CONTENT_LENGTH": "test_defaults.py::test_the_shipped_upload_limit",
    # a gzip bomb through the dispatcher and a real job process, every read limit as shipped
    **dict.fromkeys(
        (
            "IMPORT_MAX_MB",
            "IMPORT_MAX_ROWS",
            "IMPORT_MAX_CELLS",
            "IMPORT_MAX_VERTICES",
            "IMPORT_MAX_RATIO",
            "IMPORT_TIME_LIMIT_S",
            "IMPORT_MEMORY_MB",
            "IMPORT_SLOTS",
        ),
        "web/test_importjob.py::test_a_gzip_bomb_ends_in_its_job_process_with_the_shipped_settings",
    ),
    "JOB_LEASE_S": "web/test_jobs.py::"
    "test_a_job_whose_process_stops_beating_is_interrupted_within_the_lease",
    "PROXY_COUNT": "web/test_security.py::test_x_forwarded_for_is_ignored_without_a_proxy_setting",
    # no cluster: plans in the server's job process, the cluster's code never called
    "DASK_SCHEDULER": "web/test_cluster_jobs.py::"
    "test_without_the_setting_plans_run_in_the_servers_job_process_as_before",
    # two officers' plans at once on a real cluster, with the shipped slots and timeout
    **dict.fromkeys(
        ("DASK_PLAN_SLOTS", "DASK_CONNECT_TIMEOUT_S"),
        "web/test_cluster_jobs.py::test_two_officers_plans_run_at_once_on_the_cluster_and_both_land",
    ),
    # the route walk posts hostile values without tokens; this test runs the shipped CSRF check
    "WTF_CSRF_ENABLED": "web/test_app.py::test_forms_without_a_csrf_token_are_refused",
}

#: settings that say where things are or put Flask in test mode, not how gridplan behaves
NOT_BEHAVIOUR = {
    "TESTING": "Flask's test mode (exceptions propagate to the test client)",
    "DATABASE": "where the store is: each test gets its own copy",
    "DATABASE_URL": "where the store is, as a URL (tests pass DATABASE on either back-end)",
    "SECRET_KEY": "the session key: made at random on first start in production",
    "NOTEBOOK_OUT": "where the notebooks write (GRIDPLAN_NOTEBOOK_OUT), not a web setting",
    "INSTANCE": "where the instance folder is (GRIDPLAN_INSTANCE)",
}


def _keys_set_in(node: ast.AST) -> set[str]:
    """Settings ``node`` overrides: create_app dicts, config[...] =, GRIDPLAN_ env keys."""
    keys: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and getattr(sub.func, "id", "") == "create_app":
            for arg in sub.args[:1]:
                if isinstance(arg, ast.Dict):
                    keys |= {k.value for k in arg.keys if isinstance(k, ast.Constant)}
        elif isinstance(sub, ast.Assign):
            for target in sub.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and getattr(target.value, "attr", "") == "config"
                    and isinstance(target.slice, ast.Constant)
                ):
                    keys.add(target.slice.value)
        elif (
            isinstance(sub, ast.Constant)
            and isinstance(sub.value, str)
            and sub.value.startswith("GRIDPLAN_")
            and sub.value[9:].isupper()
        ):
            keys.add(sub.value[len("GRIDPLAN_") :])
    return keys


@cache
def _functions() -> dict[str, dict[str, ast.FunctionDef]]:
    """Every module's top-level functions (tests and fixtures), by path under ``tests/``."""
    out = {}
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        out[path.relative_to(TESTS).as_posix()] = functions
    return out


def _fixture(name: str, module: str) -> ast.FunctionDef | None:
    for where in (module, "conftest.py"):
        fn = _functions().get(where, {}).get(name)
        if fn is not None and any("fixture" in ast.unparse(d) for d in fn.decorator_list):
            return fn
    return None


def _overrides(fn: ast.FunctionDef, module: str, seen: frozenset = frozenset()) -> set[str]:
    """Settings ``fn`` overrides itself or through the fixtures it asks for."""
    keys = _keys_set_in(fn)
    for arg in fn.args.args:
        fixture = _fixture(arg.arg, module)
        if fixture is not None and arg.arg not in seen:
            keys |= _overrides(fixture, module, seen | {arg.arg})
    return keys


def _all_overridden() -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for module, fns in _functions().items():
        for name, fn in fns.items():
            for key in _keys_set_in(fn):
                where.setdefault(key, []).append(f"{module}::{name}")
    return where


def test_every_overridden_setting_has_a_test_that_runs_its_default():
    missing = {
        key: sites
        for key, sites in _all_overridden().items()
        if key not in RUNS_DEFAULT and key not in NOT_BEHAVIOUR
    }
    assert missing == {}, (
        "these tests override production settings that no test runs with the shipped value; "
        "add a test that runs the default and name it in RUNS_DEFAULT"
    )


def test_each_named_test_exists_and_leaves_its_setting_at_the_default():
    for key, test_id in RUNS_DEFAULT.items():
        module, name = test_id.split("::")
        fn = _functions().get(module, {}).get(name)
        assert fn is not None, f"{key}: {test_id} does not exist"
        assert key not in _overrides(fn, module), f"{test_id} overrides {key}"


def test_the_scanner_sees_fixture_overrides():
    """The check itself: ``web_app`` (conftest) makes plans inline with one worker."""
    jobs = _functions()["web/test_jobs.py"]
    fn = jobs["test_the_store_is_the_queue_one_claim_per_job_and_slots_per_kind"]
    assert {"JOBS_INLINE", "PLAN_WORKERS"} <= _overrides(fn, "web/test_jobs.py")


def test_the_shipped_upload_limit(web_app, web_store):
    """50 MB: a request over it (a 50 MB file and its form) is refused with 413 unread."""
    from _web import login
    from _web import post_upload

    assert web_app.config["MAX_CONTENT_LENGTH"] == 50 * 1024 * 1024
    client = web_app.test_client()
    login(client, web_store["users"][("S02", "officer")])
    resp = post_upload(client, "incidents", "big.csv", b"x" * (50 << 20))
    assert resp.status_code == 413
