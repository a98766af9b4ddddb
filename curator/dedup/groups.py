"""Dedup decisions for a corpus small enough to sit in one process: the same steps as the Spark path, in numpy.

Input: the fingerprint table the Spark path builds (``_node``, ``_exact_key``, ``_sig``, ``_bands``, ``_shingles``,
one row per document, nodes in survivor order) plus each node's ``id``. Output: one decision per node, with the
same semantics as the distributed steps in :mod:`curator.spark.dedup_ops` (checked equal by a test): exact groups
by key, LSH buckets -> candidate pairs (:func:`~curator.dedup.minhash.bucket_edges`), verification
(:func:`verified_mask`), connected components with the smallest node as label, and the survivor check.

No Spark here: a small input (the demo, tests, a benchmark) costs one collect instead of a dozen shuffles and
scratch tables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa

from curator.dedup.minhash import bucket_edges, exact_jaccard, shingles_from_bytes


@dataclass(frozen=True)
class VerifyRule:
    """How a candidate pair is accepted; shared by the Spark and the in-process path."""

    threshold: float
    mode: str  # "signature" | "signature_then_exact" | "exact"
    margin: float

    def needs_exact(self, estimate: np.ndarray) -> np.ndarray:
        if self.mode == "exact":
            return np.ones(len(estimate), dtype=bool)
        if self.mode == "signature":
            return np.zeros(len(estimate), dtype=bool)
        return (estimate >= self.threshold - self.margin) & (estimate < self.threshold + self.margin)

    def sure(self, estimate: np.ndarray) -> np.ndarray:
        """Accepted on the estimate alone (never true for a pair that needs the exact Jaccard)."""
        if self.mode == "exact":
            return np.zeros(len(estimate), dtype=bool)
        if self.mode == "signature":
            return estimate >= self.threshold
        return estimate >= self.threshold + self.margin


def verified_mask(a: np.ndarray, b: np.ndarray, estimate_of: Callable, jaccard_of: Callable,
                  rule: VerifyRule) -> tuple[np.ndarray, int]:
    """Which pairs (a[i], b[i]) are verified; plus how many needed the exact Jaccard."""
    estimate = estimate_of(a, b) if rule.mode != "exact" else np.zeros(len(a))
    accepted = rule.sure(estimate)
    borderline = np.flatnonzero(rule.needs_exact(estimate))
    for i in borderline:
        accepted[i] = jaccard_of(a[i], b[i]) >= rule.threshold
    return accepted, len(borderline)


class _UnionFind:
    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # the smaller node is the label, as in the Spark path's min-label components
            self.parent[max(ra, rb)] = min(ra, rb)


def decide(prints: pa.Table, ids: dict[int, str], *, exact: bool, fuzzy: bool, rule: VerifyRule,
           max_bucket_all_pairs: int, survivor_check: bool) -> tuple[pa.Table, dict]:
    """(fingerprints, node -> id) -> (decisions: _node, exact_root, survivor, dup_group_size, dup_cluster,
    reason, reason_detail; stats)."""
    order = np.argsort(prints.column("_node").to_numpy())
    nodes = prints.column("_node").to_numpy()[order]
    keys = prints.column("_exact_key").take(pa.array(order)).to_pylist()
    sig_values = prints.column("_sig").take(pa.array(order)).to_pylist()
    band_values = prints.column("_bands").take(pa.array(order)).to_pylist()
    shingle_values = prints.column("_shingles").take(pa.array(order)).to_pylist()
    index_of = {int(node): i for i, node in enumerate(nodes)}

    # Exact groups: the smallest node with the same key (nodes are sorted, so the first one seen).
    exact_root = nodes.copy()
    if exact:
        first_with_key: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            if key is not None:
                exact_root[i] = first_with_key.setdefault(key, int(nodes[i]))

    stats: dict = {}
    survivor = exact_root.copy()
    if fuzzy:
        signatures = {int(nodes[i]): np.frombuffer(sig, dtype="<u4") for i, sig in enumerate(sig_values)
                      if sig is not None and exact_root[i] == nodes[i]}
        buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, bands in enumerate(band_values):
            if bands is not None and int(nodes[i]) in signatures:
                for band, key in enumerate(bands):
                    buckets[(band, key)].append(int(nodes[i]))
        pairs = sorted({edge for members in buckets.values() if len(members) > 1
                        for edge in bucket_edges(members, max_bucket_all_pairs)})

        def estimate_of(a, b):
            if len(a) == 0:
                return np.zeros(0)
            sig_a = np.stack([signatures[int(x)] for x in a])
            sig_b = np.stack([signatures[int(x)] for x in b])
            return (sig_a == sig_b).mean(axis=1)

        def jaccard_of(a, b):
            return exact_jaccard(shingles_from_bytes(shingle_values[index_of[int(a)]]),
                                 shingles_from_bytes(shingle_values[index_of[int(b)]]))

        a = np.array([p[0] for p in pairs], dtype=np.int64)
        b = np.array([p[1] for p in pairs], dtype=np.int64)
        accepted, exact_checked = verified_mask(a, b, estimate_of, jaccard_of, rule)
        components = _UnionFind()
        for x, y in zip(a[accepted], b[accepted]):
            components.union(int(x), int(y))
        stats.update(candidate_pairs=len(pairs), exact_checked_pairs=exact_checked,
                     verified_pairs=int(accepted.sum()), cc_rounds=0)
        for i in range(len(nodes)):
            root = int(exact_root[i])
            if root in components.parent:
                survivor[i] = components.find(root)
        if survivor_check:
            # Every exact root whose survivor is another node: is it itself similar enough to the survivor?
            held_roots = np.array([int(nodes[i]) for i in range(len(nodes))
                                   if exact_root[i] == nodes[i] and survivor[i] != nodes[i]], dtype=np.int64)
            their_survivors = np.array([int(survivor[index_of[int(r)]]) for r in held_roots], dtype=np.int64)
            held, checked_exact = verified_mask(held_roots, their_survivors, estimate_of, jaccard_of, rule)
            released = set(held_roots[~held].tolist())
            for i in range(len(nodes)):
                if int(exact_root[i]) in released:
                    survivor[i] = exact_root[i]
            stats.update(survivor_checked=len(held_roots), released_by_survivor_check=len(released),
                         survivor_check_exact_pairs=checked_exact)

    sizes = defaultdict(int)
    for s in survivor.tolist():
        sizes[s] += 1
    group_size = np.array([sizes[s] for s in survivor.tolist()], dtype=np.int32)
    survivor_ids = [ids[s] for s in survivor.tolist()]
    removed = nodes != survivor
    reason = [None if not gone else ("exact_duplicate" if node != root else "minhash_duplicate")
              for gone, node, root in zip(removed.tolist(), nodes.tolist(), exact_root.tolist())]
    decisions = pa.table({
        "_node": pa.array(nodes, pa.int64()),
        "exact_root": pa.array(exact_root, pa.int64()),
        "survivor": pa.array(survivor, pa.int64()),
        "dup_group_size": pa.array(group_size, pa.int32()),
        "dup_cluster": pa.array([sid if size > 1 else None for sid, size in zip(survivor_ids, group_size.tolist())],
                                pa.string()),
        "reason": pa.array(reason, pa.string()),
        "reason_detail": pa.array([sid if gone else None for sid, gone in zip(survivor_ids, removed.tolist())],
                                  pa.string()),
    })
    return decisions, stats


def group_stats(decisions: pa.Table, size_bin: Callable[[int], str]) -> dict:
    """The stage's group statistics from an in-process decision table (same keys as the Spark version)."""
    nodes = decisions.column("_node").to_numpy()
    roots = decisions.column("exact_root").to_numpy()
    survivors = decisions.column("survivor").to_numpy()
    sizes = decisions.column("dup_group_size").to_numpy()
    reasons = decisions.column("reason").to_pylist()
    group_sizes = sorted(sizes[(nodes == survivors) & (sizes > 1)].tolist())
    histogram: dict[str, int] = {}
    for size in group_sizes:
        histogram[size_bin(size)] = histogram.get(size_bin(size), 0) + 1
    exact_count = reasons.count("exact_duplicate")
    minhash_count = reasons.count("minhash_duplicate")
    return {
        "groups": len(group_sizes),
        "group_size_histogram": histogram,
        "largest_group": max(group_sizes, default=0),
        "exact_groups": len(set(roots[nodes != roots].tolist())),
        "duplicates_removed": exact_count + minhash_count,
        "exact_duplicates": exact_count,
        "minhash_duplicates": minhash_count,
    }
