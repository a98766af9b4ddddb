"""The report's figures computed over Arrow tables in this process: the twin of :mod:`curator.report.figures` for a
small local run that never started Spark (:mod:`curator.spark.in_driver`). Every figure follows the rule its Spark
version documents, including the seeded choice of rejection examples (Spark's ``xxhash64(id, seed)``, reproduced by
:func:`curator.tokenization.in_process.spark_xxhash64`); ``tests/report/test_arrow_figures.py`` checks that both give
the same figures on one run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curator.report.figures import (
    EXAMPLES_PER_REASON,
    GROUP_SIZE_COLUMN,
    HISTOGRAM_BINS,
    NO_LANGUAGE,
    PREVIEW_CHARS,
    SKIPPED_SCORE_COLUMNS,
    count_batch,
    funnel_rows,
    histogram_edges,
    language_rows_table,
    preview_row,
    shard_figures,
    tokenizer_bundle,
)
from curator.report.run import RunFolder


class StageTables:
    """Stage folders opened once per report."""

    def __init__(self):
        self.opened: dict[str, pa.Table | None] = {}

    def read(self, folder: Path) -> pa.Table | None:
        key = str(folder)
        if key not in self.opened:
            files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
            if files:
                import pyarrow.dataset as ds

                self.opened[key] = ds.dataset([str(f) for f in files], format="parquet").to_table()
            else:
                self.opened[key] = None
        return self.opened[key]

    def kept(self, run: RunFolder, stage) -> pa.Table | None:
        """:func:`curator.report.figures.read_kept` over tables."""
        table = self.read(stage.data)
        members = stage.stats.get("fused") or []
        if table is not None or stage.name not in members:
            return table
        names = {s.name for s in run.stages}
        later = [run.stage(name) for name in members[members.index(stage.name) + 1:] if name in names]
        parts = [self.read(s.data) for s in later[-1:]]
        for s in later:
            rejected = self.read(s.rejected)
            if rejected is not None:
                parts.append(rejected.drop_columns([c for c in ("stage", "reason", "reason_detail")
                                                    if c in rejected.column_names]))
        parts = [p for p in parts if p is not None]
        return pa.concat_tables(parts, promote_options="default") if parts else None


def collect_figures(run: RunFolder, seed: int = 0, examples_per_reason: int = EXAMPLES_PER_REASON) -> dict[str, Any]:
    """:func:`curator.report.figures.collect_figures` without Spark."""
    tables = StageTables()
    tokenizer = tokenizer_bundle(run)
    return {
        "stages": stage_funnel(tables, run),
        "languages": language_table(tables, run, tokenizer),
        "histograms": score_histograms(tables, run),
        "group_sizes": group_sizes(tables, run),
        "totals": {s.name: s.stats["totals"] for s in run.document_stages if s.stats.get("totals")},
        "tokenizer": tokenizer_figures(tables, run, tokenizer),
        "shards": shard_figures(run),
        "examples": rejection_examples(tables, run, seed, examples_per_reason),
    }


def _chars(table: pa.Table) -> int:
    return int(pc.sum(pc.utf8_length(table.column("text"))).as_py() or 0) if table.num_rows else 0


def stage_funnel(tables: StageTables, run: RunFolder) -> list[dict[str, Any]]:
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for stage in run.document_stages:
        for side, table in (("kept", tables.kept(run, stage)), ("rejected", tables.read(stage.rejected))):
            if table is not None:
                totals[(stage.name, side)] = (table.num_rows, _chars(table))
    return funnel_rows(run, totals)


def _language_rows(parts: list[tuple[pa.Table, bool]], bundle) -> list[dict[str, Any]]:
    tokenizer = None
    if bundle is not None:
        from curator.tokenization.job import worker_tokenizer

        tokenizer = worker_tokenizer(bundle)
    sums: dict[tuple[Any, bool], dict[str, int]] = {}
    for table, removed in parts:
        lang = table.column("lang") if "lang" in table.column_names else pa.nulls(table.num_rows, pa.string())
        frame = pa.table({"lang": lang.cast(pa.string()), "removed": pa.array([removed] * table.num_rows, pa.bool_()),
                          "text": table.column("text")})
        for batch in frame.to_batches(max_chunksize=2000):
            if not batch.num_rows:
                continue
            for row in count_batch(batch, tokenizer).to_pylist():
                entry = sums.setdefault((row["lang"], row["removed"]), dict.fromkeys(("docs", "chars", "bytes",
                                                                                        "tokens"), 0))
                for what in entry:
                    entry[what] += row[what]
    return [{"lang": lang, "removed": removed, **counts} for (lang, removed), counts in sums.items()]


def language_table(tables: StageTables, run: RunFolder, tokenizer=None) -> dict[str, Any]:
    stages = run.document_stages
    if not stages:
        return {"rows": [], "tokens": False}
    parts = [(table, removed) for table, removed in
             [(tables.read(stages[-1].data), False)] + [(tables.read(s.rejected), True) for s in stages]
             if table is not None]
    if not parts:
        return {"rows": [], "tokens": False}
    return language_rows_table(_language_rows(parts, tokenizer[1] if tokenizer else None), tokenizer is not None)


def _score_columns(table: pa.Table, before: set[str]) -> list[str]:
    return [f.name for f in table.schema if pa.types.is_floating(f.type) and f.type != pa.float16()
            and f.name not in before and f.name not in SKIPPED_SCORE_COLUMNS]


def _finite(column: pa.ChunkedArray) -> np.ndarray:
    """The column as float64 with nulls and NaN as NaN (Spark's ``when(~isnan(c), c)`` then null-skipping)."""
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)


def score_histograms(tables: StageTables, run: RunFolder, bins: int = HISTOGRAM_BINS) -> list[dict[str, Any]]:
    histograms: list[dict[str, Any]] = []
    seen: set[str] = set()
    for stage in run.document_stages:
        kept, rejected = tables.kept(run, stage), tables.read(stage.rejected)
        reference = kept if kept is not None else rejected
        if reference is None:
            continue
        columns_here = set((rejected if rejected is not None else kept).column_names)
        columns = [c for c in _score_columns(reference, seen) if rejected is None or c in rejected.column_names]
        seen |= columns_here
        for c in columns:
            sides = {side: _finite(t.column(c)) if c in t.column_names else np.zeros(0)
                     for side, t in (("kept", kept), ("rejected", rejected)) if t is not None}
            values = np.concatenate(list(sides.values()))
            values = values[~np.isnan(values)]
            edges = histogram_edges(float(values.min()), float(values.max()), bins) if values.size else None
            if edges is None:
                continue
            low, width = edges[0], edges[1] - edges[0]
            counts = {"kept": [0] * bins, "rejected": [0] * bins}
            for side, side_values in sides.items():
                side_values = side_values[~np.isnan(side_values)]
                index = np.clip(np.floor((side_values - low) / width), 0, bins - 1).astype(np.int64)
                counts[side] = np.bincount(index, minlength=bins).tolist()
            histograms.append({"column": c, "stage": stage.name, "edges": edges, **counts})
    return histograms


def group_sizes(tables: StageTables, run: RunFolder) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    upstream: set[str] = set()
    for stage in run.document_stages:
        kept = tables.kept(run, stage)
        columns, added_before = set(kept.column_names if kept is not None else []), GROUP_SIZE_COLUMN in upstream
        upstream = columns
        if kept is None or GROUP_SIZE_COLUMN not in columns or added_before:
            continue
        sizes: dict[int, int] = {}
        for size in kept.column(GROUP_SIZE_COLUMN).to_pylist():
            if size is not None and size > 1:
                sizes[size] = sizes.get(size, 0) + 1
        result[stage.name] = {str(size): sizes[size] for size in sorted(sizes)}
    return result


def tokenizer_figures(tables: StageTables, run: RunFolder, tokenizer) -> dict[str, Any] | None:
    if tokenizer is None:
        return None
    stage, bundle = tokenizer
    figures = {k: v for k, v in stage.stats.items() if k not in ("fingerprint", "stage", "kind", "sink")}
    corpus_stage = run.document_stages[-1] if run.document_stages else None
    corpus = tables.read(corpus_stage.data) if corpus_stage else None
    if corpus is None:
        return figures
    holdout = stage.stats.get("holdout")
    if holdout and "id" in corpus.column_names:
        from curator.tokenization.in_process import heldout_mask

        corpus = corpus.filter(pa.array(heldout_mask(corpus.column("id").to_pylist(), holdout["fraction"],
                                                     holdout["seed"])))
        figures["measured_on"] = (f"held-out documents ({holdout['fraction']:.0%} of {corpus_stage.name}, "
                                  "never sampled for training)")
    else:
        figures["measured_on"] = f"all of {corpus_stage.name} (the recipe holds nothing out: training text)"
    rows = _language_rows([(corpus, False)], bundle)
    figures["bytes_per_token"] = sorted(
        ({"lang": r["lang"] or NO_LANGUAGE, "docs": r["docs"], "bytes": r["bytes"], "tokens": r["tokens"],
          "bytes_per_token": round(r["bytes"] / r["tokens"], 3) if r["tokens"] else None} for r in rows),
        key=lambda r: -r["bytes"])
    return figures


def rejection_examples(tables: StageTables, run: RunFolder, seed: int = 0,
                       per_reason: int = EXAMPLES_PER_REASON) -> list[dict[str, Any]]:
    from curator.tokenization.in_process import spark_xxhash64

    groups: list[dict[str, Any]] = []
    for stage in run.document_stages:
        rejected = tables.read(stage.rejected)
        if rejected is None:
            continue
        annotations = [c for c in rejected.column_names if c not in ("text", "meta", "stage")]
        ids = rejected.column("id").to_pylist()
        reasons = rejected.column("reason").to_pylist()
        hashes = spark_xxhash64(ids, seed)
        by_reason: dict[str, list[int]] = {}
        for i in sorted(range(len(ids)), key=lambda i: (hashes[i], ids[i] is not None, ids[i] or "")):
            picked = by_reason.setdefault(reasons[i], [])
            if len(picked) < per_reason:
                picked.append(i)
        columns = {c: rejected.column(c) for c in annotations + ["text"]}

        def row_of(i: int, names: list[str], table_columns=columns) -> dict[str, Any]:
            row = {c: table_columns[c][i].as_py() for c in names}
            text = table_columns["text"][i].as_py()
            row["_chars"] = len(text) if text is not None else None
            row["text"] = text[:PREVIEW_CHARS + 1] if text is not None else None
            return row

        picked_rows = {reason: [row_of(i, annotations) for i in rows] for reason, rows in by_reason.items()}
        details = {r["reason_detail"] for rows in picked_rows.values() for r in rows if r["reason_detail"]}
        counterparts: dict[str, dict[str, Any]] = {}
        kept = tables.kept(run, stage)
        if details and kept is not None:
            kept_columns = {"id": kept.column("id"), "text": kept.column("text")}
            for i, doc_id in enumerate(kept_columns["id"].to_pylist()):
                if doc_id in details:
                    counterparts[doc_id] = preview_row(row_of(i, ["id"], kept_columns), [])
        for reason in sorted(picked_rows):
            examples = []
            for row in picked_rows[reason]:
                example = preview_row(row, annotations)
                if row["reason_detail"] in counterparts:
                    example["kept_counterpart"] = counterparts[row["reason_detail"]]
                examples.append(example)
            groups.append({"stage": stage.name, "reason": reason,
                           "count": stage.stats.get("rejected", {}).get(reason), "examples": examples})
    return groups


__all__ = ["StageTables", "collect_figures"]
