"""DataFrame -> DataFrame steps of the dedup stage; the per-document and per-pair logic lives in ``minhash.py``.

Every intermediate table that is read more than once, or that feeds an iterative step, is written to the stage's
scratch folder and read back (:func:`materialise`): that cuts lineage, fixes the values of anything nondeterministic
(partition ids), and bounds memory by disk rather than by the driver. Nothing proportional to the corpus is
collected to the driver: only per-partition counts and small histograms are.

Only narrow tables are shuffled here: node ids, exact keys, signatures, band keys and shingle hashes; the text is
read once, by :func:`fingerprint`, and joined back to the decisions only at the end of the stage.

Node ids (``_node``, a dense long) are the rank of each document in the survivor order (best quality first when
used, then smallest ``id``), so the smallest node of any group is its survivor and connected components can use
"min label" propagation directly.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
import pyarrow as pa

from curator.dedup.minhash import MinHasher, MinHashParams, bucket_edges, exact_jaccard, shingles_from_bytes


if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession


NODE = "_node"
ROW = "_row"
EXACT_KEY = "_exact_key"
SIG = "_sig"
BANDS = "_bands"
N_SHINGLES = "_n_shingles"
SHINGLES = "_shingles"  # the document's sorted unique shingle hashes, uint32 little endian: verified without text

FINGERPRINT_FIELDS = [
    pa.field(NODE, pa.int64(), nullable=False),
    pa.field(EXACT_KEY, pa.binary()),
    pa.field(SIG, pa.binary()),
    pa.field(BANDS, pa.list_(pa.int64())),
    pa.field(N_SHINGLES, pa.int32()),
    pa.field(SHINGLES, pa.binary()),
]
EDGE_FIELDS = [pa.field("a", pa.int64(), nullable=False), pa.field("b", pa.int64(), nullable=False)]


def _spark_schema(fields: list[pa.Field]):
    from curator.document import spark_schema

    return spark_schema(pa.schema(fields))


def materialise(df: "DataFrame", path: Path) -> "DataFrame":
    """Write ``df`` to parquet under ``path`` and return it read back: a lineage cut that survives recomputation."""
    df.write.mode("overwrite").parquet(str(path))
    return df.sparkSession.read.parquet(str(path))


def drop_materialised(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# -- 1. stable node ids ------------------------------------------------------------------------------------------


def stage_rows(df: "DataFrame", path: Path) -> "DataFrame":
    """``df`` plus ``_row``, a unique long fixed by writing ``df`` once at ``path``: the stage's only copy of the
    full documents until the decisions are joined back (everything between works on narrow tables)."""
    from pyspark.sql import functions as F

    return materialise(df.withColumn(ROW, F.monotonically_increasing_id()), path)


def assign_nodes(keys: "DataFrame", order: list["Column"], partitions: int, path: Path) -> tuple["DataFrame", int]:
    """``keys`` (a narrow table: ``_row`` and the sort columns) plus ``_node``, the dense rank 0..n-1 of each row
    under ``order``, materialised at ``path``; and the number of rows (from the partition counts, no extra job).

    The rank depends only on the rows, not on how they are partitioned: rows are range-partitioned and sorted by
    ``order``, written once with their (partition, position) pair, and the driver turns the per-partition row
    counts (one number per partition) into offsets. ``order`` must be a total order for this to be unique
    across reruns (the stage orders by quality, id, then a hash of the content columns).
    """
    from pyspark.sql import functions as F

    ranked = (
        keys.repartitionByRange(partitions, *order)
        .sortWithinPartitions(*order)
        .withColumn("_pid", F.spark_partition_id())
        # monotonically_increasing_id = (partition id << 33) + position within the partition.
        .withColumn("_pos", F.monotonically_increasing_id().bitwiseAND(F.lit((1 << 33) - 1)))
    )
    staged = materialise(ranked, path)
    counts = dict(staged.groupBy("_pid").count().collect())  # one row per partition
    offsets, running = [], 0
    for pid in range(max(counts, default=-1) + 1):
        offsets.append(running)
        running += counts.get(pid, 0)
    offset_of = F.element_at(F.array(*[F.lit(o) for o in offsets] or [F.lit(0)]), F.col("_pid") + 1)
    return staged.withColumn(NODE, (offset_of + F.col("_pos")).cast("long")).drop("_pid", "_pos"), running


# -- 2. fingerprints ---------------------------------------------------------------------------------------------


# Documents per vectorised fingerprint call: slices of Spark's 10,000-row Arrow batches keep the per-batch arrays in
# cache (measured ~1.5x faster than whole batches; benchmarks/bench_fingerprint.py --batch).
FINGERPRINT_SLICE = 1024


def _fixed_width_binary(matrix: np.ndarray, present: np.ndarray) -> pa.Array:
    """Rows of a 2-D array as little-endian binary values; null where ``present`` is false."""
    n, width = matrix.shape[0], matrix.shape[1] * matrix.itemsize
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(present.astype(np.int32) * width, out=offsets[1:])
    data = np.ascontiguousarray(matrix[present]).astype(matrix.dtype.newbyteorder("<"), copy=False).tobytes()
    validity = pa.py_buffer(np.packbits(present, bitorder="little").tobytes())
    return pa.Array.from_buffers(pa.binary(), n, [validity, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)])


def _segments_binary(values: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """Segments ``values[offsets[i]:offsets[i + 1]]`` as little-endian binary values (never null)."""
    byte_offsets = (offsets * values.itemsize).astype(np.int32)
    data = np.ascontiguousarray(values).astype(values.dtype.newbyteorder("<"), copy=False).tobytes()
    return pa.Array.from_buffers(pa.binary(), len(offsets) - 1,
                                 [None, pa.py_buffer(byte_offsets.tobytes()), pa.py_buffer(data)])


def fingerprint_batch(batch: pa.RecordBatch, hasher: MinHasher, text_column: str = "text",
                      key: str = NODE) -> pa.RecordBatch:
    """(key, text) batch -> fingerprint batch (:data:`FINGERPRINT_FIELDS`, the key in the first column, named
    ``key``), vectorised over the batch."""
    prints = hasher.fingerprint_batch(batch.column(text_column).to_pylist())
    n_bands = prints.band_keys.shape[1]
    band_offsets = np.zeros(batch.num_rows + 1, dtype=np.int32)
    np.cumsum(prints.has_signature.astype(np.int32) * n_bands, out=band_offsets[1:])
    bands = pa.ListArray.from_arrays(
        pa.array(band_offsets), pa.array(prints.band_keys[prints.has_signature].ravel(), pa.int64()),
        mask=pa.array(~prints.has_signature))
    return pa.RecordBatch.from_arrays(
        [batch.column(key), pa.array(prints.exact_keys, pa.binary()),
         _fixed_width_binary(prints.signatures, prints.has_signature), bands,
         pa.array(np.diff(prints.shingle_offsets).astype(np.int32), pa.int32()),
         _segments_binary(prints.shingles, prints.shingle_offsets)],
        schema=_fingerprint_schema(key),
    )


_HASHERS: dict[MinHashParams, MinHasher] = {}


def hasher_for(params: MinHashParams) -> MinHasher:
    """This process's MinHasher for ``params`` (datasketch's import and permutations), built on first use."""
    hasher = _HASHERS.get(params)
    if hasher is None:
        hasher = _HASHERS[params] = MinHasher(params)
    return hasher


def fingerprint_rows(batch: pa.RecordBatch, params: MinHashParams, text_column: str, key: str) -> pa.RecordBatch:
    """:func:`fingerprint_batch` with this process's MinHasher: a task of the driver engine (in its worker
    processes or in the driver itself)."""
    return fingerprint_batch(batch, hasher_for(params), text_column, key)


def warm_hasher(params: MinHashParams) -> None:
    """Build this process's MinHasher for ``params`` ahead of :func:`fingerprint_rows` (a pool worker's warm-up)."""
    fingerprint_rows(pa.record_batch({"k": pa.array([0]), "t": ["warm up the normalisation tables"]}), params, "t", "k")


def _fingerprint_schema(key: str) -> pa.Schema:
    return pa.schema([FINGERPRINT_FIELDS[0].with_name(key)] + FINGERPRINT_FIELDS[1:])


def fingerprint(keys_and_texts: "DataFrame", params: MinHashParams, text_column: str = "text",
                key: str = NODE) -> "DataFrame":
    """(key, text) -> (key, exact key, signature, band keys, shingle count, shingle hashes); one MinHasher per
    Python worker process, one vectorised pass per Arrow batch."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        hasher = hasher_for(params)
        for batch in batches:
            for start in range(0, batch.num_rows, FINGERPRINT_SLICE):
                yield fingerprint_batch(batch.slice(start, FINGERPRINT_SLICE), hasher, text_column, key)

    return keys_and_texts.select(key, text_column).mapInArrow(run, _spark_schema(list(_fingerprint_schema(key))))


# -- 3. exact duplicates -----------------------------------------------------------------------------------------


def exact_roots(prints: "DataFrame") -> "DataFrame":
    """(node, exact_root): the smallest node with the same normalised-text hash; itself when it has no text."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    same_text = Window.partitionBy(EXACT_KEY)
    root = F.when(F.col(EXACT_KEY).isNull(), F.col(NODE)).otherwise(F.min(NODE).over(same_text))
    return prints.select(NODE, root.alias("exact_root"))


# -- 4. LSH candidates -------------------------------------------------------------------------------------------


def candidate_pairs(prints: "DataFrame", max_all_pairs: int) -> "DataFrame":
    """Distinct ``(a, b)`` node pairs, a < b, sharing at least one band key (documents with a signature only)."""
    from pyspark.sql import functions as F

    rows = prints.where(F.col(BANDS).isNotNull()).select(NODE, F.posexplode(BANDS).alias("band", "key"))
    buckets = (
        rows.groupBy("band", "key")
        .agg(F.collect_list(NODE).alias("members"))
        .where(F.size("members") > 1)
        .select("members")
    )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        schema = pa.schema(EDGE_FIELDS)
        for batch in batches:
            low, high = [], []
            for members in batch.column("members").to_pylist():
                for a, b in bucket_edges(members, max_all_pairs):
                    low.append(a)
                    high.append(b)
            yield pa.RecordBatch.from_arrays([pa.array(low, pa.int64()), pa.array(high, pa.int64())], schema=schema)

    return buckets.mapInArrow(run, _spark_schema(EDGE_FIELDS)).distinct()


# -- 5. verification ---------------------------------------------------------------------------------------------


SCORED_FIELDS = EDGE_FIELDS + [pa.field("estimate", pa.float64())]
CHECKED_FIELDS = EDGE_FIELDS + [pa.field("jaccard", pa.float64())]


def estimate_similarity(pairs: "DataFrame", prints: "DataFrame") -> "DataFrame":
    """(a, b) -> (a, b, estimate): MinHash Jaccard estimate from the two signatures, vectorised per batch."""
    sig = prints.select(NODE, SIG)
    joined = (
        pairs.join(sig.withColumnRenamed(NODE, "a").withColumnRenamed(SIG, "sig_a"), "a")
        .join(sig.withColumnRenamed(NODE, "b").withColumnRenamed(SIG, "sig_b"), "b")
    )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        schema = pa.schema(SCORED_FIELDS)
        for batch in batches:
            n = batch.num_rows
            sig_a = np.frombuffer(b"".join(batch.column("sig_a").to_pylist()), dtype="<u4").reshape(n, -1)
            sig_b = np.frombuffer(b"".join(batch.column("sig_b").to_pylist()), dtype="<u4").reshape(n, -1)
            estimate = (sig_a == sig_b).mean(axis=1)
            yield pa.RecordBatch.from_arrays([batch.column("a"), batch.column("b"), pa.array(estimate)],
                                             schema=schema)

    return joined.select("a", "b", "sig_a", "sig_b").mapInArrow(run, _spark_schema(SCORED_FIELDS))


def exact_similarity(pairs: "DataFrame", prints: "DataFrame") -> "DataFrame":
    """(a, b) -> (a, b, jaccard): exact Jaccard of the two documents' stored shingle sets (no text, no tokenising)."""
    shingles = prints.select(NODE, SHINGLES)
    joined = (
        pairs.select("a", "b")
        .join(shingles.withColumnRenamed(NODE, "a").withColumnRenamed(SHINGLES, "sh_a"), "a")
        .join(shingles.withColumnRenamed(NODE, "b").withColumnRenamed(SHINGLES, "sh_b"), "b")
    )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        schema = pa.schema(CHECKED_FIELDS)
        for batch in batches:
            values = [
                exact_jaccard(shingles_from_bytes(sa), shingles_from_bytes(sb))
                for sa, sb in zip(batch.column("sh_a").to_pylist(), batch.column("sh_b").to_pylist())
            ]
            yield pa.RecordBatch.from_arrays([batch.column("a"), batch.column("b"), pa.array(values, pa.float64())],
                                             schema=schema)

    return joined.select("a", "b", "sh_a", "sh_b").mapInArrow(run, _spark_schema(CHECKED_FIELDS))


# -- 6. connected components -------------------------------------------------------------------------------------


def _large_star(edges: "DataFrame") -> "DataFrame":
    """Kiveris et al. 2014: every node links its larger neighbours to the smallest node of its closed neighbourhood."""
    from pyspark.sql import functions as F

    both = edges.select(F.col("a").alias("u"), F.col("b").alias("v")).union(
        edges.select(F.col("b").alias("u"), F.col("a").alias("v")))
    smallest = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
    return (both.join(smallest, "u").where(F.col("v") > F.col("u"))
            .select(F.col("m").alias("a"), F.col("v").alias("b")).distinct())


def _small_star(edges: "DataFrame") -> "DataFrame":
    """Every node links itself and its smaller neighbours to the smallest of them."""
    from pyspark.sql import functions as F

    down = edges.where(F.col("a") != F.col("b")).select(
        F.greatest("a", "b").alias("u"), F.least("a", "b").alias("v"))
    smallest = down.groupBy("u").agg(F.min("v").alias("m"))
    neighbours = down.join(smallest, "u").where(F.col("v") != F.col("m")).select(
        F.col("m").alias("a"), F.col("v").alias("b"))
    selves = smallest.select(F.col("m").alias("a"), F.col("u").alias("b"))
    return neighbours.union(selves).distinct()


def _is_star_forest(edges: "DataFrame") -> bool:
    """True when no edge's centre (``a``, the smaller end) is another edge's leaf: then every star is a component."""
    from pyspark.sql import functions as F

    leaves = edges.select(F.col("b").alias("a")).distinct()
    return edges.select("a").join(leaves, "a", "left_semi").limit(1).count() == 0


def connected_components(edges: "DataFrame", scratch: Path, max_iterations: int) -> tuple["DataFrame", int]:
    """(a, b) undirected edges, a < b, already materialised -> ((node, component), rounds), where component is the
    smallest node of the connected component.

    Alternates large-star and small-star until the edge set is a forest of stars centred on each component's
    minimum; each step is materialised under ``scratch`` so lineage stays one step deep.
    """
    from pyspark.sql import functions as F

    current = edges.select("a", "b")  # the caller passes a materialised table
    rounds = 0
    previous_paths: list[Path] = []
    while not _is_star_forest(current):
        if rounds >= max_iterations:
            raise RuntimeError(f"connected components did not converge in {max_iterations} rounds; "
                               "raise max_cc_iterations")
        rounds += 1
        large = materialise(_large_star(current), scratch / f"cc_{rounds}_large")
        current = materialise(_small_star(large), scratch / f"cc_{rounds}_small")
        previous_paths += [scratch / f"cc_{rounds}_large"]
        for old in previous_paths[:-1]:
            drop_materialised(old)
    components = current.select(F.col("b").alias(NODE), F.col("a").alias("component")).union(
        current.select(F.col("a").alias(NODE), F.col("a").alias("component"))).distinct()
    return components, rounds


def session_partitions(spark: "SparkSession", override: int | None) -> int:
    if override:
        return override
    return int(spark.conf.get("spark.sql.shuffle.partitions"))
