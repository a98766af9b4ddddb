"""manifest.json: validation, clear errors, and verification against the shard files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curator.tokenization.manifest import (
    Manifest,
    ManifestError,
    ShardEntry,
    TokenizerRef,
    load_manifest,
    verify_shards,
    write_manifest,
)
from curator.tokenization.shards import ShardWriter


def _folder_with_shards(tmp_path, shard_documents):
    entries = []
    for n, documents in enumerate(shard_documents):
        with ShardWriter(tmp_path / f"part-{n:05d}", np.uint16) as writer:
            writer.add_documents(documents)
        info = writer.info
        entries.append(ShardEntry(prefix=f"part-{n:05d}", documents=info.documents, tokens=info.tokens,
                                  sha256_bin=info.sha256_bin, sha256_idx=info.sha256_idx))
    manifest = Manifest(
        tokenizer=TokenizerRef(hash="abc", vocab_size=4096, eod_id=2, algorithm="bpe"), dtype="uint16",
        documents=sum(e.documents for e in entries), tokens=sum(e.tokens for e in entries), shards=entries,
        rejected={"tokenize_empty": 1},
    )
    write_manifest(tmp_path, manifest)
    return manifest


def test_round_trip_and_verification(tmp_path):
    written = _folder_with_shards(tmp_path, [[[5, 2], [6, 7, 2]], [[9, 9, 9, 2]]])
    loaded = load_manifest(tmp_path)
    assert loaded == written
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert data["format"] == "megatron-mmidx" and data["dtype"] == "uint16"
    assert set(data["tokenizer"]) == {"hash", "vocab_size", "eod_id", "algorithm"}
    assert (data["documents"], data["tokens"]) == (3, 9)
    assert [s["prefix"] for s in data["shards"]] == ["part-00000", "part-00001"]
    assert loaded.shard_prefixes(tmp_path)[1] == (tmp_path / "part-00001").resolve()
    assert verify_shards(tmp_path) == loaded


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(ManifestError, match="no manifest.json"):
        load_manifest(tmp_path)


def test_inconsistent_manifests_are_rejected(tmp_path):
    _folder_with_shards(tmp_path, [[[5, 2]]])
    data = json.loads((tmp_path / "manifest.json").read_text())
    for change, message in [
        ({"tokens": 99}, "differ from the sum"),
        ({"format": "other"}, "format"),
        ({"dtype": "uint16", "tokenizer": {**data["tokenizer"], "vocab_size": 70_000}}, "does not fit"),
        ({"shards": [{**data["shards"][0], "prefix": "../elsewhere"}]}, "inside the tokens folder"),
    ]:
        (tmp_path / "manifest.json").write_text(json.dumps({**data, **change}))
        with pytest.raises(ManifestError, match=message):
            load_manifest(tmp_path)


def test_verify_detects_changed_shards(tmp_path):
    _folder_with_shards(tmp_path, [[[5, 2], [6, 2]]])
    raw = bytearray((tmp_path / "part-00000.bin").read_bytes())
    raw[0] ^= 1
    (tmp_path / "part-00000.bin").write_bytes(bytes(raw))
    verify_shards(tmp_path, check_hashes=False)  # counts still agree
    with pytest.raises(ManifestError, match="sha256"):
        verify_shards(tmp_path)
    (tmp_path / "part-00000.idx").unlink()
    with pytest.raises(ManifestError, match="does not exist"):
        verify_shards(tmp_path)
