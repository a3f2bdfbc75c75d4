"""Dask distributed executors for sweeps (the optional extra: ``pip install 'rramsim[dask]'``).

``local_cluster(n)`` starts a ``LocalCluster`` of n single-threaded worker processes on this
machine; ``connect(address)`` uses a running scheduler, e.g. one started by dask-jobqueue on a
SLURM cluster (docs/sweeps.md). Either returns ``(executor, close)``.
"""

from __future__ import annotations

from rramsim.errors import InputError
from rramsim.experiments.runner import DaskExecutor, single_threaded_children


def local_cluster(n_workers: int, **kwargs):
    """A ``LocalCluster`` of ``n_workers`` processes, one thread each (numba and BLAS set to
    one thread too), and its client; returns ``(DaskExecutor, close)``."""
    from distributed import Client, LocalCluster

    with single_threaded_children():  # the worker processes inherit the environment
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, **kwargs)
    client = Client(cluster)

    def close():
        client.close()
        cluster.close()

    return DaskExecutor(client), close


def connect(address: str, timeout: float = 30.0):
    """A client of the running scheduler at ``address`` (``tcp://HOST:PORT``); returns
    ``(DaskExecutor, close)``. InputError if it cannot be reached within ``timeout`` s."""
    from distributed import Client

    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"--dask-scheduler {address}: cannot connect ({exc})") from None
    return DaskExecutor(client), client.close
