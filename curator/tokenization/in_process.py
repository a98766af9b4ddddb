"""Tokenizer training and tokenization over an Arrow table in this process: the sinks of a small local run
(:mod:`curator.spark.in_driver`), with the rules of their Spark versions.

- Held-out documents are chosen by the same hash as :func:`curator.tokenization.train.heldout_documents`
  (Spark's ``xxhash64(id, seed)``, reproduced with the ``xxhash`` library), so the report's held-out bytes/token
  measures the same documents whichever engine trained.
- Sampling (only when the corpus exceeds the recipe's caps) and the tokenize shuffle use a seeded numpy generator,
  not Spark's, so which documents are sampled and the order inside shards differ from a Spark run with the same
  seed; counts of documents and tokens do not.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from curator.errors import CuratorError
from curator.tokenization.recipe import SampleSpec


HOLDOUT_BUCKETS = 10_000
SPARK_HASH_SEED = 42  # the seed Spark's xxhash64() starts its first column with


def spark_xxhash64(values: list[str | None], seed: int) -> np.ndarray:
    """Spark's ``xxhash64(col, lit(seed))`` (signed 64-bit) for string values and an int ``seed``: XXH64 of each
    value's UTF-8 bytes seeded with 42, then of the 4-byte little-endian seed seeded with that (a null value leaves
    the running hash at 42)."""
    import xxhash

    seed_bytes = int(seed).to_bytes(4, "little", signed=True)
    out = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        running = SPARK_HASH_SEED if value is None else xxhash.xxh64_intdigest(value.encode("utf-8"), SPARK_HASH_SEED)
        out[i] = np.uint64(xxhash.xxh64_intdigest(seed_bytes, running)).astype(np.int64)
    return out


def heldout_mask(ids: list[str | None], fraction: float, seed: int) -> np.ndarray:
    """True for the documents a recipe holds out of training (:func:`curator.tokenization.train.heldout_documents`)."""
    hashes = spark_xxhash64(ids, seed)
    return (np.abs(hashes) % HOLDOUT_BUCKETS) < int(round(fraction * HOLDOUT_BUCKETS))


def sample_training_texts(table: pa.Table, spec: SampleSpec) -> tuple[list[str], dict[str, Any]]:
    """:func:`curator.tokenization.train.sample_training_texts` over an Arrow table."""
    from curator.tokenization.train import EmptyCorpusError, take_sample

    if "text" not in table.column_names:
        raise CuratorError(f"the corpus has no `text` column (columns: {table.column_names})")
    texts = table.column("text").to_pylist()
    keep = np.array([t is not None and bool(t.strip()) for t in texts], dtype=bool)
    stats: dict[str, Any] = {}
    if spec.holdout_fraction > 0:
        if "id" not in table.column_names:
            raise CuratorError("sample.holdout_fraction needs an `id` column to choose held-out documents by")
        keep &= ~heldout_mask(table.column("id").to_pylist(), spec.holdout_fraction, spec.seed)
        stats["holdout"] = {"fraction": spec.holdout_fraction, "seed": spec.seed}
    rng = np.random.default_rng(spec.seed)
    langs = None
    if spec.balance_by_lang:
        if "lang" not in table.column_names:
            raise CuratorError("sample.balance_by_lang needs a `lang` column: run the langid stage first")
        langs = table.column("lang").to_pylist()
        counts: dict[Any, int] = {}
        for i in np.flatnonzero(keep):
            counts[langs[i]] = counts.get(langs[i], 0) + 1
        if not counts:
            raise EmptyCorpusError("the corpus holds no non-empty text to train a tokenizer on")
        quota = max(1, spec.max_documents // len(counts))
        fractions = {lang: min(1.0, 1.1 * quota / count) for lang, count in counts.items()}
        draws = rng.random(len(texts))
        keep &= np.array([draws[i] < fractions.get(langs[i], 0.0) for i in range(len(texts))], dtype=bool)
        per_lang_cap = {lang: quota for lang in counts}
        stats["languages"] = len(counts)
    else:
        total = int(keep.sum())
        if total == 0:
            raise EmptyCorpusError("the corpus holds no non-empty text to train a tokenizer on")
        if total > spec.max_documents:
            keep &= rng.random(len(texts)) < min(1.0, 1.1 * spec.max_documents / total)
        per_lang_cap = None
    rows = ((texts[i][:spec.max_chars_per_document], langs[i] if langs is not None else None)
            for i in np.flatnonzero(keep))
    return take_sample(rows, spec, per_lang_cap, stats)


def train_tokenizer(table: pa.Table, recipe, output_dir: str | Path) -> dict[str, Any]:
    """:func:`curator.tokenization.train.train_tokenizer` over an Arrow table."""
    from curator.tokenization.train import training_report

    texts, sample_stats = sample_training_texts(table, recipe.sample)
    return training_report(texts, sample_stats, recipe, output_dir)


def tokenize_part(rows: pa.Table, part: int, bundle, uri: str, dtype: str, target_shard_tokens: int | None,
                  run_id: str, provenance: bool) -> list[dict[str, Any]]:
    """One part's shards (:func:`curator.tokenization.job.tokenize_partition`) and their result rows."""
    from curator.tokenization.job import tokenize_partition

    results: list[dict[str, Any]] = []
    for out in tokenize_partition(iter(rows.to_batches()), part, bundle, uri, dtype, target_shard_tokens, run_id,
                                  provenance):
        results.extend(out.to_pylist())
    return results


def write_token_shards(table: pa.Table, bundle, folder: str | Path, options, partitions: int | None = None,
                       map_parts=None):
    """:func:`curator.spark.tokenize_ops.write_token_shards` over an Arrow table: the documents (with their
    rehydration copies) shuffled by ``options.shuffle_seed`` and dealt into ``options.num_shards`` (else
    ``partitions``, else one per core) parts, each encoded by :func:`tokenize_part`, one after another or through
    ``map_parts(function, calls)`` (the driver engine's worker pool: one part per worker at a time)."""
    from curator.io.filesystem import location
    from curator.tokenization.job import choose_dtype, finish_token_folder
    from curator.tokenization.rehydrate import copies_for_size

    target = location(folder)
    target.mkdir()
    if "text" not in table.column_names:
        raise CuratorError(f"the corpus has no `text` column (columns: {table.column_names})")
    dtype = choose_dtype(int(bundle.meta["vocab_size"]), options.dtype)
    n = table.num_rows
    ids = (table.column("id").cast(pa.string()) if "id" in table.column_names
           else pa.array([str(i) for i in range(n)], pa.string()))
    columns = {"id": ids, "text": table.column("text")}
    for name in ("source", "url"):
        columns[name] = (table.column(name).cast(pa.string()) if name in table.column_names
                         else pa.nulls(n, pa.string()))
    frame = pa.table(columns)
    rehydration = options.rehydration
    if rehydration is not None:
        if rehydration.size_column not in table.column_names:
            raise CuratorError(f"rehydration needs the column {rehydration.size_column!r} (written by the dedup "
                               f"stage); the corpus has {table.column_names}")
        copies = [copies_for_size(size, rehydration) for size in table.column(rehydration.size_column).to_pylist()]
        rows = np.repeat(np.arange(n), copies)
        frame = frame.take(pa.array(rows)).append_column(
            "copy", pa.array(np.concatenate([np.arange(c) for c in copies]) if n else [], pa.int32()))
    parts = options.num_shards or partitions or os.cpu_count() or 1
    if options.shuffle_seed is not None:
        order = np.random.default_rng(options.shuffle_seed).permutation(frame.num_rows)
        frame = frame.take(pa.array(order))
    run_record = {"run_id": uuid.uuid4().hex, "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  **(options.run_record or {})}
    # A generator: in this process each part is taken only when its turn comes, not all of them at once.
    calls = ((frame.take(pa.array(np.arange(part, frame.num_rows, parts))), part, bundle, target.uri, dtype.name,
              options.target_shard_tokens, run_record["run_id"], options.provenance) for part in range(parts))
    outputs = map_parts(tokenize_part, calls) if map_parts is not None else [tokenize_part(*c) for c in calls]
    results = [row for rows in outputs for row in rows]
    return finish_token_folder(target, results, bundle, options, dtype.name, run_record)


__all__ = ["heldout_mask", "sample_training_texts", "spark_xxhash64", "tokenize_part", "train_tokenizer",
           "write_token_shards"]
