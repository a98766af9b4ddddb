"""In-process dedup decisions (curator.dedup.groups) on fingerprints built without Spark."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa

from curator.dedup.groups import VerifyRule, decide, group_stats
from curator.dedup.minhash import MinHasher, MinHashParams
from curator.dedup.stage import size_bin
from curator.spark.dedup_ops import fingerprint_batch


def words(rng: random.Random, n: int) -> list[str]:
    return [f"w{rng.randrange(20_000)}" for _ in range(n)]


def run(texts: list[str], **options):
    """Nodes are list positions (the survivor order); ids are 'd<position>'."""
    batch = pa.record_batch({"_node": pa.array(np.arange(len(texts)), pa.int64()), "text": texts})
    prints = pa.Table.from_batches([fingerprint_batch(batch, MinHasher(MinHashParams()))])
    settings = dict(exact=True, fuzzy=True, rule=VerifyRule(0.8, "signature_then_exact", 0.08),
                    max_bucket_all_pairs=16, survivor_check=True)
    settings.update(options)
    table, stats = decide(prints, {i: f"d{i}" for i in range(len(texts))}, **settings)
    stats.update(group_stats(table, size_bin))
    return {row["_node"]: row for row in table.to_pylist()}, stats


def test_exact_near_and_chain_decisions_with_reasons():
    rng = random.Random(4)
    base, chain = words(rng, 200), words(rng, 200)
    near = list(base)
    near[100] = "changed"
    b1 = list(chain)
    for p in range(5, 200, 70):
        b1[p] = f"y{p}"
    b2 = list(b1)
    for p in range(40, 200, 70):
        b2[p] = f"z{p}"
    texts = [" ".join(base), " ".join(chain), " ".join(base), " ".join(near), " ".join(b1), " ".join(b2),
             "x = a + b", "x = a + b", "!!!"]
    rows, stats = run(texts)
    assert rows[2]["reason"] == "exact_duplicate" and rows[2]["reason_detail"] == "d0"
    assert rows[3]["reason"] == "minhash_duplicate" and rows[3]["reason_detail"] == "d0"
    assert rows[0]["reason"] is None and rows[0]["dup_group_size"] == 3 and rows[0]["dup_cluster"] == "d0"
    assert rows[4]["reason"] == "minhash_duplicate" and rows[4]["reason_detail"] == "d1"
    # b2 is like b1 but not like the survivor b0 (node 1): the survivor check releases it.
    assert rows[5]["reason"] is None and rows[5]["dup_group_size"] == 1 and rows[5]["dup_cluster"] is None
    assert stats["released_by_survivor_check"] == 1
    # Too short for a shingle: exact step only.
    assert rows[7]["reason"] == "exact_duplicate" and rows[8]["reason"] is None
    assert stats["exact_duplicates"] == 2 and stats["minhash_duplicates"] == 2 and stats["groups"] == 3
    assert stats["group_size_histogram"] == {"2": 2, "3": 1}

    transitive, stats = run(texts, survivor_check=False)
    assert transitive[5]["reason"] == "minhash_duplicate" and transitive[5]["reason_detail"] == "d1"
    assert "released_by_survivor_check" not in stats


def test_verification_modes_and_fuzzy_off():
    rng = random.Random(8)
    base = words(rng, 150)
    edited = list(base)
    for p in (30, 90):
        edited[p] = "other"
    texts = [" ".join(base), " ".join(edited), " ".join(words(rng, 150))]
    for mode, exact_checked in (("signature", 0), ("exact", None)):
        rows, stats = run(texts, rule=VerifyRule(0.8, mode, 0.08))
        assert rows[1]["reason"] == "minhash_duplicate" and rows[2]["reason"] is None
        if exact_checked is not None:
            assert stats["exact_checked_pairs"] == exact_checked
        else:
            assert stats["exact_checked_pairs"] == stats["candidate_pairs"] >= 1
    rows, stats = run(texts, fuzzy=False)
    assert all(r["reason"] is None for r in rows.values()) and "candidate_pairs" not in stats
