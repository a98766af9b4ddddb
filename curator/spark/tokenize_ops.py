"""The Spark side of tokenization: prepare the frame (ids, optional rehydration copies, seeded shuffle), run
:func:`curator.tokenization.job.tokenize_partition` in every task through ``mapInArrow``, and hand the rows the tasks
reported to :func:`curator.tokenization.job.finish_token_folder`. Reading a corpus to tokenize or train on lives
here too. Per-document and per-partition logic stays in :mod:`curator.tokenization`.

Folders may be local paths or remote URIs (:mod:`curator.io.filesystem`): each task writes its shards to the
target filesystem itself, and the driver lists only what tasks reported.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from curator.atomic import atomic_folder, remove_stale_staging
from curator.errors import CuratorError
from curator.io.filesystem import location
from curator.tokenization.job import (
    RESULT_SCHEMA,
    TokenizeOptions,
    choose_dtype,
    finish_token_folder,
    tokenize_partition,
)
from curator.tokenization.manifest import Manifest
from curator.tokenization.rehydrate import copies_column
from curator.tokenization.tokenizer import TokenizerBundle


if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def write_token_shards(df: "DataFrame", bundle: TokenizerBundle, folder: str | Path,
                       options: TokenizeOptions = TokenizeOptions()) -> Manifest:
    """Tokenize ``df`` (columns ``id``, ``text``) into shards + ``manifest.json`` inside ``folder``."""
    from pyspark import TaskContext
    from pyspark.sql import functions as F

    from curator.document import spark_schema

    target = location(folder)
    target.mkdir()
    if "text" not in df.columns:
        raise CuratorError(f"the corpus has no `text` column (columns: {df.columns})")
    dtype = choose_dtype(int(bundle.meta["vocab_size"]), options.dtype)

    id_column = F.col("id") if "id" in df.columns else F.monotonically_increasing_id()
    optional = [F.col(c).cast("string").alias(c) if c in df.columns else F.lit(None).cast("string").alias(c)
                for c in ("source", "url")]
    frame = df.select(id_column.cast("string").alias("id"), F.col("text"), *optional)
    rehydration = options.rehydration
    if rehydration is not None:
        if rehydration.size_column not in df.columns:
            raise CuratorError(f"rehydration needs the column {rehydration.size_column!r} (written by the dedup "
                               f"stage); the corpus has {df.columns}")
        # One row per copy, before the shuffle, so the copies of a document land far apart.
        frame = (df.select(id_column.cast("string").alias("id"), F.col("text"), *optional,
                           copies_column(rehydration).alias("_copies"))
                 .withColumn("copy", F.explode(F.sequence(F.lit(0), F.col("_copies") - 1))).drop("_copies"))
    if options.shuffle_seed is not None:
        partitions = options.num_shards or frame.rdd.getNumPartitions()
        frame = (frame.withColumn("_order", F.rand(options.shuffle_seed)).repartition(partitions, "_order")
                 .sortWithinPartitions("_order").drop("_order"))
    elif options.num_shards:
        frame = frame.repartition(options.num_shards)

    folder_text, dtype_name, target_tokens = target.uri, dtype.name, options.target_shard_tokens
    run_record = {"run_id": uuid.uuid4().hex, "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  **(options.run_record or {})}
    run_id, provenance = run_record["run_id"], options.provenance

    def run(batches):
        partition = TaskContext.get().partitionId()
        yield from tokenize_partition(batches, partition, bundle, folder_text, dtype_name, target_tokens, run_id,
                                      provenance)

    results = [row.asDict() for row in frame.mapInArrow(run, spark_schema(RESULT_SCHEMA)).collect()]
    return finish_token_folder(target, results, bundle, options, dtype_name, run_record)


def tokenize_to_folder(df: "DataFrame", bundle: TokenizerBundle, output: str | Path,
                       options: TokenizeOptions = TokenizeOptions(), overwrite: bool = False) -> Manifest:
    """Like :func:`write_token_shards`, committed as a whole: locally into a hidden staging folder renamed to
    ``output`` on success; on a remote filesystem in place, where the manifest written last is the commit record."""
    target = location(output)
    if target.is_dir() and target.children() and not overwrite:
        raise CuratorError(f"{target} exists and is not empty; pass --force to replace it")
    if not target.is_local:
        (target / "manifest.json").remove()  # readers stop trusting the old shards before any is replaced
        return write_token_shards(df, bundle, target.uri, options)
    output = target.path
    output.parent.mkdir(parents=True, exist_ok=True)
    # Staging folders of killed runs are hidden siblings; they are never mistaken for a tokens folder.
    remove_stale_staging(output)
    with atomic_folder(output) as staging:
        manifest = write_token_shards(df, bundle, staging, options)
    return manifest


def read_corpus(spark: "SparkSession", paths: list[str]) -> "DataFrame":
    """Documents to tokenize or train on: a stage output (Parquet folder, or a stage folder holding ``data/``),
    Parquet files, or JSONL (``.jsonl``/``.jsonl.gz``/``.jsonl.zst``, read with the project's readers so every
    record is accounted for). Only ``id`` and ``text`` (and ``lang`` when present) are used."""
    from curator.io.run_files import committed_folder

    resolved: list[str] = []
    for raw in paths:
        where = location(raw)
        stage = committed_folder(where) if where.is_dir() else None  # a pipeline stage folder (or its attempt)
        if stage is not None and (stage / "data").is_dir():
            where = stage / "data"
        elif stage is not None and (stage / "rejected").is_dir():
            # a stage that ran fused with the ones after it writes no documents of its own (curator.spark.fusion)
            raise CuratorError(f"{raw} is a stage that ran fused with the stages after it and kept no documents of "
                               "its own; tokenize the last stage of its group, or rerun with spark.fuse_stages: false")
        elif where.is_dir() and (where / "data").is_dir():
            where = where / "data"
        resolved.append(where.spark_path)
    if all(_is_parquet(p) for p in resolved):
        return spark.read.parquet(*resolved)
    return _read_documents(spark, resolved)


def _is_parquet(path: str) -> bool:
    where = location(path)
    if where.is_dir():
        return any(f.name.endswith(".parquet") for f in where.walk_files())
    return where.name.endswith(".parquet")


def _read_documents(spark: "SparkSession", paths: list[str]) -> "DataFrame":
    """JSONL and mixed inputs through ``curator.io.readers``; unreadable records keep their id with a null text."""
    from curator.document import DOCUMENT_FIELDS
    from curator.io.readers import ReadOptions, expand_paths, plan_splits, read_file
    from curator.spark.adapters import read_files

    names = [f.name for f in DOCUMENT_FIELDS]

    def read(split):
        # An unreadable record keeps a null text: it becomes a tokenize_missing_text rejection.
        return ({n: (row.get(n) if n != "text" or row.get("reason") is None else None) for n in names}
                for row in read_file(split.path, split.relative, ReadOptions(), split=split))

    return read_files(spark, plan_splits(expand_paths(paths)), pa.schema(DOCUMENT_FIELDS), read)


__all__ = ["read_corpus", "tokenize_to_folder", "write_token_shards"]
