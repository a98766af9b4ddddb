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


def map_batch_stage(stage: "BatchStage", df: "DataFrame") -> "DataFrame":
    """``df`` annotated by ``stage.process_batch`` on the executors (the stage travels as its config only)."""
    from curator.document import spark_schema

    schema = stage.output_schema(arrow_schema_of(df))

    def run(batches):
        yield from worker_stage(stage).process_batches(batches)

    return df.mapInArrow(run, spark_schema(schema))


def read_files(spark: "SparkSession", splits: list["FileSplit"], schema: pa.Schema,
               read: Callable[["FileSplit"], Iterable[dict[str, Any]]]) -> "DataFrame":
    """A frame of ``schema`` rows read on the executors, one task per split (:func:`curator.io.readers.plan_splits`):
    ``read(split)`` yields the row dicts of one split (pure Python, see ``curator.io.readers``). Byte-range splits
    whose record numbering is unknown are counted first, by one parallel pass over the same ranges."""
    from curator.document import spark_schema
    from curator.io.readers import record_batches

    splits = count_split_starts(spark, splits)
    fields = "i long, path string, relative string, file_index long, kind string, start long, stop long, first long"
    rows = [(i, s.path, s.relative, s.file_index, s.kind, s.start, s.end, s.first_record) for i, s in enumerate(splits)]
    split_table = spark.createDataFrame(rows, fields).repartition(max(1, len(splits)), "i")

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
    rows = [(i, splits[i].path, splits[i].relative, splits[i].file_index, splits[i].kind, splits[i].start,
             splits[i].end, 0) for i in pending]
    fields = "i long, path string, relative string, file_index long, kind string, start long, stop long, first long"

    def count(batches: Iterator[pa.RecordBatch]):
        from curator.io.readers import count_split_records

        for batch in batches:
            out = [{"i": row["i"], "n": count_split_records(_split_of(row))} for row in batch.to_pylist()]
            yield pa.RecordBatch.from_pylist(out, schema=pa.schema([("i", pa.int64()), ("n", pa.int64())]))

    table = spark.createDataFrame(rows, fields).repartition(max(1, len(rows)), "i")
    counts = {row["i"]: row["n"] for row in table.mapInArrow(count, "i long, n long").collect()}
    result, before = list(splits), {}
    for i in pending:  # in file order, ranges in offset order
        split = splits[i]
        start = before.get(split.file_index, 0)
        result[i] = dataclasses.replace(split, first_record=start)
        before[split.file_index] = start + counts[i]
    return result


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


__all__ = ["arrow_schema_of", "map_batch_stage", "count_split_starts", "read_files", "ship_file", "shipped_path", "worker_stage"]
