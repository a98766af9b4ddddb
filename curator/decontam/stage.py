"""decontaminate: drop (or mask) documents sharing long n-grams with evaluation benchmarks.

The driver reads the benchmark files named in the spec and builds one :class:`NgramIndex` (sorted 64-bit window
hashes: about 16 bytes per benchmark n-gram, so a few MB for common test sets), which Spark broadcasts once; each
worker scans its documents with :meth:`NgramIndex.find`.

- ``mode: remove`` rejects a matching document as ``decontaminated``; ``reason_detail`` names the benchmark and item
  (``gsm8k:17``, plus how many other items matched).
- ``mode: mask`` keeps the document with every matching span replaced by ``mask_with``; a document with no word left
  after masking is rejected as ``decontaminated``.

Every output row carries ``decontam_hits`` (``benchmark:item`` labels, null when clean). The runner asks
:meth:`DecontaminateStage.output_stats` for the contamination table (items found and documents removed or masked per
benchmark), counted from the written data.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field, model_validator

from curator.decontam.benchmarks import BenchmarkSpec, benchmark_path, read_benchmark
from curator.decontam.ngrams import NgramIndex, hash_words, masked_text, normalize_words, words_with_spans
from curator.hashing import file_sha256
from curator.stage import BatchStage, PreparedStage, StageConfig, StageContext, finish_batch


if TYPE_CHECKING:
    from pyspark.sql import DataFrame


log = logging.getLogger("curator.decontam")
REASON_DECONTAMINATED = "decontaminated"
HITS = "decontam_hits"
DECONTAM_FIELDS = [pa.field(HITS, pa.list_(pa.string()))]


class DecontaminateConfig(StageConfig):
    benchmarks: list[BenchmarkSpec] = Field(min_length=1, description="benchmark files to index")
    n: int = Field(13, ge=3, le=64, description="n-gram length in normalised words")
    min_item_tokens: int = Field(8, ge=1, description="benchmark texts shorter than this are not indexed")
    mode: Literal["remove", "mask"] = "remove"
    mask_with: str = Field("", description="replacement for a masked span (mode: mask)")
    def model_post_init(self, __context) -> None:
        # The files' contents, not only their paths, go into the stage fingerprint: an edited or replaced benchmark
        # file reruns the stage (and everything after it) instead of keeping output decided against the old one.
        digest = hashlib.sha256()
        for spec in self.benchmarks:
            path = benchmark_path(spec)
            try:
                content = file_sha256(path) if path.is_file() else "missing"
            except OSError as error:  # unreadable: building the index names the file and the error
                content = f"unreadable {error.errno}"
            digest.update(f"{spec.name}\0{content}\0".encode())
        self._file_digests = {"benchmarks_sha256": digest.hexdigest()[:16]}

    @property
    def benchmarks_sha256(self) -> str:
        return self._file_digests["benchmarks_sha256"]

    @model_validator(mode="after")
    def _unique_names(self) -> "DecontaminateConfig":
        names = [b.name for b in self.benchmarks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"benchmark names must be unique; repeated: {duplicates}")
        if self.min_item_tokens > self.n:
            raise ValueError(f"min_item_tokens ({self.min_item_tokens}) must not exceed n ({self.n})")
        return self


def build_index(config: DecontaminateConfig) -> tuple[NgramIndex, dict[str, dict[str, Any]]]:
    """The index over every available benchmark, and per benchmark what was indexed (file, sha256, counts)."""
    items, described = [], {}
    for spec in config.benchmarks:
        path = benchmark_path(spec)
        if spec.optional and not path.is_file():
            log.warning("benchmark %s: %s not found; skipped (optional)", spec.name, path)
            described[spec.name] = {"path": str(path), "skipped": "file not found (optional)"}
            continue
        found = read_benchmark(spec)
        items.extend(found)
        described[spec.name] = {"path": str(path.resolve()), "sha256": file_sha256(path)}
    index = NgramIndex.build(items, n=config.n, min_item_tokens=config.min_item_tokens)
    for name, counts in index.counts.items():
        described[name].update(counts)
    return index, described


def decide(index: NgramIndex, texts: list[str | None], mode: str, mask_with: str
           ) -> tuple[list[str | None], list[list[str] | None], list[str | None], list[str | None]]:
    """Per document: the (possibly masked) text, its hit labels, reason and reason detail."""
    out_texts, hits_out, reasons, details = [], [], [], []
    for text in texts:
        if not text:
            out_texts.append(text), hits_out.append(None), reasons.append(None), details.append(None)
            continue
        if mode == "mask":
            words, spans = words_with_spans(text)
        else:
            words, spans = normalize_words(text), []
        hits = index.find(hash_words(words))
        if not hits:
            out_texts.append(text), hits_out.append(None), reasons.append(None), details.append(None)
            continue
        labels = list(dict.fromkeys(index.labels[item] for _, _, item in hits))
        hits_out.append(labels)
        detail = labels[0] + (f" (+{len(labels) - 1} more items)" if len(labels) > 1 else "")
        if mode == "mask":
            ranges = [(start, start + length) for start, length, _ in hits]
            covered = set().union(*(range(a, b) for a, b in ranges))
            text = masked_text(text, spans, ranges, mask_with)
            if len(covered) < len(words):  # some of the document's own words remain
                out_texts.append(text), reasons.append(None), details.append(None)
                continue
        out_texts.append(text), reasons.append(REASON_DECONTAMINATED), details.append(detail)
    return out_texts, hits_out, reasons, details


class DecontaminateStage(BatchStage):
    name = "decontaminate"
    Config = DecontaminateConfig
    reasons: ClassVar[tuple[str, ...]] = (REASON_DECONTAMINATED,)

    def __init__(self, config: DecontaminateConfig | None = None, index: NgramIndex | None = None):
        super().__init__(config)
        self.index = index

    def setup(self) -> None:
        if self.index is None:  # no Spark: read the benchmark files here
            self.index, _ = build_index(self.config)

    def annotation_fields(self) -> list[pa.Field]:
        return DECONTAM_FIELDS

    def process_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        texts, hits, reasons, details = decide(self.index, batch.column("text").to_pylist(), self.config.mode,
                                               self.config.mask_with)
        annotations: dict[str, Any] = {HITS: hits}
        if self.config.mode == "mask":
            annotations["text"] = pa.array(texts, type=pa.string())
        return finish_batch(batch, annotations, reasons, details, DECONTAM_FIELDS)

    def prepare(self, ctx: StageContext) -> PreparedStage:
        from curator.spark.adapters import broadcast_stage_worker

        index, described = build_index(self.config)
        worker = broadcast_stage_worker(ctx.spark, index, functools.partial(DecontaminateStage, self.config))
        return PreparedStage(worker, self._extra_stats(index, described))

    def prepare_in_driver(self) -> PreparedStage:
        index, described = build_index(self.config)
        stage = DecontaminateStage(self.config, index)
        return PreparedStage(lambda: stage, self._extra_stats(index, described))

    def _extra_stats(self, index: NgramIndex, described: dict) -> dict[str, Any]:
        log.info("decontaminate: %d n-grams from %d items", len(index), len(index.labels))
        return {"n": self.config.n, "mode": self.config.mode, "index_ngrams": len(index), "benchmarks": described}

    def output_stats(self, kept: "DataFrame", rejected: "DataFrame") -> dict[str, Any]:
        """The contamination table, counted from the written kept and rejected rows."""
        return self._with_every_benchmark(contamination_table(kept, rejected))

    def output_stats_of_tables(self, kept: pa.Table, rejected: pa.Table) -> dict[str, Any]:
        """:meth:`output_stats` over Arrow tables (a stage run in the driver process)."""
        return self._with_every_benchmark(contamination_of_tables(kept, rejected))

    def _with_every_benchmark(self, found: dict[str, dict[str, int]]) -> dict[str, Any]:
        zero = {"items_found": 0, "documents_removed": 0, "documents_masked": 0}
        # every configured benchmark gets a row, a clean one too
        return {"contamination": {b.name: found.get(b.name, zero) for b in self.config.benchmarks}}

    def __getstate__(self):
        return {"config": self.config}


def contamination_of_tables(kept: pa.Table, rejected: pa.Table) -> dict[str, dict[str, int]]:
    """:func:`contamination_table` over Arrow tables."""
    items: dict[str, set] = {}
    documents: dict[str, dict[bool, set]] = {}
    for table, removed in ((rejected, True), (kept, False)):
        if HITS not in table.column_names:
            continue
        for doc_id, labels in zip(table.column("id").to_pylist(), table.column(HITS).to_pylist()):
            for label in labels or ():
                benchmark = label.split(":", 1)[0]
                items.setdefault(benchmark, set()).add(label)
                documents.setdefault(benchmark, {True: set(), False: set()})[removed].add(doc_id)
    return {b: {"items_found": len(items[b]), "documents_removed": len(documents[b][True]),
                "documents_masked": len(documents[b][False])} for b in sorted(items)}


def contamination_table(kept: "DataFrame", rejected: "DataFrame") -> dict[str, dict[str, int]]:
    """Per benchmark: distinct items found, documents removed (rejected) and documents masked (kept)."""
    from pyspark.sql import functions as F

    frames = []
    for frame, removed in ((rejected, True), (kept, False)):
        if HITS in frame.columns:
            frames.append(frame.where(F.col(HITS).isNotNull())
                          .select("id", F.explode(HITS).alias("label"), F.lit(removed).alias("removed")))
    if not frames:
        return {}
    hits = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    rows = (hits.withColumn("benchmark", F.substring_index("label", ":", 1)).groupBy("benchmark")
            .agg(F.countDistinct("label").alias("items_found"),
                 F.countDistinct(F.when(F.col("removed"), F.col("id"))).alias("documents_removed"),
                 F.countDistinct(F.when(~F.col("removed"), F.col("id"))).alias("documents_masked"))
            .collect())
    return {row["benchmark"]: {k: int(row[k]) for k in ("items_found", "documents_removed", "documents_masked")}
            for row in sorted(rows, key=lambda r: r["benchmark"])}
