"""Token shards written to a remote filesystem: each task uploads its finished shards to the target, the driver
deletes what no task reported and writes the manifest last. Runs on fsspec's in-process ``memory://`` store, which
(like an object store) has no atomic rename, so the upload branch is exercised without a service."""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pytest

from curator.io.filesystem import Location
from curator.tokenization.job import TokenizeOptions, finish_token_folder, tokenize_partition
from curator.tokenization.manifest import load_manifest
from curator.tokenization.tokenizer import read_bundle


pytest.importorskip("fsspec")


def test_shards_go_to_the_target_filesystem_and_the_manifest_lists_only_reported_ones(trained_bundles, moby_texts,
                                                                                       tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where a task stages a shard before uploading it
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    bundle = trained_bundles["bpe"]
    folder = Location(f"memory://curator-test-{uuid.uuid4().hex[:8]}/tokens")
    assert not folder.is_local and not folder.atomic_rename
    (folder / "part-00009-0000.bin").write_bytes(b"left by a killed attempt")  # no task reports it
    batch = pa.record_batch({"id": [f"d{i}" for i in range(20)], "text": moby_texts[:19] + [""]})
    rows = list(tokenize_partition(iter([batch]), 3, bundle, folder.uri, "uint16", 20_000, "run", True))
    results = rows[0].to_pylist()
    shards = [r for r in results if r["prefix"]]
    assert len(shards) > 1 and [r["rejected_reason"] for r in results if r["rejected_reason"]] == ["tokenize_empty"]
    for shard in shards:
        for suffix in (".bin", ".idx", ".provenance.parquet"):
            assert (folder / f"{shard['prefix']}{suffix}").is_file()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # local copies deleted after the upload

    manifest = finish_token_folder(folder, results, bundle, TokenizeOptions(), "uint16", {"run_id": "run"})
    assert manifest.documents == 19 and len(manifest.shards) == len(shards)
    assert not (folder / "part-00009-0000.bin").exists()  # unreported: removed by the driver
    assert load_manifest(folder.uri).tokens == manifest.tokens
    assert read_bundle(folder / "tokenizer").hash == bundle.hash
    assert (folder / "rejected.jsonl").read_text().strip() == '{"id": "d19", "reason": "tokenize_empty"}'
    # The uploaded .bin holds exactly the tokens the task reported.
    tokens = np.frombuffer((folder / f"{shards[0]['prefix']}.bin").read_bytes(), dtype=np.uint16)
    assert tokens.size == shards[0]["tokens"]
