"""One officer's plan on a Dask cluster: the web UI's plan job computed on a worker.

The machine that asks (the web server's job process) reads every input itself and sends them
with the task as one :class:`PlanInputs` (grid, hot spots, street network, station config,
request, solver settings): a worker needs no store and no file of the station, so it may be
another machine, whatever the store. The task (:func:`plan_task`) plans with one search
process (a Dask worker's process may not start processes of its own, and the cluster's
workers are the parallelism) and sends its progress as events of the topic
:data:`PROGRESS_TOPIC`; :func:`plan_on_cluster` waits for the result, passes the newest
progress on, and saves nothing: the caller stores the plan, so a plan is stored whole, by the
server, in one transaction.

What Dask does and does not do for it:

- a worker lost mid-task (killed, its machine gone) makes the scheduler run the task again on
  another worker, up to ``distributed.scheduler.allowed-failures`` times (default 3); after
  that the plan fails with :class:`ClusterLostError`;
- a failure of the plan itself (a request the station's roster no longer fits) is not run
  again: it comes back as the :class:`~gridplan.GridplanError` the planner raised, with its
  message;
- cancelling (``stopped()`` turns true) releases the task: one that has not started never
  runs, but one already running on a worker runs to its end there (Dask cannot stop a
  running Python function); its result is dropped.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any

from gridplan._errors import GridplanError
from gridplan._messages import Message
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.city.cluster import require_dask

if TYPE_CHECKING:
    from distributed import Client

    from gridplan.routing.plan import PatrolPlan

#: the event topic of plan tasks' progress: ``[tag, stage, done, total]`` (one topic for
#: every plan: the scheduler keeps a bounded log per topic, so tags come and go freely)
PROGRESS_TOPIC = "gridplan-plan-progress"


class ClusterError(GridplanError):
    """The Dask cluster could not compute a plan; ``address`` is the scheduler's."""

    def __init__(self, msg: str, *, address: str):
        super().__init__(msg)
        self.address = address


class ClusterUnreachableError(ClusterError):
    """No connection to the scheduler within the timeout."""


class ClusterNoWorkersError(ClusterError):
    """The scheduler answered but has no worker to run the plan."""


class ClusterLostError(ClusterError):
    """The task was lost: its workers died too often, or the scheduler went away."""


class PlanCancelledError(GridplanError):
    """The plan was cancelled while it waited for the cluster."""


@dataclasses.dataclass(frozen=True, eq=False)
class PlanInputs:
    """Everything one plan is made from, read on the machine that asks for it.

    Attributes
    ----------
    grid, hotspots
        The station's grid and hot spots (GeoDataFrames of the store).
    network
        The station's :class:`~gridplan.network.graphs.StreetNetwork`, or ``None`` for
        straight lines.
    config
        The station's :class:`~gridplan.station.config.StationConfig`.
    request
        The officer's :class:`~gridplan.routing.request.PlanRequest` (with its alerts and
        feedback).
    solve
        The solver's :class:`~gridplan.routing.solver.SolveParams`; the task searches with
        one process whatever its ``workers``.
    """

    grid: Any
    hotspots: Any
    network: Any
    config: Any
    request: Any
    solve: Any


@dataclasses.dataclass(frozen=True)
class _Failed:
    """A plan that failed on the worker as a :class:`GridplanError`, sent back as values.

    Exceptions travel by pickle, and gridplan's errors with constructors of their own (a
    request's list of problems) do not come back whole; their message does.
    """

    message: dict | None
    text: str

    def error(self) -> GridplanError:
        if self.message is not None:
            try:
                return GridplanError(Message.from_dict(self.message))
            except (LookupError, KeyError, TypeError, ValueError):
                pass  # a message this side does not know: its English text
        return GridplanError(self.text)


def plan_task(inputs: PlanInputs, tag: str) -> PatrolPlan | _Failed:
    """Plan ``inputs`` on a Dask worker, sending progress as events tagged ``tag``.

    The task :func:`plan_on_cluster` submits. A :class:`GridplanError` is returned as a
    :class:`_Failed` rather than raised (see there).
    """
    from distributed import get_worker

    from gridplan.routing.planner import plan_patrols

    worker = get_worker()

    def progress(stage: str, done: int, total: int) -> None:
        worker.log_event(PROGRESS_TOPIC, [tag, stage, int(done), int(total)])

    # one search process: a worker's process may be a daemon, which starts no processes
    solve = dataclasses.replace(inputs.solve, workers=1)
    try:
        return plan_patrols(
            inputs.grid,
            inputs.hotspots,
            inputs.network,
            inputs.config,
            inputs.request,
            params=solve,
            progress=progress,
        )
    except GridplanError as exc:
        found = exc.message
        return _Failed(message=found.to_dict() if found is not None else None, text=str(exc))


def open_client(address: str, *, timeout_s: float) -> Client:
    """Connect to the scheduler at ``address`` and wait until it has a worker.

    Raises
    ------
    ClusterUnreachableError
        If the scheduler does not answer within ``timeout_s`` seconds.
    ClusterNoWorkersError
        If it has no worker within ``timeout_s`` seconds.
    """
    require_dask()
    from distributed import Client

    try:
        client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
    except OSError as exc:  # refused, unknown host, timed out (TimeoutError is an OSError)
        msg = (
            f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s ({exc}); "
            "start it (`dask scheduler`) or correct the address (tcp://HOST:8786)"
        )
        raise ClusterUnreachableError(msg, address=address) from exc
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except TimeoutError as exc:
        client.close()
        msg = (
            f"the Dask scheduler at {address} has no worker after {timeout_s:g} s; start "
            f"workers with `dask worker {address}`"
        )
        raise ClusterNoWorkersError(msg, address=address) from exc
    return client


def plan_on_cluster(
    inputs: PlanInputs,
    address: str,
    *,
    tag: str,
    timeout_s: float = 10.0,
    progress: ProgressCallback | None = None,
    stopped: Callable[[], bool] | None = None,
    poll_s: float = 1.0,
) -> PatrolPlan:
    """Compute one plan on the cluster of scheduler ``address`` and return it.

    Parameters
    ----------
    inputs
        What the plan is made of (sent with the task).
    address
        The scheduler, ``tcp://HOST:8786``.
    tag
        A name unique to this plan (the task's key and its progress events' tag).
    timeout_s
        Seconds to wait for the scheduler to answer, and then for a worker.
    progress
        Receives the task's ``(stage, done, total)`` as it goes, here, in this thread.
    stopped
        Asked every ``poll_s`` seconds; when true the task is cancelled and
        :class:`PlanCancelledError` raised.
    poll_s
        Seconds between two looks at the task.

    Returns
    -------
    PatrolPlan

    Raises
    ------
    ClusterUnreachableError, ClusterNoWorkersError
        If the cluster cannot take the plan (see :func:`open_client`).
    ClusterLostError
        If the task's workers died ``allowed-failures`` times, or the scheduler went away.
    PlanCancelledError
        If ``stopped()`` turned true.
    GridplanError
        The planner's own error (a request the station no longer fits ...).

    Examples
    --------
    >>> plan = plan_on_cluster(inputs, "tcp://10.0.0.5:8786", tag="plan-7")  # doctest: +SKIP
    """
    from distributed import CancelledError
    from distributed import KilledWorker

    client = open_client(address, timeout_s=timeout_s)
    latest: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    def on_event(event) -> None:  # in the client's event loop thread: keep, do not report
        _when, msg = event
        if msg and msg[0] == tag:
            with lock:
                latest[:] = [(str(msg[1]), int(msg[2]), int(msg[3]))]

    try:
        client.subscribe_topic(PROGRESS_TOPIC, on_event)
        future = client.submit(plan_task, inputs, tag, key=tag, pure=False)
        shown = None
        while True:
            try:
                found = future.result(timeout=poll_s)
                break
            except TimeoutError:
                pass
            with lock:
                now = latest[0] if latest else None
            if now is not None and now != shown:
                shown = now
                report(progress, *now)
            if stopped is not None and stopped():
                future.cancel()
                raise PlanCancelledError(f"plan {tag} was cancelled")
        # the worker sent its last progress before the result, on the same stream: the
        # scheduler has it now, though this client's subscription may not have seen it yet
        last = _last_progress(client, tag)
        if last is not None and last != shown:
            report(progress, *last)
    except KilledWorker as exc:
        msg = f"the workers running plan {tag} died too often ({exc}); start it again"
        raise ClusterLostError(msg, address=address) from exc
    except CancelledError as exc:
        msg = f"the Dask scheduler at {address} lost plan {tag} ({exc}); start it again"
        raise ClusterLostError(msg, address=address) from exc
    finally:
        client.close()
    if isinstance(found, _Failed):
        raise found.error()
    return found


def _last_progress(client: Client, tag: str) -> tuple[str, int, int] | None:
    """Return the newest progress event of ``tag`` the scheduler holds, or ``None``."""
    for _when, msg in reversed(client.get_events(PROGRESS_TOPIC)):
        if msg and msg[0] == tag:
            return str(msg[1]), int(msg[2]), int(msg[3])
    return None
