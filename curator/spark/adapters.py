"""The Spark glue of per-document code: ``mapInArrow`` adapters, the per-worker stage cache, file reading on
executors and shipping model files. Stage packages hold per-document logic and configs and call these; nothing
here knows what a stage decides.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import pyarrow as pa


if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from curator.io.readers import FileSplit
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


def read_files(spark: "SparkSession", splits: list["FileSplit"], schema: pa.Schema,
               read: Callable[["FileSplit"], Iterable[dict[str, Any]]]) -> "DataFrame":
    """A frame of ``schema`` rows read on the executors, one task per split (:func:`curator.io.readers.plan_splits`):
    ``read(split)`` yields the row dicts of one split (pure Python, see ``curator.io.readers``). Byte-range splits
    whose record numbering is unknown are counted first, by one parallel pass over the same ranges."""
    from curator.document import spark_schema
    from curator.io.readers import record_batches

    splits = count_split_starts(spark, splits)
    split_table = _split_table(spark, list(enumerate(splits)))

    def run(batches: Iterator[pa.RecordBatch]):
        for batch in batches:
            for row in batch.to_pylist():
                yield from record_batches(read(_split_of(row)), schema)

    return split_table.mapInArrow(run, spark_schema(schema))


def count_split_starts(spark: "SparkSession", splits: list["FileSplit"]) -> list["FileSplit"]:
    """``splits`` with every ``first_record`` filled in: records per byte range counted on the executors, then
    summed in file order on the driver (one integer per range comes back)."""
    import dataclasses

    pending = [i for i, s in enumerate(splits) if s.first_record is None or s.kind == "bytes"]
    if all(splits[i].first_record is not None for i in pending):
        return splits

    def count(batches: Iterator[pa.RecordBatch]):
        from curator.io.readers import count_split_records

        for batch in batches:
            out = [{"i": row["i"], "n": count_split_records(_split_of(row))} for row in batch.to_pylist()]
            yield pa.RecordBatch.from_pylist(out, schema=pa.schema([("i", pa.int64()), ("n", pa.int64())]))

    # counting ignores the first record number, so the ranges travel as they are
    table = _split_table(spark, [(i, splits[i]) for i in pending])
    counts = {row["i"]: row["n"] for row in table.mapInArrow(count, "i long, n long").collect()}
    result, before = list(splits), {}
    for i in pending:  # in file order, ranges in offset order
        split = splits[i]
        start = before.get(split.file_index, 0)
        result[i] = dataclasses.replace(split, first_record=start)
        before[split.file_index] = start + counts[i]
    return result


def _split_table(spark: "SparkSession", numbered: list[tuple[int, "FileSplit"]]) -> "DataFrame":
    """One row per ``(i, split)``, one partition per row, so each split is one task (read back by :func:`_split_of`)."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    # A StructType, not a DDL string: parsing DDL costs the first query of a session ~0.5 s of parser start-up.
    types = {"i": LongType(), "path": StringType(), "relative": StringType(), "file_index": LongType(),
             "kind": StringType(), "start": LongType(), "stop": LongType(), "first": LongType()}
    fields = StructType([StructField(name, kind) for name, kind in types.items()])
    rows = [(i, s.path, s.relative, s.file_index, s.kind, s.start, s.end, s.first_record) for i, s in numbered]
    return spark.createDataFrame(rows, fields).repartition(max(1, len(rows)), "i")


def _split_of(row: dict[str, Any]) -> "FileSplit":
    from curator.io.readers import FileSplit

    return FileSplit(row["path"], row["relative"], row["file_index"], row["kind"], row["start"], row["stop"],
                     row["first"])


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


def map_batches(df: "DataFrame", transform: Callable[[pa.RecordBatch], pa.RecordBatch], schema: pa.Schema
                ) -> "DataFrame":
    """``df`` turned batch by batch into ``schema`` rows by the pure ``transform`` on the executors; empty batches
    are skipped (``transform`` never sees one). Spark pickles ``transform`` and what it holds (a
    ``functools.partial`` with the stage config) to every task, so it should hold configs, not models."""
    from curator.document import spark_schema

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                yield transform(batch)

    return df.mapInArrow(run, spark_schema(schema))


# Broadcast payloads rebuilt into a stage once per Python worker, keyed by a per-call id (a payload is read once
# per worker, not once per task); the same reason as _WORKER_STAGES.
_BROADCAST_STAGES: dict[str, "BatchStage"] = {}


def broadcast_stage_worker(spark: "SparkSession", payload: Any, make_stage: Callable[[Any], "BatchStage"]
                           ) -> Callable[[], "BatchStage"]:
    """The ``worker`` of a :class:`~curator.stage.PreparedStage` built around a large driver-side ``payload`` (an
    index): the payload is broadcast once and ``make_stage(payload)`` runs once per Python worker, whose stage then
    needs nothing from the driver's disk."""
    shared = spark.sparkContext.broadcast(payload)
    key = uuid.uuid4().hex

    def worker() -> "BatchStage":
        stage = _BROADCAST_STAGES.get(key)
        if stage is None:
            stage = _BROADCAST_STAGES[key] = make_stage(shared.value)
        return stage

    return worker


def sum_counts_per_file(spark: "SparkSession", paths: list[str], count: Callable[[str], dict[str, int]]
                        ) -> dict[str, int]:
    """``count(path)`` run on the executors, one task per file, and its per-key counts summed over ``paths``."""
    if not paths:
        return {}
    from pyspark.sql import functions as F

    counts_schema = pa.schema([("key", pa.string()), ("n", pa.int64())])

    def run(batches: Iterator[pa.RecordBatch]):
        for batch in batches:
            rows = [{"key": key, "n": n} for path in batch.column("path").to_pylist()
                    for key, n in count(path).items()]
            yield pa.RecordBatch.from_pylist(rows, schema=counts_schema)

    table = spark.createDataFrame([(p,) for p in paths], "path string").repartition(len(paths))
    summed = table.mapInArrow(run, "key string, n long").groupBy("key").agg(F.sum("n").alias("n")).collect()
    return {row["key"]: row["n"] for row in summed}


__all__ = ["arrow_schema_of", "broadcast_stage_worker", "count_split_starts", "map_batch_stage", "map_batches",
           "read_files", "ship_file", "shipped_path", "sum_counts_per_file", "worker_stage"]
