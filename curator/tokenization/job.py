"""The tokenize job's per-partition and driver logic (no Spark here; :mod:`curator.spark.tokenize_ops` runs it):
every task encodes its documents in batches and writes its own Megatron shard(s).

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
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal

import numpy as np
import pyarrow as pa

from curator.io.filesystem import Location, location
from curator.tokenization.manifest import Manifest, ShardEntry, TokenizerRef, write_manifest
from curator.tokenization.provenance import ProvenanceBuffer, sidecar_name
from curator.tokenization.rehydrate import RehydrationConfig
from curator.tokenization.shards import TEMP_MARKER, ShardWriter, check_vocab_fits, dtype_for_vocab
from curator.tokenization.tokenizer import Tokenizer, TokenizerBundle
from curator.tokenization.train import EmptyCorpusError


log = logging.getLogger("curator.tokenization")
REJECT_EMPTY = "tokenize_empty"
REJECT_MISSING_TEXT = "tokenize_missing_text"
REJECTED_FILE = "rejected.jsonl"
TOKENIZER_SUBDIR = "tokenizer"
SHARD_PREFIX = "part"

RESULT_SCHEMA = pa.schema([
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


def worker_tokenizer(bundle: TokenizerBundle) -> Tokenizer:
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
    tokenizer = worker_tokenizer(bundle)
    target = location(folder)
    # Shards are written where the task runs; on a remote target each finished shard is then uploaded (one PUT a
    # file: an object appears whole or not at all) and the local copy deleted.
    work_folder = target.path if target.is_local else Path(tempfile.mkdtemp(prefix="curator-shards-"))
    results: list[dict[str, Any]] = []
    rejected: list[tuple[str, str]] = []
    writer: ShardWriter | None = None
    sidecar = ProvenanceBuffer(run_id, bundle.hash)

    def close_shard() -> None:
        info = writer.close()
        name = sidecar.write(info.prefix) if provenance else None
        if not target.is_local:
            for file in (writer.bin_path, *([Path(info.prefix).parent / name] if name else []), writer.idx_path):
                (target / file.name).upload_file(file)
                file.unlink()
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
                    writer = ShardWriter(work_folder / f"{SHARD_PREFIX}-{partition:05d}-{shard_number:04d}", dtype)
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
        if not target.is_local:
            shutil.rmtree(work_folder, ignore_errors=True)
    rows = results + [{"rejected_id": i, "rejected_reason": r} for i, r in rejected]
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=RESULT_SCHEMA)


# -- the driver -----------------------------------------------------------------------------------------------------


def choose_dtype(vocab_size: int, requested: str = "auto") -> np.dtype:
    if requested == "auto":
        return dtype_for_vocab(vocab_size)
    return check_vocab_fits(vocab_size, requested)


def finish_token_folder(folder: "str | Path | Location", results: list[dict[str, Any]], bundle: TokenizerBundle,
                        options: TokenizeOptions, dtype_name: str, run_record: dict[str, Any]) -> Manifest:
    """On the driver, from the result rows the tasks reported: delete what no task reported, write
    ``rejected.jsonl``, the tokenizer copy and, last, ``manifest.json`` (the folder's commit record: readers trust
    only the shards it lists)."""
    folder = location(folder)
    vocab_size = int(bundle.meta["vocab_size"])
    rehydration = options.rehydration
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
        (folder / REJECTED_FILE).write_text("".join(
            json.dumps({"id": doc_id, "reason": reason}) + "\n"
            for doc_id, reason in sorted(rejected, key=lambda x: (x[1], str(x[0])))))
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




def _remove_leftovers(folder: Location, reported: set[str]) -> None:
    """Delete temporaries of killed attempts and shard files no successful task reported."""
    removed = []
    for entry in folder.children():
        stem = entry.name.split(".")[0]
        is_temporary = entry.name.startswith(".") and TEMP_MARKER in entry.name
        is_shard_file = entry.name.startswith(f"{SHARD_PREFIX}-") and (
            entry.name.endswith((".bin", ".idx")) or entry.name.endswith(sidecar_name("")))
        if is_temporary or (is_shard_file and stem not in reported):
            entry.remove()
            removed.append(entry)
    if removed:
        log.info("removed %d leftover file(s) of failed or earlier attempts in %s", len(removed), folder)


def tokenize_stats(manifest: Manifest, folder: Path) -> dict[str, Any]:
    return {"tokens_dir": str(folder), "documents": manifest.documents, "tokens": manifest.tokens,
            "shards": len(manifest.shards), "dtype": manifest.dtype, "tokenizer_hash": manifest.tokenizer.hash,
            "rejected": manifest.rejected, "rejected_total": sum(manifest.rejected.values()),
            **({"run_id": manifest.run["run_id"]} if manifest.run else {}),
            **({"rehydration": {k: v for k, v in manifest.rehydration.items() if k != "table"}}
               if manifest.rehydration else {})}


__all__ = [
    "REJECT_EMPTY", "REJECT_MISSING_TEXT", "RESULT_SCHEMA", "TokenizeOptions", "choose_dtype", "encode_documents",
    "finish_token_folder", "flatten", "tokenize_partition", "tokenize_stats",
]
