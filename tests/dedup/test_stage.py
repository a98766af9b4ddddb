"""The dedup stage on Spark: grouping, transitivity, survivors, determinism, and the runner's ledger."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from curator.dedup.minhash import MinHasher, MinHashParams, exact_jaccard
from curator.dedup.stage import DedupConfig, DedupStage
from curator.stage import StageContext


pytestmark = pytest.mark.spark

SCHEMA = "id string, text string, source string, url string, meta string, quality_score double"


def words(rng: random.Random, n: int) -> list[str]:
    return [f"w{rng.randrange(20_000)}" for _ in range(n)]


def edit(tokens: list[str], positions, tag: str) -> list[str]:
    out = list(tokens)
    for p in positions:
        out[p] = f"{tag}{p}"
    return out


def jaccard(a: str, b: str) -> float:
    hasher = MinHasher(MinHashParams())
    return exact_jaccard(hasher.shingles(a), hasher.shingles(b))


def build_corpus() -> tuple[list[tuple], dict[str, str]]:
    """Documents plus the expected survivor of every document that must be removed."""
    rng = random.Random(11)
    docs, expected = [], {}

    def add(doc_id, text, quality=None):
        docs.append((doc_id, text, "test", None, "{}", quality))

    # Identical, formatting-only and near-identical copies of one document.
    base = words(rng, 200)
    add("a0", " ".join(base))
    add("a1", " ".join(base))
    expected["a1"] = "a0"
    add("a2", " ".join(base).upper().replace(" ", ",  ") + "!")
    expected["a2"] = "a0"
    add("a3", " ".join(edit(base, [100], "x")))
    expected["a3"] = "a0"

    # A chain: b0~b1 and b1~b2, but b0 and b2 are not similar. Transitivity puts all three in one group; the
    # survivor check (default) releases b2, which is unlike the survivor b0.
    chain = words(rng, 200)
    b1 = edit(chain, range(5, 200, 70), "y")
    b2 = edit(b1, range(40, 200, 70), "z")
    add("b0", " ".join(chain))
    add("b1", " ".join(b1))
    add("b2", " ".join(b2))
    expected["b1"] = "b0"

    # Code and arithmetic differing in one operator are different documents, not exact duplicates.
    for doc_id, text in (("m0", "x = a + b"), ("m1", "x = a - b"), ("m2", "2+2=4"), ("m3", "2*2=4")):
        add(doc_id, text)

    # Quality decides the survivor: the best-scored copy wins even with a larger id; NaN ranks last.
    q = words(rng, 150)
    add("q0", " ".join(q), quality=0.2)
    add("q1", " ".join(edit(q, [70], "q")), quality=0.9)
    add("q2", " ".join(q), quality=float("nan"))
    expected["q0"] = expected["q2"] = "q1"

    # Chinese near-duplicates (character shingles): one character replaced in 300.
    han = [chr(0x4E00 + rng.randrange(8000)) for _ in range(300)]
    han_copy = list(han)
    han_copy[150] = "猫"
    add("c0", "".join(han))
    add("c1", "".join(han_copy))
    expected["c1"] = "c0"

    # Unrelated documents, some sharing boilerplate, in several scripts; and texts with nothing to shingle.
    boiler = words(rng, 30)
    for i in range(40):
        add(f"u{i:02d}", " ".join(boiler + words(rng, 120)))
    for i in range(5):
        add(f"h{i}", "".join(chr(0x4E00 + rng.randrange(8000)) for _ in range(200)))
    add("p0", "!!! ???")
    add("p1", "... ---")
    return docs, expected


@pytest.fixture(scope="module")
def corpus():
    docs, expected = build_corpus()
    # Self-check of the fixture: the chain really is a chain at the 0.8 threshold.
    text = {d[0]: d[1] for d in docs}
    assert jaccard(text["b0"], text["b1"]) >= 0.8 and jaccard(text["b1"], text["b2"]) >= 0.8
    assert jaccard(text["b0"], text["b2"]) < 0.75
    return docs, expected


def run_dedup(spark, docs, tmp: Path, input_partitions: int, engine: str = "spark", map_tasks=None, **config):
    """``engine="driver"``: the stage's ``annotate_table`` over an Arrow table (a small run's path, no Spark),
    fingerprinting through ``map_tasks`` when given (the driver engine's worker pool)."""
    if engine == "driver":
        import pyarrow as pa

        names = [c.split()[0] for c in SCHEMA.split(", ")]
        types = [pa.string()] * 5 + [pa.float64()]
        table = pa.table({n: pa.array([d[i] for d in docs], t) for i, (n, t) in enumerate(zip(names, types))})
        annotated, stats = DedupStage(DedupConfig(**config)).annotate_table(table, map_tasks=map_tasks)
        return {r["id"]: r for r in annotated.to_pylist()}, stats
    df = spark.createDataFrame(docs, SCHEMA).repartition(input_partitions)
    shutil.rmtree(tmp, ignore_errors=True)
    ctx = StageContext(spark=spark, run_dir=tmp, scratch_dir=tmp / "scratch", stage_name="dedup")
    annotated = DedupStage(DedupConfig(**config)).annotate(df, ctx)
    rows = {r["id"]: r.asDict() for r in annotated.frame.collect()}
    return rows, annotated.extra_stats


# Every decision test runs on both paths: grouped in the driver process (small inputs, the default here) and as
# Spark steps over scratch tables (in_process_max_documents=0, what a large corpus gets).
# The extra configurations run the distributed path in the slow set only (each run costs ~30 s on 2 cores).
# A third, the driver engine, runs the stage with no Spark at all (curator.spark.in_driver: small local runs).
IN_PROCESS, DISTRIBUTED, DRIVER = {}, {"in_process_max_documents": 0}, {"engine": "driver"}
BOTH_PATHS = pytest.mark.parametrize("path_config", [
    pytest.param(IN_PROCESS, id="in_process"),
    pytest.param(DRIVER, id="driver"),
    pytest.param(DISTRIBUTED, id="distributed", marks=pytest.mark.slow),
])


@pytest.fixture(scope="module", params=[IN_PROCESS, DISTRIBUTED, DRIVER], ids=["in_process", "distributed", "driver"])
def result(request, spark, corpus, tmp_path_factory):
    docs, _ = corpus
    return run_dedup(spark, docs, tmp_path_factory.mktemp("dedup_a"), input_partitions=1, **request.param)


def test_every_document_comes_out_once(corpus, result):
    docs, _ = corpus
    rows, _ = result
    assert sorted(rows) == sorted(d[0] for d in docs)


def test_duplicates_are_removed_with_the_survivor_id(corpus, result):
    _, expected = corpus
    rows, _ = result
    removed = {i: r["reason_detail"] for i, r in rows.items() if r["reason"] is not None}
    assert removed == expected
    assert rows["a1"]["reason"] == "exact_duplicate"
    assert rows["q2"]["reason"] == "exact_duplicate"
    for doc_id in ("a2", "a3", "b1", "c1", "q0"):  # a2 differs in case and punctuation: a near duplicate
        assert rows[doc_id]["reason"] == "minhash_duplicate", doc_id


def test_survivor_check_releases_chain_members_unlike_the_survivor(result):
    rows, stats = result
    assert rows["b2"]["reason"] is None and rows["b2"]["dup_group_size"] == 1 and rows["b2"]["dup_cluster"] is None
    assert rows["b1"]["dup_cluster"] == "b0" and rows["b0"]["dup_group_size"] == 2
    assert rows["a0"]["dup_group_size"] == 4
    assert rows["q1"]["reason"] is None and rows["q1"]["dup_cluster"] == "q1"
    assert stats["released_by_survivor_check"] == 1


@BOTH_PATHS
def test_without_survivor_check_groups_are_transitive(spark, corpus, path_config, tmp_path_factory):
    docs, _ = corpus
    rows, stats = run_dedup(spark, docs, tmp_path_factory.mktemp("dedup_t"), input_partitions=1,
                            survivor_check=False, **path_config)
    assert {rows[i]["dup_cluster"] for i in ("b0", "b1", "b2")} == {"b0"}
    assert rows["b2"]["reason"] == "minhash_duplicate" and rows["b0"]["dup_group_size"] == 3
    assert "released_by_survivor_check" not in stats


def test_unrelated_and_empty_documents_are_kept_alone(result):
    rows, _ = result
    for doc_id, row in rows.items():
        if doc_id[0] in "uhpm":
            assert row["reason"] is None and row["dup_cluster"] is None and row["dup_group_size"] == 1, doc_id


def test_stats(result):
    _, stats = result
    assert stats["groups"] == 4 + 0 + 0  # a, b, q, c
    assert stats["group_size_histogram"] == {"2": 2, "3": 1, "4": 1}
    assert stats["exact_duplicates"] == 2 and stats["minhash_duplicates"] == 5
    assert stats["duplicates_removed"] == 7
    assert stats["exact_groups"] == 2
    assert stats["candidate_pairs"] >= stats["verified_pairs"] >= 5
    assert stats["parameters"]["bands"] == 21 and stats["parameters"]["rows"] == 9
    assert stats["survivor_rule"] == "highest quality_score, then smallest id"


def test_identical_across_reruns_partition_counts_and_paths(spark, corpus, result, tmp_path_factory):
    """The rerun (in process, other partitioning, reversed input) equals both paths' first run."""
    docs, _ = corpus
    rows, _ = result
    again, _ = run_dedup(spark, list(reversed(docs)), tmp_path_factory.mktemp("dedup_b"), input_partitions=5,
                         partitions=7)

    def decisions(out):  # every column but quality_score, which holds a NaN (NaN != NaN)
        return {i: {k: v for k, v in r.items() if k != "quality_score"} for i, r in out.items()}

    assert decisions(again) == decisions(rows)


@BOTH_PATHS
def test_smallest_id_rule_and_signature_only_verification(spark, corpus, path_config, tmp_path_factory):
    docs, _ = corpus
    rows, stats = run_dedup(spark, docs, tmp_path_factory.mktemp("dedup_c"), input_partitions=2,
                            survivor="smallest_id", verify="signature", exact=False, **path_config)
    assert stats["exact_checked_pairs"] == 0
    # Exact copies are now found by MinHash (estimate 1.0), and q0 wins over q1 by id.
    assert rows["a1"]["reason"] == "minhash_duplicate" and rows["a1"]["reason_detail"] == "a0"
    assert rows["q1"]["reason_detail"] == "q0" and rows["q0"]["reason"] is None
    assert rows["p1"]["reason"] is None  # nothing to shingle: kept


@pytest.mark.slow
def test_in_process_and_distributed_paths_decide_the_same(spark, tmp_path):
    """A larger generated corpus with families of near copies at many edit rates (so many pairs fall in the exact
    Jaccard band), chains and exact copies: both paths give identical decisions and statistics, with and without
    the signature shortcut."""
    rng = random.Random(23)
    docs = []
    for family in range(60):
        base = words(rng, rng.randint(40, 160))
        docs.append((f"f{family:02d}", " ".join(base), "test", None, "{}", None))
        for copy in range(rng.randint(0, 4)):
            rate = rng.choice([0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05])
            edited = [w if rng.random() >= rate else f"e{rng.randrange(99)}" for w in base]
            text = " ".join(edited) if copy != 3 else " ".join(base)
            docs.append((f"f{family:02d}c{copy}", text, "test", None, "{}", rng.choice([None, rng.random()])))
    docs.append(("short", "too short", "test", None, "{}", None))
    for verify in ("signature_then_exact", "exact"):
        local, local_stats = run_dedup(spark, docs, tmp_path / f"l_{verify}", 2, verify=verify)
        spread, spread_stats = run_dedup(spark, docs, tmp_path / f"d_{verify}", 3, verify=verify,
                                         in_process_max_documents=0)
        driver, driver_stats = run_dedup(spark, docs, tmp_path, 1, engine="driver", verify=verify)
        assert local_stats.pop("in_process") and not spread_stats.pop("in_process")
        local_stats.pop("cc_rounds"), spread_stats.pop("cc_rounds")
        assert local == spread, verify
        assert local_stats == spread_stats, verify
        driver_stats.pop("cc_rounds")
        assert driver_stats.pop("in_process")
        assert driver == local, verify
        assert driver_stats == local_stats, verify
        assert local_stats["minhash_duplicates"] > 10 and local_stats["exact_duplicates"] > 0
        assert local_stats["exact_checked_pairs"] > 0
    assert local_stats["exact_checked_pairs"] == local_stats["candidate_pairs"]  # verify=exact checks every pair


def test_fingerprints_from_the_worker_pool_give_the_same_decisions(corpus, monkeypatch):
    from curator.spark import dedup_ops
    from curator.spark.local_pool import LocalPool

    docs, _ = corpus
    monkeypatch.setattr(dedup_ops, "FINGERPRINT_SLICE", 16)  # several tasks for each of the two workers
    alone = run_dedup(None, docs, Path("unused"), 1, engine="driver")
    pool = LocalPool(2)
    try:
        pooled = run_dedup(None, docs, Path("unused"), 1, engine="driver", map_tasks=pool.map)
    finally:
        pool.close()
    same = json.dumps(pooled, sort_keys=True, default=str) == json.dumps(alone, sort_keys=True, default=str)
    assert same  # compared as JSON: a NaN quality_score is not equal to itself
    assert alone[1]["minhash_duplicates"] > 0


def test_connected_components_match_union_find(spark, tmp_path):
    from curator.spark.dedup_ops import connected_components

    rng = random.Random(5)
    edges = {tuple(sorted(rng.sample(range(400), 2))) for _ in range(330)}
    edges |= {(i, i + 1) for i in range(1000, 1016)}  # a long path needs several rounds
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    expected = {n: find(n) for n in parent}
    frame = spark.createDataFrame(sorted(edges), "a long, b long")
    components, rounds = connected_components(frame, tmp_path, max_iterations=30)
    got = {r["_node"]: r["component"] for r in components.collect()}
    assert got == expected
    assert rounds >= 2


def test_runner_ledger_balances(spark, corpus, tmp_path):
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    docs, expected = corpus
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": d[0], "text": d[1]}) + "\n" for d in docs))
    spec = PipelineSpec.model_validate({
        "name": "dedup_test", "input": {"paths": [str(path)]}, "output": str(tmp_path / "out"),
        "stages": [{"stage": "ingest"}, {"stage": "dedup", "partitions": 3}],
    })
    runner = PipelineRunner(spec, spark=spark)
    results = runner.run_all()
    stats = results[-1].stats
    assert stats["in"] == len(docs) and stats["rejected_total"] == len(expected) - 0
    assert stats["extra"]["groups"] >= 4
    assert runner.ledger()["balanced"]
    rejected = spark.read.parquet(str(tmp_path / "out" / "dedup" / "rejected")).collect()
    assert {r["reason"] for r in rejected} == {"exact_duplicate", "minhash_duplicate"}
    assert not (tmp_path / "out" / "_scratch" / "dedup").exists()


def test_rank_nodes_follows_the_distributed_sort_order():
    # Quality descending with missing last, then id ascending with missing first (code-point order, like Spark's
    # UTF-8 byte order), then the content hash: the order assign_nodes sorts by in Spark.
    import pyarrow as pa

    from curator.dedup.stage import rank_nodes

    keys = pa.table({
        "_row": [10, 11, 12, 13, 14, 15, 16],
        "id": ["b", "a", None, "é", "z", "a", "Z"],
        "_quality": [0.5, 0.5, 0.9, None, 0.5, 0.5, None],
        "_content_hash": [0, 7, 0, 0, 0, -3, 0],
    })
    nodes = rank_nodes(keys, has_quality=True, has_content=True)
    by_row = dict(zip(nodes.column("_row").to_pylist(), nodes.column("_node").to_pylist()))
    assert [row for row, _ in sorted(by_row.items(), key=lambda kv: kv[1])] == [12, 15, 11, 10, 14, 16, 13]
    assert nodes.column("id").to_pylist() == keys.column("id").to_pylist()
