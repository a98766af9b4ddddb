"""Provenance sidecars, rehydration and ``inspect --locate/--doc``; megatron-core still reads the shards."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from curator.errors import CuratorError
from curator.spark.tokenize_ops import write_token_shards
from curator.tokenization.job import TokenizeOptions, tokenize_partition
from curator.tokenization.manifest import load_manifest, verify_shards
from curator.tokenization.provenance import SIDECAR_SUFFIX, find_document, locate
from curator.tokenization.rehydrate import RehydrationConfig, copies_for_size
from curator.tokenization.shards import MegatronShard


WORDS = ("harbour ship sail wind rope deck captain whale ocean storm island lantern anchor compass tide "
         "map gull wave night morning").split()


def generated_text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


@pytest.fixture(scope="module")
def bundle():
    from curator.tokenization.recipe import load_recipe
    from curator.tokenization.train import train_from_texts

    rng = random.Random(0)
    texts = [generated_text(rng, 60) for _ in range(200)]
    return train_from_texts(texts, load_recipe("bpe_demo").model_copy(update={"vocab_size": 300}))


def test_rehydration_table_and_cap():
    config = RehydrationConfig()
    assert [copies_for_size(s, config) for s in (None, 1, 2, 3, 4, 9, 10, 99, 100, 999, 1000, 10**6)] == \
        [1, 1, 2, 3, 3, 3, 5, 5, 8, 8, 1, 1]
    capped = RehydrationConfig(max_copies=4)
    assert copies_for_size(150, capped) == 4 and copies_for_size(2, capped) == 2
    with pytest.raises(ValidationError, match="differ in length"):
        RehydrationConfig(min_sizes=[1, 2], copies=[1])
    with pytest.raises(ValidationError, match="start at 1"):
        RehydrationConfig(min_sizes=[2, 3], copies=[1, 2])
    with pytest.raises(ValidationError, match="at least 1"):
        RehydrationConfig(min_sizes=[1, 2], copies=[1, 0])


def test_partition_writes_sidecar_matching_the_shard(tmp_path, bundle):
    rng = random.Random(1)
    texts = [generated_text(rng, rng.randint(5, 40)) for _ in range(30)] + [""]
    batch = pa.RecordBatch.from_pydict({
        "id": [f"d{i}" for i in range(31)], "text": texts, "source": ["gen"] * 31,
        "url": [f"https://example.org/{i}" for i in range(31)], "copy": [0] * 31})
    results = list(tokenize_partition(iter([batch]), 3, bundle, str(tmp_path), "uint16", 200, "run-1"))[0]
    rows = results.to_pylist()
    shards = [r for r in rows if r["prefix"]]
    assert len(shards) > 1 and [r["rejected_id"] for r in rows if r["rejected_reason"]] == ["d30"]
    seen = []
    for row in shards:
        shard = MegatronShard(tmp_path / row["prefix"])
        sidecar = pq.read_table(tmp_path / row["provenance"]).to_pylist()
        assert row["provenance"] == row["prefix"] + SIDECAR_SUFFIX and len(sidecar) == shard.num_documents
        for entry in sidecar:
            ids = shard.document(entry["doc_index"])
            assert entry["token_length"] == ids.size
            np.testing.assert_array_equal(shard.tokens[entry["token_offset"]:entry["token_offset"] + ids.size], ids)
            assert entry["run_id"] == "run-1" and entry["tokenizer_hash"] == bundle.hash
            seen.append(entry["id"])
            assert entry["url"] == f"https://example.org/{entry['id'][1:]}" and entry["source"] == "gen"
    assert seen == [f"d{i}" for i in range(30)]  # document order is kept


@pytest.mark.spark
def test_rehydrated_shards_sidecars_locate_and_megatron_core(spark, tmp_path, bundle):
    rng = random.Random(2)
    sizes = [1, 1, 2, 3, 12, 150, 5000, None]
    rows = [(f"doc-{i}", generated_text(rng, 30), "gen", None, size) for i, size in enumerate(sizes)]
    frame = spark.createDataFrame(rows, "id string, text string, source string, url string, dup_group_size int")
    folder = tmp_path / "tokens"
    options = TokenizeOptions(rehydration=RehydrationConfig(), shuffle_seed=7, num_shards=2,
                              run_record={"stage": "tokenize"})
    manifest = write_token_shards(frame, bundle, folder, options)
    verify_shards(folder)
    expected = {f"doc-{i}": copies_for_size(s, RehydrationConfig()) for i, s in enumerate(sizes)}
    assert manifest.rehydration["documents_before"] == 8
    assert manifest.rehydration["documents_after"] == sum(expected.values()) == manifest.documents
    assert manifest.rehydration["tokens_after"] > manifest.rehydration["tokens_before"]
    assert manifest.run["stage"] == "tokenize" and len(manifest.run["run_id"]) == 32
    loaded = load_manifest(folder)
    for doc_id, copies in expected.items():
        found = find_document(folder, loaded, doc_id)
        assert sorted(f["copy"] for f in found) == list(range(copies))
        assert all(f["run_id"] == manifest.run["run_id"] for f in found)
    # every token of every shard resolves to the document whose span holds it
    for entry in loaded.shards:
        sidecar = pq.read_table(folder / entry.provenance).to_pylist()
        for doc in sidecar:
            for offset in (doc["token_offset"], doc["token_offset"] + doc["token_length"] - 1):
                hit = locate(folder, loaded, entry.prefix, offset)
                assert (hit["id"], hit["copy"]) == (doc["id"], doc["copy"])
    with pytest.raises(CuratorError, match="outside shard"):
        locate(folder, loaded, loaded.shards[0].prefix, loaded.shards[0].tokens)

    # megatron-core reads the shards with the sidecars beside them
    pytest.importorskip("torch")
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    for prefix in loaded.shard_prefixes(folder):
        dataset = indexed.IndexedDataset(str(prefix), multimodal=False, mmap=True)
        ours = MegatronShard(prefix)
        assert len(dataset) == ours.num_documents
        np.testing.assert_array_equal(np.concatenate([dataset[i] for i in range(len(dataset))]), ours.tokens)

    # the CLI answers --locate and --doc with the source document, its stored text and the run record
    def inspect(*args):
        out = subprocess.run([sys.executable, "-m", "curator", "inspect", str(folder), *args],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    first = loaded.shards[0]
    report = inspect("--locate", f"{first.prefix}:0")
    document = report["documents"][0]
    assert report["run"]["run_id"] == manifest.run["run_id"]
    assert document["text"].rstrip().endswith(dict((r[0], r[1]) for r in rows)[document["id"]][-20:])
    report = inspect("--doc", "doc-5")
    assert len(report["documents"]) == 8 and {d["id"] for d in report["documents"]} == {"doc-5"}
    bad = subprocess.run([sys.executable, "-m", "curator", "inspect", str(folder), "--locate", "nonsense"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "SHARD:TOKEN_OFFSET" in bad.stdout + bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.spark
def test_rehydration_needs_the_dedup_column(spark, tmp_path, bundle):
    frame = spark.createDataFrame([("a", "harbour ship")], "id string, text string")
    with pytest.raises(CuratorError, match="dup_group_size"):
        write_token_shards(frame, bundle, tmp_path / "t", TokenizeOptions(rehydration=RehydrationConfig()))
