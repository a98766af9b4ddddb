"""``curator show``: a seeded sample of a stage's kept or rejected documents, chosen and filtered by Spark.

Spark ranks the matching rows by a seeded hash of ``id`` and returns the first ``n``: the same seed shows the same
documents on every call, and only those ``n`` rows reach the driver. A small run is sampled the same way over Arrow
tables in this process, without Spark.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curator.errors import CuratorError
from curator.report.figures import read_kept, read_parquet
from curator.report.run import read_run


if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def sample_documents(spark: "SparkSession | None", run_dir: str | Path, stage_name: str, rejected: bool = False,
                     reason: str | None = None, lang: str | None = None, n: int = 5, seed: int = 0,
                     max_chars: int | None = 1000) -> list[dict[str, Any]]:
    """Up to ``n`` documents of ``stage_name``'s output (``rejected``: its rejected rows), optionally only those
    with ``reason`` (implies rejected) and/or language ``lang``; text cut to ``max_chars`` (None = whole).
    ``spark`` None: the same documents chosen over Arrow tables in this process (a small run)."""
    from pyspark.sql import functions as F

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CuratorError(f"no run folder at {run_dir}")
    run = read_run(run_dir)
    try:
        stage = run.stage(stage_name)
    except KeyError:
        known = ", ".join(s.name for s in run.document_stages) or "none"
        raise CuratorError(f"{run_dir} has no completed stage {stage_name!r}; document stages: {known}") from None
    if stage.is_sink:
        raise CuratorError(f"stage {stage_name!r} writes artifacts, not documents; for token shards use "
                           f"`curator inspect {stage.path / 'tokens'}`")
    if reason is not None:
        rejected = True
        reasons = stage.stats.get("rejected", {})
        if reason not in reasons:
            raise CuratorError(f"stage {stage_name!r} rejected nothing as {reason!r}; its reasons: "
                               + (", ".join(f"{k} ({v})" for k, v in reasons.items()) or "none"))
    if spark is None:
        return _sample_tables(run, stage, rejected, reason, lang, n, seed, max_chars)
    frame = read_parquet(spark, stage.rejected) if rejected else read_kept(spark, run, stage)
    if frame is None:
        return []
    if reason is not None:
        frame = frame.where(F.col("reason") == reason)
    if lang is not None:
        if "lang" not in frame.columns:
            raise CuratorError(f"stage {stage_name!r} has no `lang` column (language identification runs later)")
        frame = frame.where(F.col("lang") == lang)
    text = F.col("text") if max_chars is None else F.substring("text", 1, max_chars)
    columns = [c for c in frame.columns if c != "text"]
    rows = (frame.select(*columns, text.alias("text"), F.length("text").alias("chars"))
            .orderBy(F.xxhash64("id", F.lit(seed)), "id").limit(n).collect())
    return [row.asDict() for row in rows]


def _sample_tables(run, stage, rejected: bool, reason: str | None, lang: str | None, n: int, seed: int,
                   max_chars: int | None) -> list[dict[str, Any]]:
    """:func:`sample_documents` over Arrow tables: the same filters and the same seeded order (Spark's
    ``xxhash64(id, seed)``, then id, nulls first)."""
    import pyarrow.compute as pc

    from curator.report.arrow_figures import StageTables
    from curator.tokenization.in_process import spark_xxhash64

    tables = StageTables()
    table = tables.read(stage.rejected) if rejected else tables.kept(run, stage)
    if table is None:
        return []
    if reason is not None:
        table = table.filter(pc.equal(table.column("reason"), reason))
    if lang is not None:
        if "lang" not in table.column_names:
            raise CuratorError(f"stage {stage.name!r} has no `lang` column (language identification runs later)")
        table = table.filter(pc.equal(table.column("lang"), lang))
    ids = table.column("id").to_pylist()
    hashes = spark_xxhash64(ids, seed)
    chosen = sorted(range(len(ids)), key=lambda i: (hashes[i], ids[i] is not None, ids[i] or ""))[:n]
    columns = [c for c in table.column_names if c != "text"]
    documents = []
    for row in table.take(chosen).to_pylist():
        text = row.pop("text")
        documents.append({**{c: row[c] for c in columns}, "text": text if max_chars is None or text is None
                          else text[:max_chars], "chars": len(text) if text is not None else None})
    return documents


def render_documents(documents: list[dict[str, Any]], out, title: str) -> None:
    """Print documents as rich panels: annotations on top, the text as plain text (never parsed as markup)."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    if not documents:
        out.print(f"[yellow]no documents match[/yellow] ({title})")
        return
    out.print(f"[bold]{title}[/bold]: {len(documents)} document(s)")
    for doc in documents:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="cyan", no_wrap=True)
        grid.add_column()
        for key, value in doc.items():
            if key in ("id", "text") or value is None:
                continue
            grid.add_row(key, Text(f"{value:.4f}" if isinstance(value, float) else str(value)))
        shown = len(doc.get("text") or "")
        body = Text(doc.get("text") or "")
        if doc.get("chars") and doc["chars"] > shown:
            body.append(f"\n... ({doc['chars'] - shown:,} more characters)", style="dim")
        subtitle = doc.get("reason")
        out.print(Panel(_stack(grid, body), title=Text(str(doc["id"])), subtitle=Text(subtitle) if subtitle else None,
                        title_align="left", subtitle_align="right"))


def _stack(grid, body):
    from rich.console import Group
    from rich.rule import Rule

    return Group(grid, Rule(style="dim"), body)


def documents_json(documents: list[dict[str, Any]]) -> str:
    """One JSON object per line (for scripts)."""
    return "\n".join(json.dumps(doc, ensure_ascii=False, default=str) for doc in documents)
