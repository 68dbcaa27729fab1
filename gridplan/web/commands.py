"""``gridplan serve`` and ``gridplan users``: run the web UI and manage its logins.

Flask and the servers (gunicorn, waitress) are imported inside the commands, so the rest of the
command line starts without them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click


def _instance(path: Path | None) -> Path:
    """The instance folder: --instance, else $GRIDPLAN_INSTANCE, else ./instance."""
    if path is None:
        env = os.environ.get("GRIDPLAN_INSTANCE")
        path = Path(env) if env else Path.cwd() / "instance"
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _store(instance_path: Path | None):
    """The instance's store (created if new) for a command; errors end it with exit code 2."""
    from gridplan._errors import GridplanError
    from gridplan.web.db import connect
    from gridplan.web.db import init_store

    instance = _instance(instance_path)
    database = instance / "gridplan.sqlite"
    try:
        init_store(database)
        con = connect(database)
        try:
            yield instance, con
        finally:
            con.close()
    except GridplanError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


def _seed_if_empty(instance: Path, data_dir: Path | None) -> None:
    """Fill a new store with the demo station, atomically: a failed seed leaves no store."""
    from gridplan.web import demo
    from gridplan.web.db import init_store

    database = instance / "gridplan.sqlite"
    if database.exists():
        init_store(database)
        if demo.has_stations(database):
            return
        click.echo(f"{database} holds no station: adding the demo station")
    else:
        click.echo("first start: loading the demo station into a new store (about a minute)")
    tmp = instance / "gridplan.sqlite.seeding"
    for leftover in instance.glob("gridplan.sqlite.seeding*"):
        leftover.unlink()
    init_store(tmp)
    _seed_in_child(tmp, instance, data_dir)
    from gridplan.web.db import connect

    con = connect(tmp)
    try:  # fold the WAL into the file before moving it into place
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode = DELETE")
    finally:
        con.close()
    for side in ("-wal", "-shm"):
        Path(str(database) + side).unlink(missing_ok=True)
    tmp.replace(database)


def _seed_in_child(database: Path, instance: Path, data_dir: Path | None) -> None:
    """Seed the demo in a process of its own, so the server process stays clean.

    Seeding computes hot spots and plans (numba thread pools, OR-Tools, the solver's own
    worker processes). gunicorn forks its workers from the process that runs ``serve``, and
    a fork inherits thread pools and locks in whatever state they are in; a fresh process
    that exits before the fork leaves nothing behind.
    """
    import multiprocessing

    from gridplan._errors import GridplanError

    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    proc = ctx.Process(
        target=_seed_demo_process, args=(str(database), str(instance), data_dir, errors)
    )
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        msg = errors.get() if not errors.empty() else None
        raise GridplanError(
            msg or f"loading the demo station failed (exit code {proc.exitcode}); see above"
        )


def _seed_demo_process(database: str, instance: str, data_dir: Path | None, errors) -> None:
    from gridplan._errors import GridplanError
    from gridplan.web import demo

    try:
        demo.seed_demo(database, instance, data_dir=data_dir, say=click.echo)
    except GridplanError as exc:
        errors.put(str(exc))
        sys.exit(2)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--instance",
    "instance_path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Instance folder (store, session key, networks); default ./instance or "
    "$GRIDPLAN_INSTANCE.",
)
@click.option("--demo", is_flag=True, help="Load the bundled demo station on first start.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Server processes (default: one per core, 2 to 4, with gunicorn; 1 on Windows).",
)
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per process.")
def serve(host, port, instance_path, demo, data_dir, workers, threads):
    """Run the web UI with a production server (gunicorn, or waitress on Windows)."""
    from gridplan._errors import GridplanError
    from gridplan.web import create_app
    from gridplan.web import serving
    from gridplan.web.demo import read_logins

    instance = _instance(instance_path)
    try:
        if demo:
            _seed_if_empty(instance, data_dir)
        app = create_app(instance_path=str(instance))
    except GridplanError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    click.echo(f"gridplan web UI: http://{shown}:{port}/   (instance: {instance})")
    logins = read_logins(instance) if demo else []
    if logins:
        click.echo("demo logins (also in instance/demo-logins.txt):")
        for user, password, role in logins:
            click.echo(f"  {user:<8} {password:<14} {role}")
    if not app.config["SESSION_COOKIE_SECURE"]:
        click.echo("warning: session cookies are sent over plain HTTP", err=True)
    workers = workers or serving.default_workers()
    server = "gunicorn" if workers > 1 and serving.gunicorn_available() else "waitress"
    click.echo(f"server: {server}, {workers} process(es) x {threads} threads")
    serving.run(app, host=host, port=port, workers=workers, threads=threads)


@click.group("users")
def users() -> None:
    """Manage web UI logins."""


@users.command("add")
@click.argument("username")
@click.option("--station", "station_id", required=True, help="Station id, e.g. S01.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "officer", "volunteer_lead", "analyst"]),
)
@click.option("--team", "team_id", help="Roster id of a volunteer lead's team, e.g. V01.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path))
def users_add(username, station_id, role, team_id, display_name, password_stdin, instance_path):
    """Create a login for the web UI (the password is asked for, never given as an argument)."""
    from gridplan.web import store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with _store(instance_path) as (_instance_dir, con):
        store.add_user(
            con,
            username,
            password,
            station_id=station_id,
            role=role,
            team_id=team_id,
            display_name=display_name,
        )
        store.audit(con, "cli", station_id, "add_user", username, {"role": role})
    click.echo(f"user {username} ({role}) added to station {station_id}")


@click.group("stations")
def stations() -> None:
    """Manage the stations of the web UI's store."""


@stations.command("add")
@click.argument("config", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path))
def stations_add(config, instance_path):
    """Add a station from its TOML config ([station] id, name, phone; roster; slices)."""
    from gridplan.web import store

    text = _read_config(config)
    with _store(instance_path) as (_instance_dir, con):
        sid = store.add_station(con, text, source=str(config))
        store.audit(con, "cli", sid, "add_station", str(config))
    click.echo(
        f"station {sid} added; now add its admin: gridplan users add NAME --station {sid} "
        "--role admin"
    )


def _read_config(config: Path) -> str:
    """The station file's text (UTF-8, at most 1 MiB); a bad file ends the command (exit 2)."""
    from gridplan._errors import ConfigError
    from gridplan.station.config import read_config_text

    try:
        return read_config_text(config)
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


#: config tables whose change makes the stored hot spots stale
_HOTSPOT_TABLES = {"station", "crs", "time", "scoring", "hotspots"}


@stations.command("update")
@click.argument("config", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path))
def stations_update(config, instance_path):
    """Replace a station's configuration (roster, slices, weights, phone) with CONFIG.

    The station is the one of CONFIG's [station] id. Its grids, incidents and plans stay;
    hot spots are recomputed when slices, scoring or the timezone changed. Incidents keep the
    category weights they were imported with.
    """
    from gridplan.web import jobs
    from gridplan.web import store

    text = _read_config(config)
    with _store(instance_path) as (_instance_dir, con):
        sid, changed = store.update_station(con, text, source=str(config))
        store.audit(
            con, "cli", sid, "update_station", str(config), {"changed": ", ".join(changed) or "-"}
        )
        run_id = jobs.hotspot_job(con, sid, "cli") if _HOTSPOT_TABLES & set(changed) else None
    what = ", ".join(f"[{k}]" for k in changed) or "nothing"
    click.echo(f"station {sid} updated from {config.name}: changed {what}")
    if run_id is not None:
        click.echo(f"hot spots recomputed with the new configuration (run {run_id})")


@stations.command("network")
@click.argument("station_id")
@click.argument("network", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path))
def stations_network(station_id, network, instance_path):
    """Plan the station's patrols over NETWORK (a file of `gridplan network build`).

    The file is copied into the instance folder, so the store never depends on a path
    elsewhere; earlier networks stay, plans made on them keep their fingerprint.
    """
    import shutil

    from gridplan._errors import GridplanError
    from gridplan.network.graphs import load_network
    from gridplan.web import store

    with _store(instance_path) as (instance, con):
        if store.get_station(con, station_id) is None:
            known = [r[0] for r in con.execute("SELECT id FROM stations ORDER BY id")]
            msg = f"station {station_id!r} is unknown; stations in the store: {known}"
            raise GridplanError(msg)
        net = load_network(network)
        target = instance / "networks" / f"{station_id}-{net.fingerprint[:12]}.gpkg"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(network, target)
        store.add_network(
            con, station_id, str(target), fingerprint=net.fingerprint, source=network.name
        )
        store.audit(con, "cli", station_id, "add_network", network.name)
    click.echo(f"station {station_id} now plans over {network.name} ({target})")
