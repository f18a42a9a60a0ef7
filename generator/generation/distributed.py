"""Generation on a Ray cluster: one Ray task per shard, byte-identical to a local run for any number of workers.

The number and content of the units of work are fixed by the run alone (configs, splits, rows per shard; see
``generator.generation.pipeline.shard_tasks``), never by the number of workers, which is what makes the output
independent of the cluster (Ray Data and Spark name their files after run ids and cut work by the cluster's
parallelism). Each task builds its shard's rows, writes the parquet file straight to the output's staging
location (a folder all nodes can see, or object storage) and returns only the small ``ShardResult``: no row
crosses the driver. A task whose worker dies is run again by Ray (``max_retries``); its file is written whole or
not at all under a fixed name, so a retry replaces, never duplicates, rows. An error raised by the generator
itself (a bad source, a refused row) is not retried: it is reported as one line.

Ray is an optional extra (``pip install 'mmmt-if[ray]'``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from generator.common.errors import UserError

#: Times Ray re-runs a task whose worker process or node died.
MAX_RETRIES = 3


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install the extra."""
    try:
        import ray
    except ImportError:
        raise UserError("Ray is not installed; install it with: pip install 'mmmt-if[ray]'",
                        where="--engine ray") from None
    return ray


def _shard_task(build: Any, task: Any, run: Any, sink: Any, default_config: str, before_shard: Any) -> list[Any]:
    """Body of one Ray task (runs in a worker process): ``build`` is ``pipeline.build_shard``."""
    if before_shard is not None:
        before_shard(task)
    return build(task, run, sink, default_config=default_config)


def run_ray(build: Any, tasks: Sequence[Any], run: Any, sink: Any, *, default_config: str,
            address: str | None = None, num_cpus: int = 1, bar: Any = None, before_shard: Any = None) -> list[Any]:
    """Run ``build(task, run, sink, default_config=...)`` for every shard task on Ray; results in task order.

    With ``address`` (``ray://host:10001``, ``host:6379`` or ``auto``) the tasks go to that cluster; without it a
    local Ray instance with ``num_cpus`` CPUs is started and stopped again. A Ray instance already initialised by
    the caller is used as it is.
    """
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False,
                                   "configure_logging": False}
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=num_cpus, **options)
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(_shard_task)
        refs = [remote.remote(build, task, run, sink, default_config, before_shard) for task in tasks]
        position = {ref: i for i, ref in enumerate(refs)}
        results: list[list[Any] | None] = [None] * len(refs)
        pending = list(refs)
        started_at, done_rows = time.perf_counter(), 0
        try:
            _collect(ray, tasks, refs, position, results, pending, bar, started_at, done_rows)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()
    return [result for shard in results if shard is not None for result in shard]


def _collect(ray: Any, tasks: Sequence[Any], refs: list[Any], position: dict[Any, int],
             results: list[list[Any] | None], pending: list[Any], bar: Any, started_at: float, done_rows: int
             ) -> None:
    """Gather results as tasks finish (``pending`` shrinks in place), with progress in shards and rows."""
    while pending:
        ready, rest = ray.wait(pending, num_returns=1)
        pending[:] = rest
        for ref in ready:
            index = position[ref]
            try:
                results[index] = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else None
                if isinstance(cause, UserError):
                    raise cause from None
                raise UserError(f"shard task {_label(tasks[index])} failed: "
                                f"{type(cause or exc).__name__}: {cause or exc}") from None
            except ray.exceptions.RayError as exc:
                raise UserError(f"shard task {_label(tasks[index])} failed after {MAX_RETRIES} retries: "
                                f"{type(exc).__name__}") from None
            done_rows += tasks[index].rows
            if bar is not None:
                bar.update(tasks[index].rows)
                elapsed = time.perf_counter() - started_at
                bar.set_postfix(shards=f"{len(refs) - len(pending)}/{len(refs)}",
                                rate=f"{done_rows / elapsed:.1f} conv/s" if elapsed else "", refresh=False)


def _label(task: Any) -> str:
    names = ",".join(cfg.name for cfg in task.configs)
    return f"{names} {task.split} shard {task.index + 1}/{task.count}"


__all__ = ["MAX_RETRIES", "run_ray"]
