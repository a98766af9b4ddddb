"""Every figure of the run report, computed by Spark aggregations over the written stage outputs.

Only aggregates and a handful of example rows per rejection reason reach the driver, never the corpus. Nothing here
names a particular stage: score columns are the floating-point columns a stage added to its input, duplicate-group
sizes come from any ``dup_group_size`` column, per-entity counts from any stage's ``totals``, the tokenizer and
shards from the sink stages' stats. A new stage therefore appears in the report without edits.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pyarrow as pa

from curator.report.run import RunFolder


if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


log = logging.getLogger("curator.report")
HISTOGRAM_BINS = 20
EXAMPLES_PER_REASON = 3
PREVIEW_CHARS = 600
NO_LANGUAGE = "(none)"  # documents rejected before language identification
GROUP_SIZE_COLUMN = "dup_group_size"
SKIPPED_SCORE_COLUMNS = {"id", "text", "source", "url", "meta", "reason", "reason_detail", "stage"}


# Frames already opened while one report is computed: each figure reads the same stage folders again, and every
# opening costs Spark a job to infer the schema (see collect_figures).
_OPENED: dict[str, "DataFrame | None"] | None = None


def read_parquet(spark: "SparkSession", folder: Path) -> "DataFrame | None":
    """A written stage output, or None when the folder holds no Parquet file (a stage that rejected nothing)."""
    key = str(folder)
    if _OPENED is not None and key in _OPENED:
        return _OPENED[key]
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    frame = None
    if files:
        reader = spark.read
        try:  # the schema from one file's footer, read here: spares Spark its schema-inference job
            import pyarrow.parquet as pq

            from curator.document import spark_schema

            reader = reader.schema(spark_schema(pq.read_schema(files[0])))
        except Exception:  # a type the conversion does not know: Spark infers it
            reader = spark.read
        frame = reader.parquet(key)
    if _OPENED is not None:
        _OPENED[key] = frame
    return frame


def read_kept(spark: "SparkSession", run: RunFolder, stage) -> "DataFrame | None":
    """The documents ``stage`` kept. A stage that ran fused with later ones (``fused`` in its stats, see
    ``curator.spark.fusion``) wrote none of its own: they are the later members' rejected rows plus the last
    member's kept rows (text as written there)."""
    frame = read_parquet(spark, stage.data)
    members = stage.stats.get("fused") or []
    if frame is not None or stage.name not in members:
        return frame
    later = [run.stage(name) for name in members[members.index(stage.name) + 1:] if name in
             {s.name for s in run.stages}]
    parts = [read_parquet(spark, s.data) for s in later[-1:]]
    parts += [f.drop("stage", "reason", "reason_detail") if f is not None else None
              for f in (read_parquet(spark, s.rejected) for s in later)]
    parts = [f for f in parts if f is not None]
    if not parts:
        return None
    kept = parts[0]
    for part in parts[1:]:
        kept = kept.unionByName(part, allowMissingColumns=True)
    return kept


def collect_figures(spark: "SparkSession", run: RunFolder, seed: int = 0,
                    examples_per_reason: int = EXAMPLES_PER_REASON) -> dict[str, Any]:
    """All report figures of ``run`` as one JSON-serialisable dict (also written as ``report.json``)."""
    global _OPENED
    tokenizer = tokenizer_bundle(run)
    _OPENED = {}
    try:
        figures: dict[str, Any] = {
            "stages": stage_funnel(spark, run),
            "languages": language_table(spark, run, tokenizer),
            "histograms": score_histograms(spark, run),
            "group_sizes": group_sizes(spark, run),
            "totals": {s.name: s.stats["totals"] for s in run.document_stages if s.stats.get("totals")},
            "tokenizer": tokenizer_figures(spark, run, tokenizer),
            "shards": shard_figures(run),
            "examples": rejection_examples(spark, run, seed, examples_per_reason),
        }
    finally:
        _OPENED = None
    return figures


# -- funnel ---------------------------------------------------------------------------------------------------------


def stage_funnel(spark: "SparkSession", run: RunFolder) -> list[dict[str, Any]]:
    """Per stage: documents and characters in, kept and rejected (characters counted from the written text).

    ``chars_in`` is what the previous stage kept; it can exceed kept + rejected characters when a stage edits text
    (C4 line removal, PII placeholders), which ``chars_edited`` reports. Every stage's outputs are counted in one
    Spark job."""
    from pyspark.sql import functions as F

    parts = []
    for stage in run.document_stages:
        for side, frame in (("kept", read_kept(spark, run, stage)), ("rejected", read_parquet(spark, stage.rejected))):
            if frame is not None:
                parts.append(frame.select(F.lit(stage.name).alias("_stage"), F.lit(side).alias("_side"),
                                          F.length("text").alias("_chars")))
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    if parts:
        union = parts[0]
        for part in parts[1:]:
            union = union.unionByName(part)
        for row in union.groupBy("_stage", "_side").agg(F.count(F.lit(1)).alias("docs"),
                                                        F.sum("_chars").alias("chars")).collect():
            totals[(row["_stage"], row["_side"])] = (int(row["docs"] or 0), int(row["chars"] or 0))
    return funnel_rows(run, totals)


def funnel_rows(run: RunFolder, totals: dict[tuple[str, str], tuple[int, int]]) -> list[dict[str, Any]]:
    """The funnel's rows from (documents, characters) per (stage, ``kept``/``rejected``) counted from the data."""
    rows: list[dict[str, Any]] = []
    previous_chars: int | None = None
    for stage in run.stages:
        row: dict[str, Any] = {"stage": stage.name, "kind": stage.kind, "sink": stage.is_sink,
                               "seconds": stage.stats.get("seconds")}
        if stage.is_sink:
            rows.append(row)
            continue
        kept_docs, kept_chars = totals.get((stage.name, "kept"), (0, 0))
        rejected_docs, rejected_chars = totals.get((stage.name, "rejected"), (0, 0))
        chars_in = previous_chars if previous_chars is not None else kept_chars + rejected_chars
        row.update(docs_in=stage.stats.get("in"), docs_kept=kept_docs, docs_rejected=rejected_docs,
                   chars_in=chars_in, chars_kept=kept_chars, chars_rejected=rejected_chars,
                   chars_edited=chars_in - kept_chars - rejected_chars,
                   rejected=stage.stats.get("rejected", {}))
        rows.append(row)
        previous_chars = kept_chars
    return rows


# -- languages and tokens -------------------------------------------------------------------------------------------


_LANG_SCHEMA = pa.schema([("lang", pa.string()), ("removed", pa.bool_()), ("docs", pa.int64()),
                          ("chars", pa.int64()), ("bytes", pa.int64()), ("tokens", pa.int64())])


def count_batch(batch: pa.RecordBatch, tokenizer=None) -> pa.RecordBatch:
    """Per (lang, removed) in ``batch``: documents, characters, UTF-8 bytes and tokens (when a tokenizer is given)."""
    langs = batch.column("lang").to_pylist()
    removed = batch.column("removed").to_pylist()
    texts = [t or "" for t in batch.column("text").to_pylist()]
    token_counts = [len(ids) for ids in tokenizer.encode_batch(texts)] if tokenizer is not None else None
    groups: dict[tuple[str, bool], list[int]] = {}
    for i, text in enumerate(texts):
        totals = groups.setdefault((langs[i] or NO_LANGUAGE, bool(removed[i])), [0, 0, 0, 0])
        totals[0] += 1
        totals[1] += len(text)
        totals[2] += len(text.encode("utf-8", "surrogatepass"))
        totals[3] += token_counts[i] if token_counts is not None else 0
    keys = sorted(groups)
    return pa.RecordBatch.from_pydict({
        "lang": [k[0] for k in keys], "removed": [k[1] for k in keys],
        "docs": [groups[k][0] for k in keys], "chars": [groups[k][1] for k in keys],
        "bytes": [groups[k][2] for k in keys], "tokens": [groups[k][3] for k in keys],
    }, schema=_LANG_SCHEMA)


def count_text(batches: Iterator[pa.RecordBatch], tokenizer=None) -> Iterator[pa.RecordBatch]:
    """:func:`count_batch` over the non-empty ``batches``."""
    for batch in batches:
        if batch.num_rows:
            yield count_batch(batch, tokenizer)


def _count_batch_with(batch: pa.RecordBatch, bundle) -> pa.RecordBatch:
    """:func:`count_batch` with this worker's copy of ``bundle``'s tokenizer (loaded once per process)."""
    tokenizer = None
    if bundle is not None:
        from curator.tokenization.job import worker_tokenizer

        tokenizer = worker_tokenizer(bundle)
    return count_batch(batch, tokenizer)


def _language_rows(frame: "DataFrame", bundle) -> list[dict[str, Any]]:
    """Aggregate ``frame`` (lang, removed, text) per language, encoding with ``bundle`` on the executors."""
    from pyspark.sql import functions as F

    from curator.spark.adapters import map_batches

    counted = map_batches(frame, functools.partial(_count_batch_with, bundle=bundle), _LANG_SCHEMA)
    sums = counted.groupBy("lang", "removed").agg(*[F.sum(c).alias(c) for c in ("docs", "chars", "bytes", "tokens")])
    return [row.asDict() for row in sums.collect()]


def language_table(spark: "SparkSession", run: RunFolder, tokenizer=None) -> dict[str, Any]:
    """Documents, characters and (with the run's tokenizer) tokens kept and removed per language.

    Kept = the last document stage's output; removed = every stage's rejected rows (their text as rejected)."""
    from pyspark.sql import functions as F

    stages = run.document_stages
    if not stages:
        return {"rows": [], "tokens": False}
    parts = []
    kept = read_parquet(spark, stages[-1].data)
    for stage, frame, removed in [(stages[-1], kept, False)] + [(s, read_parquet(spark, s.rejected), True)
                                                                for s in stages]:
        if frame is None:
            continue
        lang = F.col("lang") if "lang" in frame.columns else F.lit(None).cast("string")
        parts.append(frame.select(lang.alias("lang"), F.lit(removed).alias("removed"), F.col("text")))
    if not parts:
        return {"rows": [], "tokens": False}
    frame = parts[0]
    for part in parts[1:]:
        frame = frame.unionByName(part)
    return language_rows_table(_language_rows(frame, tokenizer[1] if tokenizer else None), tokenizer is not None)


def language_rows_table(counted: list[dict[str, Any]], tokens: bool) -> dict[str, Any]:
    """The language table from per (lang, removed) sums of documents, characters and tokens."""
    table: dict[str, dict[str, Any]] = {}
    for row in counted:
        entry = table.setdefault(row["lang"] or NO_LANGUAGE, {"lang": row["lang"] or NO_LANGUAGE, **{
            f"{side}_{what}": 0 for side in ("kept", "removed") for what in ("docs", "chars", "tokens")}})
        side = "removed" if row["removed"] else "kept"
        for what in ("docs", "chars", "tokens"):
            entry[f"{side}_{what}"] += int(row[what] or 0)
    rows = sorted(table.values(), key=lambda r: (-r["kept_chars"], -r["removed_chars"], r["lang"]))
    return {"rows": rows, "tokens": tokens}


# -- score distributions --------------------------------------------------------------------------------------------


def new_score_columns(frame: "DataFrame", before: set[str]) -> list[str]:
    """Floating-point columns of ``frame`` that its stage added (absent from the stage's input)."""
    from pyspark.sql.types import DoubleType, FloatType

    return [f.name for f in frame.schema.fields
            if isinstance(f.dataType, (FloatType, DoubleType)) and f.name not in before
            and f.name not in SKIPPED_SCORE_COLUMNS]


def score_histograms(spark: "SparkSession", run: RunFolder, bins: int = HISTOGRAM_BINS) -> list[dict[str, Any]]:
    """For every score column, where its stage added it: a histogram of kept and of rejected documents."""
    from pyspark.sql import functions as F

    histograms: list[dict[str, Any]] = []
    seen: set[str] = set()
    for stage in run.document_stages:
        kept, rejected = read_kept(spark, run, stage), read_parquet(spark, stage.rejected)
        reference = kept if kept is not None else rejected
        if reference is None:
            continue
        # The stage's own columns: its rejected rows have exactly them, while a fused member's kept rows also carry
        # the columns of the members after it (read_kept), which must not count as seen here.
        columns_here = set((rejected if rejected is not None else kept).columns)
        columns = [c for c in new_score_columns(reference, seen)
                   if rejected is None or c in rejected.columns]
        seen |= columns_here
        if not columns:
            continue
        parts = [f.select(*columns, F.lit(flag).alias("_rejected")) for f, flag in ((kept, False), (rejected, True))
                 if f is not None]
        frame = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])

        def finite(c):
            return F.when(~F.isnan(F.col(c)), F.col(c).cast("double"))

        bounds = frame.agg(*[agg(finite(c)).alias(f"{c}|{name}") for c in columns
                             for name, agg in (("min", F.min), ("max", F.max))]).first()
        edges_by_column = {c: histogram_edges(bounds[f"{c}|min"], bounds[f"{c}|max"], bins) for c in columns}
        expressions = []
        for c in columns:
            edges = edges_by_column[c]
            if edges is None:
                continue
            low, width = edges[0], edges[1] - edges[0]
            value = finite(c)
            # least/greatest skip nulls: without the guard a missing score would land in the first bin.
            index = F.when(value.isNotNull(), F.least(F.lit(bins - 1), F.greatest(
                F.lit(0), F.floor((value - low) / width).cast("int"))))
            expressions.append(index.alias(c))
        if not expressions:
            continue
        # One pass over the stage's outputs: each column's bin index, then counts per (column, bin, side).
        binned = frame.select(*expressions, "_rejected")
        stacked = binned.select(F.explode(F.array(*[
            F.struct(F.lit(c).alias("column"), F.col(c).alias("bin")) for c in binned.columns if c != "_rejected"
        ])).alias("cell"), "_rejected").where(F.col("cell.bin").isNotNull())
        counts = stacked.groupBy("cell.column", "cell.bin", "_rejected").count().collect()
        by_column: dict[str, dict[str, list[int]]] = {
            c: {"kept": [0] * bins, "rejected": [0] * bins} for c in edges_by_column if edges_by_column[c]}
        for row in counts:
            by_column[row["column"]]["rejected" if row["_rejected"] else "kept"][row["bin"]] += row["count"]
        for c in columns:
            if c in by_column:
                histograms.append({"column": c, "stage": stage.name, "edges": edges_by_column[c], **by_column[c]})
    return histograms


def histogram_edges(low: float | None, high: float | None, bins: int) -> list[float] | None:
    """``bins + 1`` edges over [low, high]; scores inside [0, 1] get the whole unit interval. None when empty."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    if 0.0 <= low and high <= 1.0:
        low, high = 0.0, 1.0
    if high == low:
        high = low + 1.0
    width = (high - low) / bins
    return [low + i * width for i in range(bins)] + [high]


def group_sizes(spark: "SparkSession", run: RunFolder) -> dict[str, dict[str, int]]:
    """Per stage with a ``dup_group_size`` column: how many kept survivors head a group of each size (> 1)."""
    from pyspark.sql import functions as F

    result: dict[str, dict[str, int]] = {}
    upstream: set[str] = set()
    for stage in run.document_stages:
        kept = read_kept(spark, run, stage)
        columns, added_before = set(kept.columns if kept is not None else []), GROUP_SIZE_COLUMN in upstream
        upstream = columns
        # Later stages carry the column through unchanged: it is shown for the stage that added it.
        if kept is None or GROUP_SIZE_COLUMN not in columns or added_before:
            continue
        rows = kept.where(F.col(GROUP_SIZE_COLUMN) > 1).groupBy(GROUP_SIZE_COLUMN).count().collect()
        result[stage.name] = {str(r[GROUP_SIZE_COLUMN]): r["count"]
                              for r in sorted(rows, key=lambda r: r[GROUP_SIZE_COLUMN])}
    return result


# -- tokenizer and shards -------------------------------------------------------------------------------------------


def tokenizer_bundle(run: RunFolder):
    """(stage, bundle) of the run's first tokenizer-training stage, or None."""
    from curator.tokenization.tokenizer import ARTIFACT_META, read_bundle

    for stage in run.sink_stages:
        artifact = stage.path / "tokenizer"  # any sink that leaves a tokenizer artifact there
        if (artifact / ARTIFACT_META).exists():
            try:
                return stage, read_bundle(artifact)
            except Exception as error:  # a report must still be written when the artifact cannot be read
                log.warning("report: cannot read the tokenizer in %s: %s", artifact, error)
    return None


def tokenizer_figures(spark: "SparkSession", run: RunFolder, tokenizer) -> dict[str, Any] | None:
    """The tokenizer stage's figures plus bytes per token per language on its held-out documents."""
    from pyspark.sql import functions as F

    if tokenizer is None:
        return None
    stage, bundle = tokenizer
    figures = {k: v for k, v in stage.stats.items() if k not in ("fingerprint", "stage", "kind", "sink")}
    corpus_stage = run.document_stages[-1] if run.document_stages else None
    corpus = read_parquet(spark, corpus_stage.data) if corpus_stage else None
    if corpus is None:
        return figures
    holdout = stage.stats.get("holdout")
    if holdout and "id" in corpus.columns:
        from curator.tokenization.train import heldout_documents

        corpus = corpus.where(heldout_documents(holdout["fraction"], holdout["seed"]))
        figures["measured_on"] = (f"held-out documents ({holdout['fraction']:.0%} of {corpus_stage.name}, "
                                  "never sampled for training)")
    else:
        figures["measured_on"] = f"all of {corpus_stage.name} (the recipe holds nothing out: training text)"
    lang = F.col("lang") if "lang" in corpus.columns else F.lit(None).cast("string")
    rows = _language_rows(corpus.select(lang.alias("lang"), F.lit(False).alias("removed"), "text"), bundle)
    figures["bytes_per_token"] = sorted(
        ({"lang": r["lang"] or NO_LANGUAGE, "docs": r["docs"], "bytes": r["bytes"], "tokens": r["tokens"],
          "bytes_per_token": round(r["bytes"] / r["tokens"], 3) if r["tokens"] else None} for r in rows),
        key=lambda r: -r["bytes"])
    return figures


def shard_figures(run: RunFolder) -> dict[str, Any] | None:
    """The token shards' manifest (documents and tokens per shard) of the run's first tokenize-like stage."""
    for stage in run.sink_stages:
        manifest_file = stage.path / "tokens" / "manifest.json"
        if manifest_file.exists():
            manifest = json.loads(manifest_file.read_text())
            shards = [{"prefix": s["prefix"], "documents": s["documents"], "tokens": s["tokens"]}
                      for s in manifest.get("shards", [])]
            return {"stage": stage.name, "dtype": manifest.get("dtype"), "documents": manifest.get("documents"),
                    "tokens": manifest.get("tokens"), "vocab_size": manifest.get("tokenizer", {}).get("vocab_size"),
                    "rejected": manifest.get("rejected", {}), "shards": shards}
    return None


# -- examples -------------------------------------------------------------------------------------------------------


def rejection_examples(spark: "SparkSession", run: RunFolder, seed: int = 0,
                       per_reason: int = EXAMPLES_PER_REASON) -> list[dict[str, Any]]:
    """A few rejected documents per (stage, reason), chosen by a seeded hash of ``id`` (stable across reruns).

    When ``reason_detail`` names a kept document (a duplicate's survivor), that document comes along."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    groups: list[dict[str, Any]] = []
    for stage in run.document_stages:
        rejected = read_parquet(spark, stage.rejected)
        if rejected is None:
            continue
        annotations = [c for c in rejected.columns if c not in ("text", "meta", "stage")]
        rank = F.row_number().over(Window.partitionBy("reason").orderBy(F.xxhash64("id", F.lit(seed)), "id"))
        picked = (rejected.withColumn("_rank", rank).where(F.col("_rank") <= per_reason)
                  .select(*annotations, F.substring("text", 1, PREVIEW_CHARS + 1).alias("text"),
                          F.length("text").alias("_chars"), "_rank").collect())
        details = sorted({r["reason_detail"] for r in picked if r["reason_detail"]})
        counterparts: dict[str, dict[str, Any]] = {}
        kept = read_kept(spark, run, stage)
        if details and kept is not None:
            for row in kept.where(F.col("id").isin(details)).select(
                    "id", F.substring("text", 1, PREVIEW_CHARS + 1).alias("text"),
                    F.length("text").alias("_chars")).collect():
                counterparts[row["id"]] = preview_row(row.asDict(), [])
        by_reason: dict[str, list[dict[str, Any]]] = {}
        for row in sorted(picked, key=lambda r: (r["reason"], r["_rank"])):
            example = preview_row(row.asDict(), annotations)
            if row["reason_detail"] in counterparts:
                example["kept_counterpart"] = counterparts[row["reason_detail"]]
            by_reason.setdefault(row["reason"], []).append(example)
        for reason, examples in sorted(by_reason.items()):
            groups.append({"stage": stage.name, "reason": reason,
                           "count": stage.stats.get("rejected", {}).get(reason), "examples": examples})
    return groups


def preview_row(row: dict[str, Any], annotations: list[str]) -> dict[str, Any]:
    text = row.get("text") or ""
    chars = row.get("_chars") or 0
    out = {"id": row.get("id"), "chars": chars, "text": text[:PREVIEW_CHARS], "truncated": chars > PREVIEW_CHARS}
    extra = {}
    for column in annotations:
        if column in ("id", "_rank", "_chars") or row.get(column) is None:
            continue
        value = row[column]
        extra[column] = round(value, 4) if isinstance(value, float) else value
    if annotations:
        out["annotations"] = extra
    return out
