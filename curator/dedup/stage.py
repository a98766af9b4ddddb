"""dedup: exact then MinHash-LSH near-duplicate removal across the whole corpus, in plain Spark.

Steps (each a function in ``curator.spark.dedup_ops``; the per-document and per-pair logic is in ``minhash``):

1. **Stable ids.** Every document gets ``_node`` = its rank in the survivor order, materialised to scratch parquet
   before anything iterative (ids never come from a recomputed ``monotonically_increasing_id``). The sort keys are
   narrow: quality, id, and a 64-bit hash of the content columns (ids are unique after ingest).
2. **Fingerprints.** One vectorised pass per Arrow batch: the exact key (hash of the NFC text with whitespace
   folded), word n-gram shingles of the normalised tokens (stored as a sorted hash array, so verification never
   re-reads or re-tokenises text), the datasketch MinHash signature and its band keys.

Steps 3-5 run in the driver process (:mod:`curator.dedup.groups`, one collect of the fingerprints) when the input
has at most ``in_process_max_documents`` documents, else as Spark steps over materialised scratch tables; both
paths make the same decisions (tested).
3. **Exact.** Documents with the same exact key form a group; all but its best member are ``exact_duplicate``.
4. **Fuzzy.** For the exact groups' survivors only: band keys are grouped in Spark; buckets with several members
   give candidate pairs (all pairs in small buckets, star + chain in big ones); candidates are verified by the
   signature estimate and, within ``exact_margin`` of the threshold, by the exact Jaccard of the stored shingle
   hashes; verified pairs are joined into groups
   by connected components (large-star / small-star to convergence). All but the best member of a group are
   ``minhash_duplicate``.

**Survivor rule.** In every group the kept document is the one with the highest ``quality_score`` (when that column
exists and ``survivor`` is ``auto`` or ``highest_quality``; missing or NaN scores rank last), ties and unscored
corpora broken by the smallest ``id`` (string order). ``reason_detail`` of every removed document is the id of the
document that was kept in its group (for an exact duplicate of a document that was itself a near duplicate, that
is the group's final survivor). Kept documents carry ``dup_cluster`` (the survivor's id, null when the document has
no duplicates) and ``dup_group_size`` (1 when unique).

Documents with fewer normalised tokens than one shingle (or none: only punctuation or symbols) take part in the
exact step only. Groups are transitive (A~B and B~C put A, B and C in one group) but, with ``survivor_check`` (the
default), a member is removed only if its own similarity to the group's survivor reaches the threshold; the others
are released and kept, so a drifting chain of small edits never collapses onto one document.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import pyarrow as pa
from pydantic import Field, model_validator

from curator.document import DECISION_FIELDS
from curator.stage import Annotated, Stage, StageConfig, StageContext


EXACT_DUPLICATE = "exact_duplicate"
MINHASH_DUPLICATE = "minhash_duplicate"
DEDUP_REASONS = (EXACT_DUPLICATE, MINHASH_DUPLICATE)

BROADCAST_NODE_MAP_MAX = 4_000_000  # documents: a 64 MB (row, node) map

DEDUP_FIELDS = [pa.field("dup_cluster", pa.string()), pa.field("dup_group_size", pa.int32())]


class DedupConfig(StageConfig):
    exact: bool = Field(True, description="remove documents whose text is identical up to Unicode NFC and "
                                          "whitespace (case, punctuation and symbols are content)")
    fuzzy: bool = Field(True, description="remove near duplicates with MinHash LSH")
    threshold: float = Field(0.8, gt=0.0, lt=1.0, description="Jaccard similarity of shingle sets")
    shingle_size: int = Field(5, ge=1, le=16, description="word n-grams (character n-grams in unspaced scripts)")
    num_perm: int = Field(256, ge=16, le=1024, description="MinHash permutations")
    seed: int = Field(1, ge=0, description="datasketch permutation seed; part of the pinned hash scheme")
    bands: int | None = Field(None, ge=1, description="LSH bands; null: chosen from threshold and min_recall")
    rows: int | None = Field(None, ge=1, description="rows per band; set together with bands")
    min_recall_at_threshold: float = Field(0.95, gt=0.0, lt=1.0,
                                           description="P(candidate | J = threshold) when bands/rows are chosen")
    verify: Literal["signature", "signature_then_exact", "exact"] = Field(
        "signature_then_exact",
        description="signature: estimate >= threshold; signature_then_exact: pairs whose estimate is within "
                    "exact_margin of the threshold get the exact shingle Jaccard; exact: every candidate does")
    exact_margin: float = Field(
        0.08, ge=0.0, lt=1.0,
        description="half-width of the estimate band that gets the exact Jaccard: 0.08 is ~3 standard deviations "
                    "of the 256-permutation estimate at J = 0.8 (sqrt(0.8*0.2/256) = 0.025)")
    max_bucket_all_pairs: int = Field(16, ge=2, description="buckets up to this size verify every pair")
    survivor: Literal["auto", "highest_quality", "smallest_id"] = "auto"
    survivor_check: bool = Field(
        True, description="remove a near duplicate only if its own similarity to its group's survivor reaches the "
                          "threshold (checked like any candidate pair); false: groups are transitive, so a chain "
                          "of small edits can remove documents unlike the survivor")
    quality_column: str = "quality_score"
    max_cc_iterations: int = Field(50, ge=1)
    partitions: int | None = Field(None, ge=1, description="partitions of dedup's own tables; null: "
                                                           "spark.sql.shuffle.partitions")
    in_process_max_documents: int = Field(
        20_000, ge=0,
        description="inputs up to this many documents are grouped in the driver process from one collect of their "
                    "fingerprints (same decisions, no shuffles or scratch tables; ~1.2 KB a document plus 4 bytes "
                    "a word, so 20,000 long web pages stay within a 1 GB driver); 0: always the Spark path")

    @model_validator(mode="after")
    def _check(self):
        if not (self.exact or self.fuzzy):
            raise ValueError("at least one of exact and fuzzy must be true")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither (then they are chosen for the threshold)")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self

    def lsh_bands(self) -> tuple[int, int]:
        from curator.dedup.minhash import choose_bands

        if self.bands is not None:
            return self.bands, self.rows
        return choose_bands(self.threshold, self.num_perm, self.min_recall_at_threshold)

    def minhash_params(self):
        from curator.dedup.minhash import MinHashParams

        bands, rows = self.lsh_bands()
        return MinHashParams(num_perm=self.num_perm, seed=self.seed, shingle_size=self.shingle_size,
                             bands=bands, rows=rows)


def size_bin(size: int) -> str:
    """Histogram bin of a group size: exact up to 5, then powers of two ("6-8", "9-16", ...)."""
    if size <= 5:
        return str(size)
    low = 6
    high = 8
    while size > high:
        low, high = high + 1, high * 2
    return f"{low}-{high}"


class DedupStage(Stage):
    name = "dedup"
    Config = DedupConfig
    reasons: ClassVar[tuple[str, ...]] = DEDUP_REASONS
    # annotate_table's fingerprints are worth the driver engine's worker pool (see curator.spark.in_driver).
    annotates_in_pool: ClassVar[bool] = True

    def annotation_fields(self) -> list[pa.Field]:
        return DEDUP_FIELDS

    def survivor_quality_column(self, columns: list[str]) -> str | None:
        cfg = self.config
        if cfg.survivor == "smallest_id":
            return None
        if cfg.quality_column in columns:
            return cfg.quality_column
        if cfg.survivor == "highest_quality":
            raise ValueError(f"dedup: survivor=highest_quality but the input has no {cfg.quality_column!r} column "
                             f"(columns: {', '.join(columns)}); run the quality stage first or use survivor=auto")
        return None

    def annotate(self, df, ctx: StageContext) -> Annotated:
        from pyspark.sql import functions as F

        from curator.document import ID, META, REASON, REASON_DETAIL, SOURCE, TEXT, URL
        from curator.spark import dedup_ops as ops

        cfg = self.config
        params = cfg.minhash_params()
        scratch = Path(ctx.scratch_dir) / "dedup"
        partitions = ops.session_partitions(ctx.spark, cfg.partitions)
        df = df.drop(*[f.name for f in DEDUP_FIELDS if f.name in df.columns])

        # 1. The documents are written once with a row id; the survivor order (= node order) is computed on a
        # narrow key table: quality, id, then a 64-bit hash of the content columns (ids are unique after ingest;
        # the hash only orders rows sharing an id, and keeps text out of every sort and shuffle).
        rows = ops.stage_rows(df, scratch / "rows")
        quality = self.survivor_quality_column(df.columns)
        keys, order = [F.col(ops.ROW), F.col(ID)], []
        if quality is not None:
            score = F.col(quality).cast("double")
            keys.append(F.when(F.isnan(score), F.lit(None)).otherwise(score).alias("_quality"))
            order.append(F.col("_quality").desc_nulls_last())
        order.append(F.col(ID).asc_nulls_first())
        content = [F.col(c) for c in (TEXT, SOURCE, URL, META) if c in df.columns]
        if content:
            keys.append(F.xxhash64(*content).alias("_content_hash"))
            order.append(F.col("_content_hash").asc())
        # 2-5 in this process for a small input (the keys and the fingerprints collected, the survivor order
        # ranked here), else as Spark steps over scratch tables. The row count is Parquet metadata.
        n_documents = rows.count()
        in_process = n_documents <= cfg.in_process_max_documents
        if in_process:
            nodes = rank_nodes(rows.select(*keys).toArrow(), quality is not None, bool(content))
            decisions, stats = self._decide_in_process(rows, nodes, params)
        else:
            nodes, n_documents = ops.assign_nodes(rows.select(*keys), order, partitions, scratch / "nodes")
            nodes = nodes.select(ops.ROW, ops.NODE, ID)
            decisions, stats = self._decide_distributed(rows, nodes, n_documents, params, scratch)
        stats.update(self._setting_stats(in_process, quality))
        decisions = decisions.select(ops.ROW, *[f.name for f in DEDUP_FIELDS], REASON, REASON_DETAIL)
        # A small decision table is broadcast, so the documents (with their text) are not shuffled for the join.
        frame = rows.join(F.broadcast(decisions) if in_process else decisions, ops.ROW).drop(ops.ROW)
        return Annotated(frame, stats)

    def _setting_stats(self, in_process: bool, quality: str | None) -> dict:
        from curator.dedup.minhash import SCHEME, candidate_probability

        cfg = self.config
        params = cfg.minhash_params()
        return {
            "in_process": in_process,
            "parameters": {
                "threshold": cfg.threshold, "num_perm": params.num_perm, "bands": params.bands, "rows": params.rows,
                "recall_at_threshold": round(candidate_probability(cfg.threshold, params.bands, params.rows), 4),
                "shingle_size": params.shingle_size, "seed": params.seed, "scheme": SCHEME, "verify": cfg.verify,
                "tag": str(params),
            },
            "survivor_rule": f"highest {quality}, then smallest id" if quality else "smallest id",
        }

    def annotate_table(self, table: pa.Table, map_tasks=None) -> tuple[pa.Table, dict]:
        """:meth:`annotate` for a small input held in this process (no Spark): the same steps as the in-process
        Spark path (fingerprints per batch, survivor order ranked by :func:`rank_nodes`, :func:`curator.dedup.groups.
        decide`), so the same decisions; only rows sharing an id may order differently (their tie-break is a
        content hash, which Spark computes with its own xxhash64; ids are unique after ingest). ``map_tasks``
        (:attr:`curator.stage.StageContext.map_tasks`): fingerprint the batches in the driver engine's worker
        processes, the costly part; the grouping stays here."""
        import numpy as np
        import pyarrow.compute as pc

        from curator.document import ID, META, SOURCE, TEXT, URL
        from curator.spark import dedup_ops as ops

        table = table.drop_columns([f.name for f in DEDUP_FIELDS if f.name in table.column_names])
        rows = pa.array(np.arange(table.num_rows, dtype=np.int64))
        keys = {ops.ROW: rows, ID: table.column(ID)}
        quality = self.survivor_quality_column(table.column_names)
        if quality is not None:
            score = table.column(quality).cast(pa.float64())
            keys["_quality"] = pc.if_else(pc.is_nan(score), pa.scalar(None, pa.float64()), score)
        content = [c for c in (TEXT, SOURCE, URL, META) if c in table.column_names]
        if content:
            keys["_content_hash"] = content_hashes(table, content)
        nodes = rank_nodes(pa.table(keys), quality is not None, bool(content))
        # Half slices in the pool: twice the tasks, so that the workers finish together.
        slice_rows = ops.FINGERPRINT_SLICE // (2 if map_tasks is not None else 1)
        texts = pa.table({ops.ROW: rows, TEXT: table.column(TEXT)}).to_batches(max_chunksize=slice_rows)
        params = self.config.minhash_params()
        calls = [(batch, params, TEXT, ops.ROW) for batch in texts]
        prints = pa.Table.from_batches(map_tasks(ops.fingerprint_rows, calls) if map_tasks is not None
                                       else [ops.fingerprint_rows(*call) for call in calls])
        decisions, stats = self._decide_prints(prints, nodes)
        decisions = decisions.take(pc.sort_indices(decisions.column(ops.ROW)))
        if not np.array_equal(decisions.column(ops.ROW).to_numpy(), rows.to_numpy()):
            from curator.errors import LedgerError

            raise LedgerError(f"dedup: {decisions.num_rows} decisions for {table.num_rows} documents")
        for field in DEDUP_FIELDS + DECISION_FIELDS:
            table = table.append_column(field, decisions.column(field.name).cast(field.type))
        stats.update(self._setting_stats(True, quality))
        return table, stats

    def _decide_in_process(self, rows, nodes, params):
        """Decisions keyed by ``_row`` as a small Spark table, from one collect of the fingerprints; ``nodes`` is the
        Arrow table of :func:`rank_nodes`."""
        from curator.spark import dedup_ops as ops

        prints = ops.fingerprint(rows, params, key=ops.ROW).toArrow()
        table, stats = self._decide_prints(prints, nodes)
        return rows.sparkSession.createDataFrame(table), stats

    def _decide_prints(self, prints: pa.Table, nodes: pa.Table) -> tuple[pa.Table, dict]:
        """Decisions keyed by ``_row`` (with the dedup columns and ``reason``/``reason_detail``) from the fingerprints
        keyed by ``_row`` and the node table of :func:`rank_nodes`."""
        import numpy as np

        from curator.dedup.groups import VerifyRule, decide, group_stats
        from curator.document import ID, REASON, REASON_DETAIL
        from curator.spark import dedup_ops as ops

        cfg = self.config
        node_table = nodes
        node_rows = node_table.column(ops.ROW).to_numpy()
        node_ids = node_table.column(ops.NODE).to_numpy()
        # _row -> _node, by sorting the rows once (no join job).
        by_row = np.argsort(node_rows)
        position = np.searchsorted(node_rows[by_row], prints.column(ops.ROW).to_numpy())
        prints = prints.append_column(ops.NODE, pa.array(node_ids[by_row][position], pa.int64()))
        ids = dict(zip(node_ids.tolist(), node_table.column(ID).to_pylist()))
        table, stats = decide(prints, ids, exact=cfg.exact, fuzzy=cfg.fuzzy,
                              rule=VerifyRule(cfg.threshold, cfg.verify, cfg.exact_margin),
                              max_bucket_all_pairs=cfg.max_bucket_all_pairs, survivor_check=cfg.survivor_check)
        stats.update(group_stats(table, size_bin))
        row_of_node = dict(zip(node_ids.tolist(), node_rows.tolist()))
        table = table.append_column(ops.ROW, pa.array([row_of_node[n] for n in table.column(ops.NODE).to_pylist()],
                                                      pa.int64()))
        table = table.rename_columns([{"reason": REASON, "reason_detail": REASON_DETAIL}.get(c, c)
                                      for c in table.column_names])
        return table, stats

    def _decide_distributed(self, rows, nodes, n_documents: int, params, scratch: Path):
        from pyspark.sql import functions as F

        from curator.document import ID, REASON, REASON_DETAIL
        from curator.spark import dedup_ops as ops

        cfg = self.config
        # 2. Fingerprints, read by the exact step, the band grouping and the verification joins.
        # The (row, node) map is 16 bytes a document: broadcast it while that is small, so the fingerprints (a
        # signature alone is num_perm * 4 bytes) are written where they are computed instead of shuffled.
        row_to_node = nodes.select(ops.ROW, ops.NODE)
        if n_documents <= BROADCAST_NODE_MAP_MAX:
            row_to_node = F.broadcast(row_to_node)
        prints = ops.materialise(
            ops.fingerprint(rows, params, key=ops.ROW).join(row_to_node, ops.ROW).drop(ops.ROW), scratch / "prints")

        # 3. Exact groups (or every document its own root).
        if cfg.exact:
            roots = ops.materialise(ops.exact_roots(prints), scratch / "exact_roots")
        else:
            roots = prints.select(ops.NODE, F.col(ops.NODE).alias("exact_root"))

        # 4. Fuzzy groups over the exact survivors.
        stats: dict = {}
        if cfg.fuzzy:
            survivors = roots.where(F.col(ops.NODE) == F.col("exact_root")).select(ops.NODE)
            fuzzy_input = prints.join(survivors, ops.NODE, "left_semi")
            pairs = ops.materialise(ops.candidate_pairs(fuzzy_input, cfg.max_bucket_all_pairs),
                                    scratch / "candidates")
            verified, verify_stats = self._verify(pairs, prints, scratch)
            components, rounds = ops.connected_components(verified, scratch / "cc", cfg.max_cc_iterations)
            stats.update(candidate_pairs=pairs.count(), **verify_stats, cc_rounds=rounds)
            components = components.withColumnRenamed(ops.NODE, "exact_root")
            decided = roots.join(components, "exact_root", "left").withColumn(
                "survivor", F.coalesce(F.col("component"), F.col("exact_root")))
            if cfg.survivor_check:
                decided, check_stats = self._check_survivors(decided, prints, scratch)
                stats.update(check_stats)
        else:
            decided = roots.withColumn("survivor", F.col("exact_root"))

        # 5. Decisions per document, with the survivor's id and the group size.
        sizes = decided.groupBy("survivor").agg(F.count(F.lit(1)).cast("int").alias("dup_group_size"))
        ids = nodes.select(F.col(ops.NODE).alias("survivor"), F.col(ID).alias("survivor_id"))
        node, survivor, exact_root = F.col(ops.NODE), F.col("survivor"), F.col("exact_root")
        reason = (F.when(node == survivor, F.lit(None).cast("string"))
                  .when(node != exact_root, F.lit(EXACT_DUPLICATE))
                  .otherwise(F.lit(MINHASH_DUPLICATE)))
        decisions = ops.materialise(
            decided.join(sizes, "survivor").join(ids, "survivor").join(nodes.select(ops.ROW, ops.NODE), ops.NODE)
            .select(
                node, ops.ROW, exact_root, survivor, "dup_group_size",
                F.when(F.col("dup_group_size") > 1, F.col("survivor_id")).alias("dup_cluster"),
                reason.alias(REASON),
                F.when(node != survivor, F.col("survivor_id")).alias(REASON_DETAIL),
            ),
            scratch / "decisions",
        )
        stats.update(self._group_stats(decisions))
        return decisions, stats

    def _check_survivors(self, decided, prints, scratch: Path):
        """Release every fuzzy group member (an exact root) whose own similarity to its survivor is below the
        threshold: it becomes its own survivor, with its exact duplicates."""
        from pyspark.sql import functions as F

        from curator.spark import dedup_ops as ops

        root, survivor = F.col("exact_root"), F.col("survivor")
        pairs = (decided.where((F.col(ops.NODE) == root) & (survivor != root))
                 .select(root.alias("a"), survivor.alias("b")))
        held, verify_stats = self._verify(pairs, prints, scratch / "survivor_check")
        confirmed = held.select(F.col("a").alias("exact_root"), F.lit(True).alias("_confirmed"))
        decided = ops.materialise(
            decided.join(confirmed, "exact_root", "left")
            .withColumn("survivor", F.when((survivor == root) | F.col("_confirmed").isNotNull(), survivor)
                        .otherwise(root))
            .drop("_confirmed"),
            scratch / "survivor_checked",
        )
        checked = pairs.count()
        return decided, {"survivor_checked": checked, "released_by_survivor_check": checked - held.count(),
                         "survivor_check_exact_pairs": verify_stats["exact_checked_pairs"]}

    def _verify(self, pairs, prints, scratch: Path):
        """Candidate pairs -> verified pairs (a, b), materialised; plus how many needed the exact Jaccard (from the
        stored shingle hashes: no text is joined or re-tokenised). Same rule as the in-process path."""
        from pyspark.sql import functions as F

        from curator.spark import dedup_ops as ops

        cfg = self.config
        threshold, margin = cfg.threshold, cfg.exact_margin
        if cfg.verify == "exact":
            checked = ops.materialise(ops.exact_similarity(pairs, prints), scratch / "checked")
            verified = ops.materialise(checked.where(F.col("jaccard") >= threshold).select("a", "b"),
                                       scratch / "verified")
            return verified, {"exact_checked_pairs": checked.count(), "verified_pairs": verified.count()}
        scored = ops.materialise(ops.estimate_similarity(pairs, prints), scratch / "scored")
        estimate = F.col("estimate")
        if cfg.verify == "signature":
            verified = scored.where(estimate >= threshold).select("a", "b")
            exact_checked = 0
        else:
            sure = scored.where(estimate >= threshold + margin).select("a", "b")
            borderline = scored.where((estimate >= threshold - margin) & (estimate < threshold + margin))
            checked = ops.materialise(ops.exact_similarity(borderline, prints), scratch / "checked")
            exact_checked = checked.count()
            verified = sure.union(checked.where(F.col("jaccard") >= threshold).select("a", "b"))
        verified = ops.materialise(verified, scratch / "verified")
        return verified, {"exact_checked_pairs": exact_checked, "verified_pairs": verified.count()}

    @staticmethod
    def _group_stats(decisions) -> dict:
        from pyspark.sql import functions as F

        from curator.document import REASON

        node, survivor, exact_root = F.col("_node"), F.col("survivor"), F.col("exact_root")
        totals = decisions.agg(
            F.count(F.when(F.col(REASON) == EXACT_DUPLICATE, True)).alias("exact"),
            F.count(F.when(F.col(REASON) == MINHASH_DUPLICATE, True)).alias("minhash"),
            F.countDistinct(F.when(node != exact_root, exact_root)).alias("exact_groups"),
        ).first()
        sizes = (decisions.where((node == survivor) & (F.col("dup_group_size") > 1))
                 .groupBy("dup_group_size").count().collect())  # one row per distinct group size
        histogram: dict[str, int] = {}
        for row in sorted(sizes, key=lambda r: r["dup_group_size"]):
            key = size_bin(row["dup_group_size"])
            histogram[key] = histogram.get(key, 0) + row["count"]
        return {
            "groups": sum(r["count"] for r in sizes),
            "group_size_histogram": histogram,
            "largest_group": max((r["dup_group_size"] for r in sizes), default=0),
            "exact_groups": totals["exact_groups"],
            "duplicates_removed": totals["exact"] + totals["minhash"],
            "exact_duplicates": totals["exact"],
            "minhash_duplicates": totals["minhash"],
        }


def content_hashes(table: pa.Table, columns: list[str]) -> pa.Array:
    """A signed 64-bit hash of each row's ``columns`` (null and empty apart): the last survivor-order key."""
    import hashlib

    values = [table.column(c).to_pylist() for c in columns]
    out = []
    for row in zip(*values):
        digest = hashlib.blake2b(digest_size=8)
        for value in row:
            digest.update(b"\x00" if value is None else b"\x01" + value.encode("utf-8", "surrogatepass") + b"\x00")
        out.append(int.from_bytes(digest.digest(), "little", signed=True))
    return pa.array(out, pa.int64())


def rank_nodes(keys, has_quality: bool, has_content: bool):
    """``_row``, ``_node``, ``id`` (Arrow) from the key table of a small input: ``_node`` is each row's rank in the
    survivor order the distributed path sorts by in Spark (quality descending, nulls last; id ascending, nulls
    first, compared as code points like Spark's UTF-8 byte order; then the content hash)."""
    import pyarrow as pa

    from curator.document import ID
    from curator.spark import dedup_ops as ops

    rows = keys.column(ops.ROW).to_pylist()
    ids = keys.column(ID).to_pylist()
    qualities = keys.column("_quality").to_pylist() if has_quality else [None] * len(rows)
    hashes = keys.column("_content_hash").to_pylist() if has_content else [0] * len(rows)

    def order(i: int):
        q, doc_id = qualities[i], ids[i]
        return (q is None, -q if q is not None else 0.0, doc_id is not None, doc_id or "", hashes[i] or 0)

    ranked = sorted(range(len(rows)), key=order)
    node_of = [0] * len(rows)
    for node, i in enumerate(ranked):
        node_of[i] = node
    return pa.table({ops.ROW: pa.array(rows, pa.int64()), ops.NODE: pa.array(node_of, pa.int64()),
                     ID: keys.column(ID)})
