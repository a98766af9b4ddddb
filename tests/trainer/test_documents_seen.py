"""``log_documents``: the trainer records which source documents (ids from the provenance sidecars) each step saw."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curator.tokenization.manifest import Manifest, ShardEntry, TokenizerRef, write_manifest
from curator.tokenization.provenance import ProvenanceBuffer
from curator.tokenization.shards import ShardWriter


EOD = 1


def unique_token_folder(folder, num_docs=40, num_shards=2):
    """Document d is ``[d + 10] * length + [EOD]``, so every token names its document."""
    rng = np.random.default_rng(3)
    docs = [[d + 10] * int(rng.integers(3, 30)) + [EOD] for d in range(num_docs)]
    entries = []
    for index, part in enumerate(np.array_split(np.arange(num_docs), num_shards)):
        prefix = folder / f"part-{index:05d}"
        sidecar = ProvenanceBuffer("run-x", "hash-x")
        with ShardWriter(prefix, np.uint16) as writer:
            for d in part:
                sidecar.add(f"doc-{d}", "gen", None, 0, writer.num_tokens, len(docs[d]))
                writer.add_document(docs[d])
        info = writer.info
        entries.append(ShardEntry(prefix=prefix.name, documents=info.documents, tokens=info.tokens,
                                  sha256_bin=info.sha256_bin, sha256_idx=info.sha256_idx,
                                  provenance=sidecar.write(prefix)))
    write_manifest(folder, Manifest(
        tokenizer=TokenizerRef(hash="hash-x", vocab_size=max(128, num_docs + 16), eod_id=EOD, algorithm="bpe"),
        dtype="uint16",
        documents=num_docs, tokens=sum(e.tokens for e in entries), shards=entries))
    return folder


def test_window_documents_name_exactly_the_documents_in_the_window(tmp_path):
    from curator.trainer.data import BlendedSamples, TokenSource, WindowStream

    source = TokenSource(unique_token_folder(tmp_path))
    stream = WindowStream(source, np.arange(source.num_documents), seq_len=16, seed=5, source_index=0, split="train")
    samples = BlendedSamples([stream], [1.0], 3 * stream.samples_per_epoch)
    for sample in range(samples.num_samples):
        tokens = samples[sample]
        named = [d["id"] for d in samples.documents(sample)]
        # documents whose tokens appear, in order (a window may start or end on a document's EOD)
        touched = [f"doc-{t - 10}" for t in tokens if t != EOD]
        assert list(dict.fromkeys(touched)) == [n for n in named if n in touched]
        assert len(named) - len(set(touched)) <= 2  # at most the EOD-only ends are extra


def test_trainer_logs_documents_seen_only_when_asked(tmp_path):
    pytest.importorskip("torch")
    from curator.trainer.config import build_config
    from curator.trainer.loop import train

    folder = unique_token_folder(tmp_path / "tokens", num_docs=120)
    raw = {"model": {"preset": "debug"}, "data": {"folders": [str(folder)], "val_fraction": 0.0},
           "seq_len": 16, "micro_batch_size": 2, "global_batch_size": 4, "max_steps": 2, "log_every": 1,
           "eval_samples": 0, "device": "cpu"}
    train(build_config({**raw, "output_dir": str(tmp_path / "off")}))
    assert not list((tmp_path / "off").glob("documents_seen*"))
    train(build_config({**raw, "output_dir": str(tmp_path / "on"), "log_documents": True}))
    records = [json.loads(x) for x in (tmp_path / "on" / "documents_seen.rank0.jsonl").read_text().splitlines()]
    assert [(r["step"], r["sample"]) for r in records] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 4), (1, 5),
                                                          (1, 6), (1, 7)]
    assert all(d["id"].startswith("doc-") and d["shard"].startswith("part-") for r in records
               for d in r["documents"])
