"""Tokenizer training and tokenization over Arrow tables (a small run's sinks, no Spark): the held-out choice is
Spark's, and the shards hold the same documents and tokens as the Spark sinks write."""

from __future__ import annotations

import json
import random

import numpy as np
import pyarrow as pa
import pytest

from curator.stage import StageContext
from curator.tokenization.in_process import heldout_mask, spark_xxhash64
from curator.tokenization.stage import TokenizeConfig, TokenizeStage, TrainTokenizerConfig, TrainTokenizerStage


def random_ids(n: int) -> list[str | None]:
    rng = random.Random(5)
    alphabet = "abcXYZ019 -_éß日本😀"
    return [None if i % 97 == 0 else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
            for i in range(n)]


@pytest.mark.spark
def test_spark_xxhash64_is_sparks_own(spark):
    from pyspark.sql import functions as F

    ids = random_ids(500)
    frame = spark.createDataFrame([(i, v) for i, v in enumerate(ids)], "n long, id string")
    for seed in (0, 1234, -5, 2**31 - 1):
        expected = dict(frame.select("n", F.xxhash64("id", F.lit(seed)).alias("h")).collect())
        assert spark_xxhash64(ids, seed).tolist() == [expected[i] for i in range(len(ids))], seed


def test_heldout_fraction_is_about_right_and_stable():
    ids = [f"doc-{i}" for i in range(20_000)]
    mask = heldout_mask(ids, 0.05, 1234)
    assert 0.045 < mask.mean() < 0.055
    assert np.array_equal(mask, heldout_mask(list(reversed(ids)), 0.05, 1234)[::-1])  # per document, not position
    assert not np.array_equal(mask, heldout_mask(ids, 0.05, 99))


RECIPE = {"name": "tiny", "algorithm": "bpe", "vocab_size": 300, "byte_fallback": True,
          "sample": {"max_documents": 1000, "holdout_fraction": 0.2}}


def corpus_table() -> pa.Table:
    rng = random.Random(3)
    words = ["river", "bridge", "market", "winter", "garden", "museum", "station", "harbour", "Straße", "café"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 60))) for _ in range(120)]
    texts[7], texts[8] = "", None  # tokenize rejects these; training skips them
    return pa.table({"id": [f"d{i:03d}" for i in range(len(texts))], "text": texts,
                     "dup_group_size": pa.array([1 + i % 3 for i in range(len(texts))], pa.int32())})


@pytest.mark.spark
def test_sinks_over_arrow_match_the_spark_sinks(spark, tmp_path):
    table = corpus_table()
    runs = {}
    for engine in ("spark", "arrow"):
        root = tmp_path / engine
        (root / "train").mkdir(parents=True)
        (root / "tok").mkdir()
        ctx = StageContext(spark=spark, run_dir=root, scratch_dir=root / "scratch", stage_name="train",
                           default_parallelism=2)
        trainer = TrainTokenizerStage(TrainTokenizerConfig(recipe=RECIPE))
        frame = spark.createDataFrame(table.to_pylist(), "id string, text string, dup_group_size int").repartition(2)
        train_stats = (trainer.run_sink(frame, ctx, root / "train") if engine == "spark"
                       else trainer.run_sink_table(table, ctx, root / "train"))
        tokenizer = TokenizeStage(TokenizeConfig(tokenizer=str(root / "train" / "tokenizer"), shuffle_seed=7,
                                                 rehydrate={"min_sizes": [1, 3], "copies": [1, 2]}))
        ctx.stage_name = "tok"
        tok_stats = (tokenizer.run_sink(frame, ctx, root / "tok") if engine == "spark"
                     else tokenizer.run_sink_table(table, ctx, root / "tok"))
        manifest = json.loads((root / "tok" / "tokens" / "manifest.json").read_text())
        runs[engine] = (train_stats, tok_stats, manifest)
    (spark_train, spark_tok, spark_manifest), (arrow_train, arrow_tok, arrow_manifest) = runs["spark"], runs["arrow"]
    # Same held-out documents and sample (the corpus is under the caps), so the same tokenizer.
    for key in ("sampled_documents", "sampled_chars", "holdout", "vocab_size", "hash"):
        assert arrow_train[key] == spark_train[key], key
    # Same documents, copies and tokens; shard order inside differs (numpy's shuffle, not Spark's).
    for key in ("documents", "tokens", "rejected", "shards", "rehydration"):
        assert arrow_tok.get(key) == spark_tok.get(key), key
    assert arrow_tok["rejected"] == {"tokenize_empty": 1, "tokenize_missing_text": 1}
    # Groups of 3 (every third document) are written twice; the two rejected documents are not written at all.
    doubled = sum(1 for i in range(table.num_rows) if i % 3 == 2 and i not in (7, 8))
    rehydrated = arrow_tok["rehydration"]
    assert rehydrated["documents_after"] - rehydrated["documents_before"] == doubled == 39
    assert sum(s["tokens"] for s in arrow_manifest["shards"]) == sum(s["tokens"] for s in spark_manifest["shards"])


def test_tokenize_through_the_worker_pool_writes_the_same_shards(tmp_path):
    from curator.spark.local_pool import LocalPool

    table = corpus_table()
    ctx = StageContext(spark=None, run_dir=tmp_path, scratch_dir=tmp_path / "scratch", stage_name="train",
                       default_parallelism=2)
    (tmp_path / "train").mkdir()
    TrainTokenizerStage(TrainTokenizerConfig(recipe=RECIPE)).run_sink_table(table, ctx, tmp_path / "train")
    tokenizer = TokenizeStage(TokenizeConfig(tokenizer=str(tmp_path / "train" / "tokenizer"), shuffle_seed=7,
                                             num_shards=3))
    manifests = {}
    pool = LocalPool(2)
    try:
        for name, map_tasks in (("one", None), ("pool", pool.map)):
            (tmp_path / name).mkdir()
            ctx.stage_name, ctx.map_tasks = name, map_tasks
            stats = tokenizer.run_sink_table(table, ctx, tmp_path / name)
            manifest = json.loads((tmp_path / name / "tokens" / "manifest.json").read_text())
            manifests[name] = (stats["documents"], stats["tokens"],
                               [(s["documents"], s["tokens"], s["sha256_bin"], s["sha256_idx"])
                                for s in manifest["shards"]])
    finally:
        pool.close()
    assert manifests["pool"] == manifests["one"]
    assert len(manifests["one"][2]) == 3 and manifests["one"][0] == table.num_rows - 2


def test_a_retrained_tokenizer_folder_changes_the_tokenize_fingerprint(tmp_path):
    from curator.specs import StageSpec

    folder = tmp_path / "tokenizer"
    folder.mkdir()

    def fingerprint() -> str:
        config = TokenizeConfig(tokenizer=str(folder))
        return StageSpec(stage="tokenize", name="tokenize", config=config).fingerprint()

    missing = fingerprint()  # not an artifact yet: still a config, tokenize names the problem when it runs
    (folder / "artifact.json").write_text(json.dumps({"hash": "aaa", "trainer": "hf"}))
    first = fingerprint()
    assert first != missing and fingerprint() == first
    (folder / "artifact.json").write_text(json.dumps({"hash": "bbb", "trainer": "hf"}))  # retrained in place
    assert fingerprint() != first
    assert "tokenizer_hash" not in TokenizeConfig().model_dump()  # the run's own tokenizer: chained fingerprints
