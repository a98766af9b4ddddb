"""The Spark glue of per-document code: ``mapInArrow`` adapters, the per-worker stage cache, file reading on
executors and shipping model files. Stage packages hold per-document logic and configs and call these; nothing
here knows what a stage decides.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import pyarrow as pa


if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from curator.stage import BatchStage


# Spark unpickles a task's function afresh for every task, so a stage object lives for one task only; this
# per-process cache keeps the first set-up instance per (class, config) so setup() runs once per Python worker.
_WORKER_STAGES: dict[tuple[type, str], "BatchStage"] = {}


def worker_stage(stage: "BatchStage") -> "BatchStage":
    """The instance of ``stage``'s class and config already set up in this process, or ``stage`` itself."""
    return _WORKER_STAGES.setdefault((type(stage), stage.config.model_dump_json()), stage)


def arrow_schema_of(df: "DataFrame") -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema)


def map_batch_stage(stage: "BatchStage", df: "DataFrame",
                    worker: Callable[[], "BatchStage"] | None = None) -> "DataFrame":
    """``df`` annotated by ``stage.process_batch`` on the executors: ``worker()`` (from :meth:`BatchStage.prepare`)
    gives the set-up instance there; by default the stage travels as its config only."""
    from curator.document import spark_schema

    schema = stage.output_schema(arrow_schema_of(df))
    worker = worker or (lambda: worker_stage(stage))

    def run(batches):
        yield from worker().process_batches(batches)

    return df.mapInArrow(run, spark_schema(schema))


def read_files(spark: "SparkSession", files: list[tuple[str, str]], schema: pa.Schema,
               read: Callable[[int, str, str], Iterable[dict[str, Any]]]) -> "DataFrame":
    """A frame of ``schema`` rows read on the executors, one task per file: ``read(index, path, relative_name)``
    yields the row dicts of one file (pure Python, see ``curator.io.readers``)."""
    from curator.document import spark_schema
    from curator.io.readers import record_batches

    file_table = spark.createDataFrame(
        [(i, path, rel) for i, (path, rel) in enumerate(files)], "file_index long, path string, rel string"
    ).repartition(max(1, len(files)), "file_index")

    def run(batches: Iterator[pa.RecordBatch]):
        for batch in batches:
            for index, path, rel in zip(*(batch.column(c).to_pylist() for c in ("file_index", "path", "rel"))):
                yield from record_batches(read(index, path, rel), schema)

    return file_table.mapInArrow(run, spark_schema(schema))


def ship_file(spark: "SparkSession", path: str) -> None:
    """Make a driver-side file (a model) available to executors that do not share the driver's disk."""
    if not spark.sparkContext.master.startswith("local"):
        spark.sparkContext.addFile(path)


def shipped_path(path: str) -> str:
    """``path`` itself where it exists (local mode, shared disks), else the executor's copy from :func:`ship_file`."""
    if Path(path).is_file():
        return path
    from pyspark import SparkFiles

    return SparkFiles.get(Path(path).name)


__all__ = ["arrow_schema_of", "map_batch_stage", "read_files", "ship_file", "shipped_path", "worker_stage"]
