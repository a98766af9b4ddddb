"""Worker processes for the driver engine: the cores of a local master, without Spark.

The driver engine (:mod:`curator.spark.in_driver`) computes a local run's stages when Spark's fixed costs (the
JVM's start, its first jobs, rows crossing between the JVM and Python) outweigh the work. In one process it uses one
core; this pool gives it the others. A per-document segment is cut into tasks of a few hundred rows that the
workers read from the previous stage's Parquet, run through the same :class:`~curator.spark.fusion.FusedChain` and
return as Arrow tables, which the driver puts back in input order and writes as before; tokenize hands each worker
one part. Each worker sets a stage up once (:func:`curator.spark.adapters.worker_stage`), as a Spark Python worker
does, and the pool is started while ingest still runs (:meth:`LocalPool.warm_up`) so that the models are loaded
when the first segment needs them.

Workers are started with ``spawn``: the driver may hold a thread starting Spark, and forking a process with threads
can copy a held lock. A worker that dies (out of memory, a crash in a native library) fails the stage with
:class:`PoolError` instead of hanging the run.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import pyarrow as pa

from curator.errors import CuratorError


if TYPE_CHECKING:
    from curator.stage import BatchStage


# One native thread per worker: the pool already has one worker per core.
_WORKER_ENV = {"RAYON_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class PoolError(CuratorError):
    """A worker process of the driver engine died."""


def _init_worker() -> None:
    for key, value in _WORKER_ENV.items():
        os.environ[key] = value


def _set_up(stages: Sequence["BatchStage"], calls: Sequence[tuple[Callable[..., Any], tuple]]) -> None:
    """Load every stage's assets in this worker (the instances :func:`worker_stage` hands out later), then make
    ``calls`` (other per-process caches to fill)."""
    from curator.spark.adapters import worker_stage

    for stage in stages:
        worker_stage(stage)._ensure_setup()
    for function, args in calls:
        function(*args)


def read_slice(path: str, row_group: int, start: int, stop: int) -> pa.Table:
    """Rows ``start:stop`` of one row group of a Parquet file."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read_row_group(row_group)
    return table.slice(start, stop - start) if (start, stop) != (0, table.num_rows) else table


def run_chain_task(names: list[str], stages: list["BatchStage"], input_schema: pa.Schema,
                   piece: tuple[str, int, int, int], batch_rows: int) -> pa.Table:
    """One task of a fused segment in a worker: the rows of ``piece`` (see :func:`read_slice`) through the chain."""
    from curator.spark.adapters import worker_stage
    from curator.spark.fusion import FusedChain

    chain = FusedChain(names, stages, input_schema, [lambda s=s: worker_stage(s) for s in stages])
    batches = read_slice(*piece).cast(input_schema).to_batches(max_chunksize=batch_rows)
    return pa.Table.from_batches(list(chain.process_batches(iter(batches))), schema=chain.output_schema)


class LocalPool:
    """``workers`` processes that run driver-engine tasks; :meth:`map` returns results in submission order."""

    def __init__(self, workers: int):
        import multiprocessing

        self.workers = workers
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker)

    def warm_up(self, stages: Sequence["BatchStage"], calls: Sequence[tuple[Callable[..., Any], tuple]] = ()) -> None:
        """Start every worker now and set ``stages`` up in it (and make ``calls``), without waiting: a busy worker
        takes a later task, so this only makes the start overlap with the driver's work; a task sets up whatever
        is missing."""
        for _ in range(self.workers):
            self._executor.submit(_set_up, list(stages), list(calls))

    def map(self, function: Callable[..., Any], calls: Iterable[tuple]) -> list[Any]:
        try:
            futures = [self._executor.submit(function, *args) for args in calls]
            return [future.result() for future in futures]
        except BrokenProcessPool as error:
            raise PoolError(f"a worker process of the driver engine died ({error}); if memory ran out, lower "
                            "spark.driver_max_documents or run on Spark (curator run --spark-only)") from None

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def slices(files: Sequence[tuple[str, list[int]]], rows: int) -> list[tuple[str, int, int, int]]:
    """``(path, row_group, start, stop)`` pieces of at most ``rows`` rows covering every row group of ``files``
    (each a path and its row groups' row counts), in order."""
    pieces = []
    for path, group_rows in files:
        for group, n in enumerate(group_rows):
            pieces += [(path, group, start, min(n, start + rows)) for start in range(0, n, rows)]
    return pieces


__all__ = ["LocalPool", "PoolError", "read_slice", "run_chain_task", "slices"]
