"""A Dask client: on an existing scheduler, or on a local cluster of this machine."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gridplan._errors import GridplanError
from gridplan._errors import InputError

if TYPE_CHECKING:
    from distributed import Client

_INSTALL = "install them with: python3 -m pip install dask distributed dask-geopandas"


def require_dask() -> None:
    """Import dask, distributed and dask-geopandas, or say how to install them.

    Raises
    ------
    GridplanError
        If one of them is not installed.
    """
    try:
        import dask  # noqa: F401
        import dask_geopandas  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        msg = f"the city commands need dask, distributed and dask-geopandas ({exc}); {_INSTALL}"
        raise GridplanError(msg) from exc


@contextlib.contextmanager
def connect(scheduler: str | None = None, *, workers: int = 2) -> Iterator[Client]:
    """Yield a Dask client on ``scheduler``, or on a local cluster started for the block.

    Parameters
    ----------
    scheduler
        The address of a running ``dask scheduler`` (``tcp://HOST:8786``); ``None`` starts a
        :class:`distributed.LocalCluster` of ``workers`` processes with one thread each (the
        solver and Gi* hold the GIL) and closes it after the block.
    workers
        Worker processes of the local cluster.

    Raises
    ------
    InputError
        If the scheduler cannot be reached within 30 s.

    Examples
    --------
    >>> with connect(workers=2) as client:  # doctest: +SKIP
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    require_dask()
    from distributed import Client
    from distributed import LocalCluster

    if scheduler is None:
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(scheduler, timeout="30s")
    except OSError as exc:
        msg = (
            f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one with "
            "`dask scheduler` and check the address (tcp://HOST:8786)"
        )
        raise InputError(msg) from exc
    with client:
        yield client
