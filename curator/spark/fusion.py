"""Stage fusion: consecutive per-document stages run as one Spark pass.

Run one by one, every per-document stage (langid, quality, pii, url_filter, decontaminate) reads the previous
stage's Parquet, writes its kept and rejected rows and reads both back to count them: one full write and two reads
of the corpus per stage, plus one trip of every row between the JVM and Python. Fused, a run of such stages is one
``mapInArrow`` whose function applies each stage's ``process_batch`` in order to the rows the earlier ones kept
(:class:`FusedChain`, pure Arrow, testable with no Spark). Each row leaves the chain once, tagged with the stage that
rejected it (``_fused_stage``, null for kept rows), and the runner writes:

- ``<stage>/rejected`` for every member, with exactly the columns the stage would write on its own;
- ``<last member>/data``: the rows every member kept, once. Earlier members keep no ``data`` folder.

Counts still come from written data: a member's kept documents are the rows rejected by the members after it plus
the segment's kept rows, all read back from Parquet, and its ``stats.json`` is the same as when it runs alone,
except that ``by_<column>`` character counts of a non-last member are measured on the text as written at the end of
the segment (a later member may edit text: C4 line removal, PII placeholders) and ``seconds`` is the segment's wall
time (the stats name the segment under ``fused``). The segment completes as a unit: all markers are written at the
end. A rerun skips a segment whose members are all complete, and recomputes it from the first incomplete member back
to the nearest member whose input documents were written (a fused member keeps none); a lone stage whose fused
predecessor kept no documents gets them recomputed by the runner first.

Stages with a global view never fuse: ingest (reads files), dedup and line_dedup (shuffle), and sinks. A stage
fuses when it is a :class:`~curator.stage.BatchStage` that runs through :meth:`BatchStage.annotate` unchanged.
``spark.fuse_stages: false`` in the spec runs every stage on its own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from curator.document import DECISION_FIELDS, REASON, REASON_DETAIL, STAGE, with_fields
from curator.errors import CuratorError
from curator.registry import stage_class
from curator.stage import BatchStage


if TYPE_CHECKING:
    from curator.spark.runner import PipelineRunner, StageResult
    from curator.specs import PipelineSpec, StageSpec


log = logging.getLogger("curator")
FUSED_STAGE = "_fused_stage"  # which member rejected the row; null: kept by every member
_DECISIONS = {REASON, REASON_DETAIL}


def fusible(stage_spec: "StageSpec") -> bool:
    """Whether the stage is per-document and runs through the shared batch adapter (so its work can be chained)."""
    cls = stage_class(stage_spec.stage)
    return (not cls.is_sink and issubclass(cls, BatchStage)
            and getattr(cls, "annotate") is BatchStage.annotate)


def stage_groups(spec: "PipelineSpec") -> list[list["StageSpec"]]:
    """The spec's stages in order, consecutive fusible ones grouped (every group of one when fusion is off)."""
    groups: list[list["StageSpec"]] = []
    for s in spec.stages:
        if spec.spark.fuse_stages and fusible(s) and groups and fusible(groups[-1][-1]):
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns: missing ones null, others cast to the declared type."""
    columns = []
    for f in schema:
        if f.name in batch.schema.names:
            column = batch.column(f.name)
            columns.append(column if column.type == f.type else column.cast(f.type))
        else:
            columns.append(pa.nulls(batch.num_rows, f.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _without_decisions(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f for f in schema if f.name not in _DECISIONS])


class FusedChain:
    """Several batch stages applied in order: each sees only the rows the earlier ones kept.

    ``workers[i]()`` returns member i set up (on an executor: from :meth:`BatchStage.prepare`); ``input_schema`` is
    the segment's input. Every output row has :attr:`output_schema`: the union of the members' outputs plus
    ``_fused_stage``."""

    def __init__(self, names: Sequence[str], stages: Sequence[BatchStage], input_schema: pa.Schema,
                 workers: Sequence[Callable[[], BatchStage]] | None = None):
        self.names = list(names)
        self.workers = list(workers) if workers is not None else [(lambda s=s: s) for s in stages]
        self.member_schemas: list[pa.Schema] = []  # what member i outputs (decision columns included)
        schema = input_schema
        for stage in stages:
            out = stage.output_schema(schema)
            self.member_schemas.append(out)
            schema = _without_decisions(out)
        self.kept_schema = schema
        self.output_schema = with_fields(schema, DECISION_FIELDS + [pa.field(FUSED_STAGE, pa.string())])
        for out in self.member_schemas:  # a column a member replaced keeps its latest type
            missing = [f for f in out if f.name not in self.output_schema.names]
            self.output_schema = pa.schema(list(self.output_schema) + missing)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_stages"}

    def process_batch(self, stages: Sequence[BatchStage], batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        """The rows of ``batch`` each member rejected (tagged with its name), then the rows all of them kept."""
        current = batch
        for name, stage, out_schema in zip(self.names, stages, self.member_schemas):
            out = _conform(stage.process_batch(current), out_schema)
            rejected_mask = pc.is_valid(out.column(REASON))
            rejected = out.filter(rejected_mask)
            if rejected.num_rows:
                tag = pa.array([name] * rejected.num_rows, pa.string())
                yield _conform(rejected.append_column(FUSED_STAGE, tag), self.output_schema)
            current = _conform(out.filter(pc.invert(rejected_mask)), _without_decisions(out_schema))
            if not current.num_rows:
                return
        yield _conform(current, self.output_schema)

    def process_batches(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        stages = getattr(self, "_stages", None)
        if stages is None:
            stages = self._stages = [worker() for worker in self.workers]
            for stage in stages:
                stage._ensure_setup()
        for batch in batches:
            if batch.num_rows:
                yield from self.process_batch(stages, batch)


def run_fused(runner: "PipelineRunner", group: list["StageSpec"], force: bool = False) -> list["StageResult"]:
    """Run a group of fusible stages: skip it when every member is complete for this spec (and not ``force``),
    else recompute it from the first incomplete member (see the module docstring)."""
    from curator.spark.runner import StageResult

    names = [s.name for s in group]
    with runner.locked():
        incomplete = [i for i, n in enumerate(names) if force or not runner.is_complete(n)]
        start = incomplete[0] if incomplete else len(names)
        # A fused member kept no documents of its own, so the recomputation starts at a member whose input exists.
        while 0 < start < len(names) and not (runner.stage_output(names[start - 1]) / "data").is_dir():
            start -= 1
        results = []
        for name in names[:start]:
            log.info("stage %s already complete for this spec; skipping", name)
            runner.progress.skipped(name)
            results.append(StageResult(name, True, runner.read_stats(name)))
        todo = group[start:]
        if len(todo) == 1:
            results.append(runner.run_stage(todo[0].name, force=True))
        elif todo:
            results += _compute_fused(runner, todo)
    for result in results:
        runner.check_kept_something(result)
    return results


def _compute_fused(runner: "PipelineRunner", members: list["StageSpec"]) -> list["StageResult"]:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from curator.document import spark_schema
    from curator.spark.adapters import arrow_schema_of
    from curator.spark.runner import StagedComputation, StageResult

    names = [s.name for s in members]
    previous = runner.previous_document_stage(names[0])
    if previous is None or not runner.is_complete(previous.name):
        raise CuratorError(f"stages {names} need the output of {previous.name if previous else 'a document stage'!r}"
                           ", which has not completed for this spec; run `curator run`")
    from curator.spark import in_driver

    if in_driver.segment_fits(runner, members):
        return in_driver.run_segment(runner, members)
    spark = runner.spark
    total = len(runner.spec.stages)
    for s in members:
        runner.progress.started(s.name, s.stage, runner.spec.stage_names.index(s.name) + 1, total)
    label = "+".join(names)
    with StagedComputation(runner, names) as job:
        stages, prepared = [], []
        for s in members:
            stage = s.build()
            stages.append(stage)
            prepared.append(stage.prepare(runner.stage_context(s.name, job.scratch / s.name)))
        input_df = runner.read_stage_data(previous.name)
        chain = FusedChain(names, stages, arrow_schema_of(input_df), [p.worker for p in prepared])
        tmps = job.folders

        with runner.progress.running(spark, label):
            # persist justification: one annotated frame feeds k + 1 writes; recomputing it would rerun models.
            frame = input_df.mapInArrow(chain.process_batches, spark_schema(chain.output_schema))
            frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
            try:
                kept = frame.where(F.col(FUSED_STAGE).isNull()).select(*chain.kept_schema.names)
                kept.write.mode("overwrite").option("compression", "zstd").parquet((tmps[-1] / "data").spark_path)
                written = {"data": kept.schema}
                for name, tmp, out in zip(names, tmps, chain.member_schemas):
                    rejected = frame.where(F.col(FUSED_STAGE) == name).select(*out.names).withColumn(STAGE, F.lit(name))
                    rejected.write.mode("overwrite").option("compression", "zstd").parquet((tmp / "rejected").spark_path)
                    written[name] = rejected.schema
            finally:
                frame.unpersist()

            all_stats = _count_members(runner, members, stages, prepared, tmps, previous, written)
        seconds = job.seconds()
        for s, stats in zip(members, all_stats):
            stats.update(stage=s.name, kind=s.stage, seconds=seconds, fused=names, fingerprint=runner.fingerprint(s.name))
        # Members commit in order and only after all of them are written (see StagedComputation.commit).
        job.commit(all_stats)
    for name, stats in zip(names, all_stats):
        runner.progress.finished(name, stats, stats["seconds"])
    runner.write_ledger()
    return [StageResult(n, False, stats) for n, stats in zip(names, all_stats)]


def _count_members(runner, members, stages, prepared, tmps, previous, written) -> list[dict]:
    """Every member's stats from the written Parquet (``written``: the schema of each folder): member i kept what
    members after it rejected plus the segment's kept rows."""
    rejected = [runner.read_written(tmp / "rejected", written[s.name]) for s, tmp in zip(members, tmps)]
    kept = runner.read_written(tmps[-1] / "data", written["data"])
    input_count = runner.read_stats(previous.name)["kept"]
    all_stats = []
    for i, (s, stage, ready) in enumerate(zip(members, stages, prepared)):
        kept_here = kept
        for later in reversed(rejected[i + 1:]):
            rows = later.drop(STAGE, REASON, REASON_DETAIL)
            kept_here = kept_here.unionByName(rows, allowMissingColumns=True)
        stats = runner.counted_stats(stage, s.name, kept_here, rejected[i], input_count, ready.extra_stats)
        all_stats.append(stats)
        input_count = stats["kept"]
    return all_stats


__all__ = ["FUSED_STAGE", "FusedChain", "fusible", "run_fused", "stage_groups"]
