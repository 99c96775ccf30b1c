"""Where Dask-parallel steps run: local threads, a ``dask.distributed`` scheduler, or SLURM workers.

The ``dask`` config section (``src/hrtem/schemas/sections/dask.schema.yaml``)
chooses it for the steps that build Dask graphs of independent tasks (the image
ensembles of :mod:`hrtem.simulate.ensemble` and their strain measurement,
:func:`hrtem.strain.accuracy.measure_ensemble`):

``scheduler: null`` (or ``threads``)
    the local threaded scheduler with the rule's ``threads`` workers (default);
``scheduler: tcp://host:8786``
    an existing ``dask.distributed`` scheduler (``dask scheduler`` plus
    ``dask worker`` processes started by you, on any number of nodes);
``scheduler: slurm``
    ``dask_jobqueue.SLURMCluster`` submits ``slurm.jobs`` worker jobs of
    ``slurm.cores`` cores each and closes them when the step ends (needs the
    optional dependency ``dask-jobqueue``: ``pip install 'hrtem[cluster]'``).

The tasks write their own chunks to a Zarr store, so workers must see the
same file system as the process that starts the step (true on a cluster's
shared file system). Every task draws its random numbers from its own keys,
so the bytes written do not depend on where, in which order or on how many
workers the tasks run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hrtem.errors import HrtemError

__all__ = ["SCHEMES", "cli_section", "compute", "distributed_client", "scheduler_of"]

#: address schemes of a dask.distributed scheduler
SCHEMES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")


def scheduler_of(section: Mapping[str, Any] | None) -> str | None:
    """The scheduler named by a ``dask`` section: None (local threads), an address, or ``"slurm"``."""
    name = (section or {}).get("scheduler")
    if name in (None, "", "threads"):
        return None
    name = str(name)
    if name != "slurm" and not name.startswith(SCHEMES):
        raise HrtemError(
            f"dask.scheduler {name!r} is not a scheduler address; give null (local threads), "
            "'slurm' (dask-jobqueue) or an address like tcp://host:8786"
        )
    return name


def cli_section(text: str | None, scheduler: str | None) -> dict[str, Any]:
    """The validated ``dask`` section from a ``--dask`` JSON option and a ``--scheduler`` override."""
    from hrtem.config import parse_json_object, validate_config  # noqa: PLC0415

    section = parse_json_object(text, "--dask") if text else {}
    if scheduler is not None:
        section["scheduler"] = scheduler
    return validate_config({"dask": section})["dask"]


def _slurm_cluster(slurm: Mapping[str, Any]):
    try:
        from dask_jobqueue import SLURMCluster  # noqa: PLC0415
    except ImportError as err:
        raise HrtemError(
            "dask.scheduler 'slurm' needs dask-jobqueue: pip install 'hrtem[cluster]' "
            "(or start a scheduler yourself and give its tcp:// address)"
        ) from err
    minutes = int(slurm.get("walltime_min", 60))
    kwargs: dict[str, Any] = {
        "cores": int(slurm.get("cores", 4)),
        "processes": int(slurm.get("processes", 1)),
        "memory": f"{int(slurm.get('memory_mb', 8000))}MB",
        "walltime": f"{minutes // 60:02d}:{minutes % 60:02d}:00",
        "job_extra_directives": list(slurm.get("extra_directives") or []),
    }
    if slurm.get("queue"):
        kwargs["queue"] = str(slurm["queue"])
    if slurm.get("local_directory"):
        kwargs["local_directory"] = str(slurm["local_directory"])
    if slurm.get("log_directory"):
        kwargs["log_directory"] = str(slurm["log_directory"])
    cluster = SLURMCluster(**kwargs)
    cluster.scale(jobs=int(slurm.get("jobs", 1)))
    return cluster


@contextlib.contextmanager
def distributed_client(section: Mapping[str, Any] | None) -> Iterator[Any]:
    """A ``distributed.Client`` for the section's scheduler (None for local threads).

    For ``scheduler: slurm`` the worker jobs are submitted on entry and
    cancelled on exit; an address is only connected to (its workers stay).
    """
    name = scheduler_of(section)
    if name is None:
        yield None
        return
    from distributed import Client  # noqa: PLC0415

    timeout_s = float((section or {}).get("connect_timeout_s", 60))
    if name == "slurm":
        slurm = (section or {}).get("slurm") or {}
        cluster = _slurm_cluster(slurm)
        try:
            with Client(cluster, timeout=timeout_s) as client:
                client.wait_for_workers(1, timeout=float(slurm.get("start_timeout_s", 600)))
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(name, timeout=timeout_s, set_as_default=False)
    except OSError as err:
        raise HrtemError(f"dask.scheduler {name}: cannot connect ({err}); is the scheduler running?") from err
    with client:
        yield client


def compute(tasks: Sequence[Any], *, threads: int = 1, dask: Mapping[str, Any] | None = None) -> tuple:
    """Compute Dask collections/delayed objects on the scheduler the ``dask`` section names.

    Parameters
    ----------
    tasks
        Dask delayed objects (or collections).
    threads
        Worker threads of the local threaded scheduler (used when the section
        names no scheduler).
    dask
        The ``dask`` config section, or None.

    Returns
    -------
    tuple
        The computed values, in the order of ``tasks``.
    """
    import dask as _dask  # noqa: PLC0415

    with distributed_client(dask) as client:
        if client is None:
            return _dask.compute(*tasks, scheduler="threads", num_workers=int(threads))
        return _dask.compute(*tasks, scheduler=client)
