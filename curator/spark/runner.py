"""Runs pipeline stages on Spark with one adapter, and keeps the books.

For every document stage the runner reads the previous stage's kept output, asks the stage to annotate it, writes
kept rows to ``<root>/<stage>/data`` and rejected rows (with ``stage``, ``reason``, ``reason_detail``) to
``<root>/<stage>/rejected``, counts both *from the written data*, checks ``in = kept + rejected``, writes
``stats.json`` and finally a ``_COMPLETE`` marker holding the stage's fingerprint. Everything is first written to a
temporary folder that is renamed into place, so a failed stage leaves nothing that looks finished, and a rerun skips
every stage whose marker matches the current spec.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.document import REASON, REASON_DETAIL, STAGE
from curator.errors import CuratorError, LedgerError
from curator.progress import QuietProgress, StageProgress
from curator.specs import PipelineSpec, StageSpec
from curator.stage import StageContext


log = logging.getLogger("curator")
MARKER = "_COMPLETE"
LEDGER = "ledger.json"


@dataclass
class StageResult:
    name: str
    skipped: bool
    stats: dict[str, Any]


class PipelineRunner:
    def __init__(self, spec: PipelineSpec, output: str | None = None, master: str | None = None, spark=None,
                 progress: StageProgress | None = None):
        self.spec = spec
        self.root = spec.output_root(output)
        self.master = master
        self._spark = spark
        self.progress = progress or QuietProgress()

    @property
    def spark(self):
        if self._spark is None:
            from curator.spark.session import get_session

            self._spark = get_session(self.spec.spark, self.master)
        return self._spark

    # -- paths and fingerprints -------------------------------------------------------------------------------

    def stage_dir(self, name: str) -> Path:
        return self.root / name

    def fingerprint(self, name: str) -> str:
        """Hash of this stage's config chained with every upstream stage's, plus the input description."""
        digest = hashlib.sha256(self.spec.input.model_dump_json().encode())
        for s in self.spec.stages:
            digest.update(s.fingerprint().encode())
            if s.name == name:
                return digest.hexdigest()[:20]
        raise CuratorError(f"unknown stage {name!r}")

    def is_complete(self, name: str) -> bool:
        marker = self.stage_dir(name) / MARKER
        if not marker.exists():
            return False
        return json.loads(marker.read_text()).get("fingerprint") == self.fingerprint(name)

    def previous_document_stage(self, name: str) -> StageSpec | None:
        previous = None
        for s in self.spec.stages:
            if s.name == name:
                return previous
            if not s.is_sink:
                previous = s
        raise CuratorError(f"unknown stage {name!r}")

    # -- running ----------------------------------------------------------------------------------------------

    def run_all(self, force: bool = False, report: bool = False) -> list[StageResult]:
        """Every stage in order; ``report`` then writes the full run report (``curator run`` always does)."""
        results = [self.run_stage(s.name, force=force) for s in self.spec.stages]
        if report:
            self.write_report()
        return results

    def run_stage(self, name: str, force: bool = False) -> StageResult:
        stage_spec = self.spec.stage(name)
        final = self.stage_dir(name)
        if not force and self.is_complete(name):
            log.info("stage %s already complete for this spec; skipping", name)
            self.progress.skipped(name)
            return StageResult(name, True, json.loads((final / "stats.json").read_text()))

        previous = self.previous_document_stage(name)
        if previous is not None and not self.is_complete(previous.name):
            raise CuratorError(
                f"stage {name!r} needs the output of {previous.name!r}, which has not completed for this spec; "
                f"run `curator stage {self.spec.source_path or 'SPEC'} {previous.name}` first (or `curator run`)"
            )

        self.root.mkdir(parents=True, exist_ok=True)
        self.progress.started(name, stage_spec.stage, self.spec.stage_names.index(name) + 1, len(self.spec.stages))
        tmp = self.root / f".{name}.tmp-{uuid.uuid4().hex[:8]}"
        scratch = self.root / "_scratch" / name
        started = time.time()
        stage = stage_spec.build()
        ctx = StageContext(
            spark=self.spark, run_dir=self.root, scratch_dir=scratch, stage_name=name,
            default_parallelism=self.spark.sparkContext.defaultParallelism, input_spec=self.spec.input,
        )
        try:
            input_df = None if previous is None else self.spark.read.parquet(str(self.stage_dir(previous.name) / "data"))
            with self.progress.running(self.spark, name):
                if stage_spec.is_sink:
                    stats = self._run_sink(stage, input_df, ctx, tmp)
                else:
                    stats = self._run_documents(stage, input_df, ctx, tmp, previous)
            stats.update(stage=name, kind=stage_spec.stage, seconds=round(time.time() - started, 2),
                         fingerprint=self.fingerprint(name))
            (tmp / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True))
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            (final / MARKER).write_text(json.dumps({"fingerprint": self.fingerprint(name), "finished": time.time()}))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)
        self.progress.finished(name, stats, stats["seconds"])
        self.write_ledger()
        return StageResult(name, False, stats)

    def _run_documents(self, stage, input_df, ctx: StageContext, tmp: Path, previous: StageSpec | None) -> dict:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        annotated = stage.annotate(input_df, ctx)
        # persist justification: the annotated frame is split into two writes; recomputing it would rerun models.
        frame = annotated.frame.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            kept = frame.filter(F.col(REASON).isNull()).drop(REASON, REASON_DETAIL)
            kept.write.mode("overwrite").option("compression", "zstd").parquet(str(tmp / "data"))
            rejected = frame.filter(F.col(REASON).isNotNull()).withColumn(STAGE, F.lit(ctx.stage_name))
            rejected.write.mode("overwrite").option("compression", "zstd").parquet(str(tmp / "rejected"))
        finally:
            frame.unpersist()

        # Counts come from what was written, not from accumulators.
        kept_count = self.spark.read.parquet(str(tmp / "data")).count()
        by_reason = {
            row[REASON]: row["count"]
            for row in self.spark.read.parquet(str(tmp / "rejected")).groupBy(REASON).count().collect()
        }
        rejected_count = sum(by_reason.values())
        if previous is None:
            input_count = kept_count + rejected_count  # ingest: every physical input record became one row
        else:
            input_count = json.loads((self.stage_dir(previous.name) / "stats.json").read_text())["kept"]
        if input_count != kept_count + rejected_count:
            raise LedgerError(
                f"stage {ctx.stage_name}: {input_count} documents in but {kept_count} kept + {rejected_count} "
                f"rejected = {kept_count + rejected_count}; refusing to mark the stage complete"
            )
        totals = self._column_totals(stage.summed_columns(), tmp)
        return {
            "in": input_count, "kept": kept_count, "rejected": dict(sorted(by_reason.items())),
            "rejected_total": rejected_count, **({"extra": annotated.extra_stats} if annotated.extra_stats else {}),
            **({"totals": totals} if totals else {}),
        }

    def _column_totals(self, columns: list[str], tmp: Path) -> dict[str, int]:
        """Sums of the stage's summed columns over both written outputs (counts come from data)."""
        if not columns:
            return {}
        from pyspark.sql import functions as F

        totals = dict.fromkeys(columns, 0)
        for part in ("data", "rejected"):
            frame = self.spark.read.parquet(str(tmp / part))
            present = [c for c in columns if c in frame.columns]
            if present:
                row = frame.agg(*[F.sum(c).alias(c) for c in present]).first()
                for c in present:
                    totals[c] += int(row[c] or 0)
        return totals

    def _run_sink(self, stage, input_df, ctx: StageContext, tmp: Path) -> dict:
        if input_df is None:
            raise CuratorError(f"sink stage {ctx.stage_name!r} needs a document stage before it")
        tmp.mkdir(parents=True, exist_ok=True)
        return {"sink": True, **stage.run_sink(input_df, ctx, tmp)}

    # -- ledger -----------------------------------------------------------------------------------------------

    def ledger(self) -> dict[str, Any]:
        """Run-level accounting over the completed document stages, in order."""
        rows, input_count, last_kept, rejected_total = [], None, None, 0
        for s in self.spec.stages:
            if s.is_sink:
                continue
            if not self.is_complete(s.name):
                break
            stats = json.loads((self.stage_dir(s.name) / "stats.json").read_text())
            if input_count is None:
                input_count = stats["in"]
            rows.append({"stage": s.name, "in": stats["in"], "kept": stats["kept"], "rejected": stats["rejected"]})
            rejected_total += stats["rejected_total"]
            last_kept = stats["kept"]
        balanced = input_count is not None and input_count == last_kept + rejected_total
        return {
            "pipeline": self.spec.name, "input": input_count, "kept": last_kept, "rejected_total": rejected_total,
            "balanced": balanced, "stages": rows,
        }

    def write_ledger(self) -> dict[str, Any]:
        ledger = self.ledger()
        (self.root / LEDGER).write_text(json.dumps(ledger, indent=2))
        from curator.report import write_reports

        write_reports(self.root, ledger)  # report.md from the stats alone: cheap enough after every stage
        if ledger["input"] is not None and not ledger["balanced"]:
            raise LedgerError(
                f"ledger does not balance: input {ledger['input']} != kept {ledger['kept']} + rejected "
                f"{ledger['rejected_total']} (see {self.root / LEDGER})"
            )
        return ledger

    def write_report(self) -> Path:
        """The full run report (``report.html``, ``report.md``, ``report.json``) from Spark aggregations over every
        written stage output; returns the path of ``report.html``."""
        from curator.report import write_reports

        with self.progress.running(self.spark, "report"):
            return write_reports(self.root, self.ledger(), spark=self.spark)
