"""The tokenize job: Spark encodes documents in batches and every task writes its own Megatron shard(s).

Each task loads the tokenizer once (from bytes shipped in the closure), encodes each Arrow batch with the
tokenizer's batch encoder, appends the end-of-document id and streams the ids into a :class:`ShardWriter`, which
writes under temporary names and renames on success. Shard names are deterministic (``part-<partition>-<k>``), so a
retried or speculative attempt rewrites the same content under the same name. The driver then deletes whatever
killed attempts left behind (temporaries, shards nobody reported), and writes ``manifest.json`` last.

Every shard gets a provenance sidecar, ``<prefix>.provenance.parquet``, listing its documents in order: ``id``,
``source``, ``url``, ``copy`` (0, or the repeat number under rehydration), ``token_offset`` and ``token_length`` in
the shard, plus the ``run_id`` and ``tokenizer_hash`` of the job (see :mod:`curator.tokenization.provenance`).
With ``rehydration`` set, each document is written ``copies_for_size(dup_group_size)`` times (copies are shuffled
apart with everything else); the manifest records the table and the documents and tokens before and after.

A document whose text encodes to no tokens is rejected (``tokenize_empty``) rather than written as a bare EOD; a
null text is ``tokenize_missing_text``. Rejections are counted in the manifest and listed in ``rejected.jsonl``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal

import numpy as np
import pyarrow as pa

from curator.atomic import atomic_folder, remove_stale_staging
from curator.errors import CuratorError
from curator.tokenization.manifest import Manifest, ShardEntry, TokenizerRef, write_manifest
from curator.tokenization.provenance import ProvenanceBuffer, sidecar_name
from curator.tokenization.rehydrate import RehydrationConfig, copies_column
from curator.tokenization.shards import ShardWriter, check_vocab_fits, dtype_for_vocab, remove_stale_temporaries
from curator.tokenization.tokenizer import Tokenizer, TokenizerBundle
from curator.tokenization.train import EmptyCorpusError


if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


log = logging.getLogger("curator.tokenization")
REJECT_EMPTY = "tokenize_empty"
REJECT_MISSING_TEXT = "tokenize_missing_text"
REJECTED_FILE = "rejected.jsonl"
TOKENIZER_SUBDIR = "tokenizer"
SHARD_PREFIX = "part"

_RESULT_SCHEMA = pa.schema([
    pa.field("prefix", pa.string()), pa.field("documents", pa.int64()), pa.field("tokens", pa.int64()),
    pa.field("sha256_bin", pa.string()), pa.field("sha256_idx", pa.string()),
    pa.field("unique_documents", pa.int64()), pa.field("unique_tokens", pa.int64()),
    pa.field("provenance", pa.string()),
    pa.field("rejected_id", pa.string()), pa.field("rejected_reason", pa.string()),
])


@dataclass(frozen=True)
class TokenizeOptions:
    dtype: Literal["auto", "uint16", "int32"] = "auto"
    target_shard_tokens: int | None = None  # start a new shard in the same task once this many tokens are written
    num_shards: int | None = None  # repartition to this many tasks (one shard or more each); None keeps the input's
    shuffle_seed: int | None = None  # shuffle documents across and within shards (Megatron splits take file tails)
    copy_tokenizer: bool = True  # put the artifact in <tokens>/tokenizer so the folder decodes on its own
    rehydration: RehydrationConfig | None = None  # write documents several times by duplicate-group size
    provenance: bool = True  # write <prefix>.provenance.parquet beside every shard
    run_record: dict[str, Any] | None = None  # who wrote these tokens (pipeline run, stage); a run_id is added


# -- per-document logic (pure, no Spark) ---------------------------------------------------------------------------


def encode_documents(tokenizer: Tokenizer, texts: list[str | None]) -> tuple[list[list[int]], list[str | None]]:
    """Ids of each text with EOD appended, and each document's rejection reason (``None`` = kept, ids non-empty)."""
    present = [i for i, text in enumerate(texts) if text is not None]
    encoded = tokenizer.encode_batch([texts[i] for i in present]) if present else []
    ids: list[list[int]] = [[] for _ in texts]
    reasons: list[str | None] = [REJECT_MISSING_TEXT] * len(texts)
    eod = tokenizer.eod_id
    for position, token_ids in zip(present, encoded):
        if token_ids:
            token_ids = list(token_ids)
            token_ids.append(eod)
            ids[position] = token_ids
            reasons[position] = None
        else:
            reasons[position] = REJECT_EMPTY
    return ids, reasons


def flatten(documents: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ids (int64) and per-document lengths of non-empty documents."""
    lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=len(documents))
    flat = np.fromiter(itertools.chain.from_iterable(documents), dtype=np.int64, count=int(lengths.sum()))
    return flat, lengths


# -- the Spark task -------------------------------------------------------------------------------------------------

_TOKENIZER_CACHE: dict[str, Tokenizer] = {}


def _worker_tokenizer(bundle: TokenizerBundle) -> Tokenizer:
    """One tokenizer per Python worker process (workers are reused across tasks)."""
    tokenizer = _TOKENIZER_CACHE.get(bundle.hash)
    if tokenizer is None:
        # Each Spark task owns one core: keep the tokenizer's own thread pool to one thread.
        os.environ.setdefault("RAYON_NUM_THREADS", "1")
        tokenizer = _TOKENIZER_CACHE[bundle.hash] = bundle.load(num_threads=1)
    return tokenizer


def tokenize_partition(batches: Iterator[pa.RecordBatch], partition: int, bundle: TokenizerBundle, folder: str,
                       dtype: str, target_shard_tokens: int | None, run_id: str = "",
                       provenance: bool = True) -> Iterator[pa.RecordBatch]:
    """Encode one partition into ``<folder>/part-<partition>-<k>`` shards; yield one result row per shard/reject.

    Input columns: ``id``, ``text`` and optionally ``source``, ``url``, ``copy`` (rehydration repeat, 0 = first).
    """
    tokenizer = _worker_tokenizer(bundle)
    results: list[dict[str, Any]] = []
    rejected: list[tuple[str, str]] = []
    writer: ShardWriter | None = None
    sidecar = ProvenanceBuffer(run_id, bundle.hash)

    def close_shard() -> None:
        info = writer.close()
        name = sidecar.write(info.prefix) if provenance else None
        results.append({"prefix": Path(info.prefix).name, "documents": info.documents, "tokens": info.tokens,
                        "sha256_bin": info.sha256_bin, "sha256_idx": info.sha256_idx,
                        "unique_documents": sidecar.unique_documents, "unique_tokens": sidecar.unique_tokens,
                        "provenance": name})
        sidecar.clear()

    try:
        for batch in batches:
            if not batch.num_rows:
                continue
            names = batch.schema.names
            doc_ids = batch.column("id").to_pylist()
            sources = batch.column("source").to_pylist() if "source" in names else [None] * batch.num_rows
            urls = batch.column("url").to_pylist() if "url" in names else [None] * batch.num_rows
            copies = batch.column("copy").to_pylist() if "copy" in names else [0] * batch.num_rows
            documents, reasons = encode_documents(tokenizer, batch.column("text").to_pylist())
            kept_rows = [i for i, r in enumerate(reasons) if r is None]
            # a rejected document is counted once, not once per rehydrated copy
            rejected.extend((doc_ids[i], r) for i, r in enumerate(reasons) if r is not None and not copies[i])
            if not kept_rows:
                continue
            flat, lengths = flatten([documents[i] for i in kept_rows])
            offsets = np.zeros(lengths.size + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            start = 0
            while start < lengths.size:
                if writer is None:
                    shard_number = len(results)
                    writer = ShardWriter(Path(folder) / f"{SHARD_PREFIX}-{partition:05d}-{shard_number:04d}", dtype)
                end = lengths.size
                if target_shard_tokens:
                    # Fewest documents that bring this shard to the target (at least one; documents never split).
                    needed = offsets[start] + target_shard_tokens - writer.num_tokens
                    end = min(lengths.size, max(start + 1, int(np.searchsorted(offsets, needed, side="left"))))
                base = writer.num_tokens - int(offsets[start])
                for k in range(start, end):
                    row = kept_rows[k]
                    sidecar.add(doc_ids[row], sources[row], urls[row], int(copies[row] or 0),
                                base + int(offsets[k]), int(lengths[k]))
                writer.add_batch(flat[offsets[start]:offsets[end]], lengths[start:end])
                start = end
                if target_shard_tokens and writer.num_tokens >= target_shard_tokens:
                    close_shard()
                    writer = None
        if writer is not None:
            close_shard()
            writer = None
    finally:
        if writer is not None:  # an exception escaped: leave nothing half-written
            writer.abort()
    rows = results + [{"rejected_id": i, "rejected_reason": r} for i, r in rejected]
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=_RESULT_SCHEMA)


# -- the driver -----------------------------------------------------------------------------------------------------


def choose_dtype(vocab_size: int, requested: str = "auto") -> np.dtype:
    if requested == "auto":
        return dtype_for_vocab(vocab_size)
    return check_vocab_fits(vocab_size, requested)


def write_token_shards(df: "DataFrame", bundle: TokenizerBundle, folder: str | Path,
                       options: TokenizeOptions = TokenizeOptions()) -> Manifest:
    """Tokenize ``df`` (columns ``id``, ``text``) into shards + ``manifest.json`` inside ``folder``."""
    from pyspark import TaskContext
    from pyspark.sql import functions as F

    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if "text" not in df.columns:
        raise CuratorError(f"the corpus has no `text` column (columns: {df.columns})")
    vocab_size = int(bundle.meta["vocab_size"])
    dtype = choose_dtype(vocab_size, options.dtype)

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

    folder_text, dtype_name, target = str(folder), dtype.name, options.target_shard_tokens
    run_record = {"run_id": uuid.uuid4().hex, "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  **(options.run_record or {})}
    run_id, provenance = run_record["run_id"], options.provenance

    def run(batches):
        partition = TaskContext.get().partitionId()
        yield from tokenize_partition(batches, partition, bundle, folder_text, dtype_name, target, run_id, provenance)

    from curator.document import spark_schema

    results = frame.mapInArrow(run, spark_schema(_RESULT_SCHEMA)).collect()
    shards = sorted((r for r in results if r["prefix"] is not None), key=lambda r: r["prefix"])
    rejected = [(r["rejected_id"], r["rejected_reason"]) for r in results if r["rejected_reason"] is not None]
    _remove_leftovers(folder, {r["prefix"] for r in shards})

    rejected_counts: dict[str, int] = {}
    for _, reason in rejected:
        rejected_counts[reason] = rejected_counts.get(reason, 0) + 1
    if not shards:
        detail = f" ({sum(rejected_counts.values())} rejected: {rejected_counts})" if rejected else ""
        raise EmptyCorpusError(f"no document produced tokens: the corpus is empty{detail}")
    if rejected:
        with open(folder / REJECTED_FILE, "w") as handle:
            for doc_id, reason in sorted(rejected, key=lambda x: (x[1], str(x[0]))):
                handle.write(json.dumps({"id": doc_id, "reason": reason}) + "\n")
    if options.copy_tokenizer:
        bundle.write(folder / TOKENIZER_SUBDIR)
    manifest = Manifest(
        tokenizer=TokenizerRef(hash=bundle.hash, vocab_size=vocab_size, eod_id=int(bundle.meta["special_ids"]["eod"]),
                               algorithm=bundle.meta["algorithm"]),
        dtype=dtype_name,
        documents=sum(r["documents"] for r in shards),
        tokens=sum(r["tokens"] for r in shards),
        shards=[ShardEntry(prefix=r["prefix"], documents=r["documents"], tokens=r["tokens"],
                           sha256_bin=r["sha256_bin"], sha256_idx=r["sha256_idx"], provenance=r["provenance"])
                for r in shards],
        rejected=dict(sorted(rejected_counts.items())),
        run=run_record,
        rehydration=None if rehydration is None else {
            "table": rehydration.model_dump(),
            "documents_before": sum(r["unique_documents"] for r in shards),
            "tokens_before": sum(r["unique_tokens"] for r in shards),
            "documents_after": sum(r["documents"] for r in shards),
            "tokens_after": sum(r["tokens"] for r in shards),
        },
    )
    write_manifest(folder, manifest)
    return manifest


def _remove_leftovers(folder: Path, reported: set[str]) -> None:
    """Delete temporaries of killed attempts and shard files no successful task reported."""
    removed = remove_stale_temporaries(folder)
    for path in list(folder.glob(f"{SHARD_PREFIX}-*.bin")) + list(folder.glob(f"{SHARD_PREFIX}-*.idx")) + list(
            folder.glob(f"{SHARD_PREFIX}-*{sidecar_name('')}")):
        if path.name.split(".")[0] not in reported:
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.info("removed %d leftover file(s) of failed or earlier attempts in %s", len(removed), folder)


def tokenize_to_folder(df: "DataFrame", bundle: TokenizerBundle, output: str | Path,
                       options: TokenizeOptions = TokenizeOptions(), overwrite: bool = False) -> Manifest:
    """Like :func:`write_token_shards` into a hidden staging folder renamed to ``output`` only on success."""
    output = Path(output).resolve()
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise CuratorError(f"{output} exists and is not empty; pass --force to replace it")
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
    resolved: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and (path / "data").is_dir():
            path = path / "data"  # a pipeline stage folder
        resolved.append(str(path))
    if all(_is_parquet(p) for p in resolved):
        return spark.read.parquet(*resolved)
    return _read_documents(spark, resolved)


def _is_parquet(path: str) -> bool:
    p = Path(path)
    if p.is_dir():
        return any(p.rglob("*.parquet"))
    return p.suffix == ".parquet"


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


def tokenize_stats(manifest: Manifest, folder: Path) -> dict[str, Any]:
    return {"tokens_dir": str(folder), "documents": manifest.documents, "tokens": manifest.tokens,
            "shards": len(manifest.shards), "dtype": manifest.dtype, "tokenizer_hash": manifest.tokenizer.hash,
            "rejected": manifest.rejected, "rejected_total": sum(manifest.rejected.values()),
            **({"run_id": manifest.run["run_id"]} if manifest.run else {}),
            **({"rehydration": {k: v for k, v in manifest.rehydration.items() if k != "table"}}
               if manifest.rehydration else {})}


__all__ = [
    "REJECT_EMPTY", "REJECT_MISSING_TEXT", "TokenizeOptions", "choose_dtype", "encode_documents", "flatten",
    "read_corpus", "tokenize_partition", "tokenize_stats", "tokenize_to_folder", "write_token_shards",
]
