"""Inputs that fit one machine computed by the driver engine, without Spark jobs.

A Spark job has a fixed cost that a small input never pays back: the session's start (4.5-7 s), the first jobs of a
session (JVM warm-up, a Python worker per core), a few seconds of scheduling and Parquet writing per stage. On the
645-document demo that was most of a 40-60 s run. So on a local master with a local output root, the runner hands a
computation to the functions here when its input is small:

- ingest (input files weighing at most ``spark.driver_max_input_bytes``): every file read whole by the same pure
  reader (:meth:`IngestStage.reader`), duplicate ids decided by :func:`curator.ingest.stage.duplicate_id_decisions`
  (the Spark window's rule);
- a per-document stage or a fused segment of them (input of at most ``spark.driver_max_documents`` documents): the
  same :class:`~curator.spark.fusion.FusedChain` Spark would map;
- dedup and line_dedup (at most ``spark.driver_max_documents_global``): their ``annotate_table``;
- sinks (tokenizer training, tokenize; at most ``driver_max_documents``): their ``run_sink_table``;
- the run report, when the run never needed Spark (:mod:`curator.report.arrow_figures`).

Outputs land in the same folders with the same columns, written by pyarrow (one zstd Parquet file with row groups
Spark can split), and the stats are counted *from the written files* by :func:`count_tables`, which counts what
:func:`~curator.spark.runner.count_written` counts. Staging, commit order, markers and the ledger are the runner's
(:class:`~curator.spark.runner.StagedComputation`), so a run mixes both engines and a rerun skips stages either
engine completed. ``stats.json`` says ``"engine": "driver"``. The runner starts Spark in a background thread as
soon as it knows a later stage will need it (:func:`run_fits`). ``SparkSpec.spark_only()`` (``curator run
--spark-only``) turns all of this off.

On a master with several cores, per-document segments of at least ``POOL_MIN_DOCUMENTS`` documents and tokenize's
parts run in worker processes, one per core (:mod:`curator.spark.local_pool`); the driver still writes and counts.
The pool starts with the run when the input is large enough to use it (:func:`start_pool`), so that the workers
load their models while ingest runs here.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from curator.document import REASON, REASON_DETAIL, STAGE, TEXT
from curator.errors import CuratorError
from curator.io.filesystem import Location
from curator.registry import stage_class
from curator.stage import StageContext


if TYPE_CHECKING:
    from curator.spark.runner import PipelineRunner, StageResult
    from curator.specs import StageSpec


log = logging.getLogger("curator")
ENGINE = "driver"
BATCH_ROWS = 2000  # what spark.sql.execution.arrow.maxRecordsPerBatch gives a Spark task
# A worker pool (curator.spark.local_pool) is started for a computation of at least this many documents (tasks of at
# least POOL_MIN_TASK_ROWS rows); below that one process does it alone (the pool's start costs a second or two a
# worker) unless the run's pool is already up.
POOL_MIN_DOCUMENTS = 1000
POOL_MIN_TASK_ROWS = 100
# Input bytes a document is assumed to weigh when deciding at the start whether to warm the pool up (web pages and
# mail average 4-5 kB): a pool warmed up for nothing competes with the driver for the cores (the demo ran 5.8 s
# without, 10.2 s with one it never used).
POOL_DOCUMENT_BYTES = 5_000
# Tasks per worker: enough that the last ones are short, so the workers finish together.
POOL_TASKS_PER_WORKER = 16
ROW_GROUP_ROWS = 1000
COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2", ".xz", ".parquet")  # Parquet pages are compressed too
# Against driver_max_input_bytes, a compressed file counts this many times its size (text it expands to), a WARC
# file more (its HTML is extracted page by page, the costly part of ingest that Spark spreads over cores).
COMPRESSED_WEIGHT = 5
WARC_WEIGHT = 20
# Bytes a document of a "small" input is assumed to weigh at most, to guess before ingest whether later stages will
# need Spark (and so start it in the background at once): web pages and mail average 2-8 kB of text.
DOCUMENT_BYTES_BOUND = 16_000


def engine_allows(runner: "PipelineRunner") -> bool:
    """Whether the run may use the driver at all: not under ``spark-submit`` (its JVM is up and the user asked for
    Spark jobs; its master is not even known here before a context exists), a local master (everything runs on this
    machine anyway) and a local output root (pyarrow writes the files)."""
    from curator.spark.session import running_under_spark_submit

    if running_under_spark_submit():
        return False
    return runner.out.is_local and runner.effective_master().startswith("local")


def segment_fits(runner: "PipelineRunner", members: list["StageSpec"], limit: int | None = None) -> bool:
    """Whether a per-document segment, a sink, or one stage with ``annotate_table`` (dedup, line_dedup: ``limit``
    is then ``driver_max_documents_global``) runs here: its input has at most ``limit`` (default
    ``driver_max_documents``) documents and every member can count its extra tables from Arrow
    (``output_stats_of_tables`` beside ``output_stats``)."""
    limit = runner.spec.spark.driver_max_documents if limit is None else limit
    if not limit or not engine_allows(runner):
        return False
    for s in members:
        stage_type = stage_class(s.stage)
        if hasattr(stage_type, "output_stats") and not hasattr(stage_type, "output_stats_of_tables"):
            return False
    previous = runner.previous_document_stage(members[0].name)
    stats = runner.read_stats(previous.name) if previous is not None else None
    return stats is not None and stats["kept"] <= limit


def input_weight(runner: "PipelineRunner") -> int | None:
    """The input files' weight against ``driver_max_input_bytes`` (sizes, compressed and WARC files weighted), or
    None when a file is not local."""
    from curator.io.filesystem import location
    from curator.io.readers import expand_paths, is_local_path
    from curator.io.warc import is_warc_name

    weight = 0
    for path, _ in expand_paths(runner.spec.input.paths):
        if not is_local_path(path):
            return None
        size = location(path).size()
        if is_warc_name(path) and ".wet" not in path.lower():
            weight += size * WARC_WEIGHT
        else:
            compressed = path.endswith(COMPRESSED_SUFFIXES) or runner.spec.input.format == "parquet"
            weight += size * COMPRESSED_WEIGHT if compressed else size
    return weight


def ingest_fits(runner: "PipelineRunner") -> bool:
    """Whether ingest runs here: every input file is local and they weigh at most ``driver_max_input_bytes``."""
    limit = runner.spec.spark.driver_max_input_bytes
    if not limit or not engine_allows(runner):
        return False
    weight = input_weight(runner)
    return weight is not None and weight <= limit


def run_fits(runner: "PipelineRunner", result: "StageResult | None" = None) -> bool:
    """Whether the rest of the run can do without Spark, as far as is known. Before any stage: ingest fits here
    and the input is light enough (``DOCUMENT_BYTES_BOUND`` a document) to hold at most ``driver_max_documents``
    documents; after a document stage: it kept at most that many."""
    if not engine_allows(runner):
        return False
    if result is None:
        spark = runner.spec.spark
        weight = input_weight(runner)
        return (bool(spark.driver_max_input_bytes) and weight is not None and weight <= spark.driver_max_input_bytes
                and weight <= spark.driver_max_documents * DOCUMENT_BYTES_BOUND)
    kept = result.stats.get("kept")
    return bool(result.stats.get("sink")) or (kept is not None and kept <= runner.spec.spark.driver_max_documents)


def compute(runner: "PipelineRunner", stage_spec: "StageSpec") -> "StageResult | None":
    """Compute one stage here when it fits (ingest by input weight; per-document stages and sinks by
    ``driver_max_documents``; stages with ``annotate_table`` by ``driver_max_documents_global``); None: it runs on
    Spark."""
    from curator.spark.fusion import fusible

    stage_type = stage_class(stage_spec.stage)
    if stage_spec.stage == "ingest":
        return run_ingest(runner, stage_spec) if ingest_fits(runner) else None
    if fusible(stage_spec):
        return run_segment(runner, [stage_spec])[0] if segment_fits(runner, [stage_spec]) else None
    if hasattr(stage_type, "annotate_table"):
        fits = segment_fits(runner, [stage_spec], runner.spec.spark.driver_max_documents_global)
        return run_table_stage(runner, stage_spec) if fits else None
    if hasattr(stage_type, "run_sink_table"):
        return run_sink(runner, stage_spec) if segment_fits(runner, [stage_spec]) else None
    return None


def report_fits(runner: "PipelineRunner", ledger: dict[str, Any]) -> bool:
    """Whether the run report is computed here: no Spark session was needed by the run (none started or starting)
    and its input is small (the report reads every stage's rejected rows, so all the input documents)."""
    return (engine_allows(runner) and not runner.spark_started and ledger.get("input") is not None
            and ledger["input"] <= runner.spec.spark.driver_max_documents)


# -- reading, writing, counting ------------------------------------------------------------------------------------

def read_table(folder: Location, schema: pa.Schema | None = None) -> pa.Table:
    """A stage's Parquet folder (written by Spark or by :func:`write_table`) as one Arrow table; files Spark and
    Hadoop keep beside the data (``_SUCCESS``, ``.crc``) are skipped."""
    import pyarrow.dataset as ds

    return ds.dataset(folder.path, format="parquet", schema=schema).to_table()


def write_table(table: pa.Table, folder: Location) -> None:
    """``table`` as one zstd Parquet file in ``folder``, named like Spark's part files (so either engine reads it)."""
    import pyarrow.parquet as pq

    folder.mkdir()
    # Small row groups: Spark splits a file only at row groups, so a later Spark stage reads this one file as
    # several tasks per core (curator.spark.session.TASKS_PER_CORE) instead of one uneven task per core.
    pq.write_table(table, str(folder.path / "part-00000-driver.zstd.parquet"), compression="zstd",
                   row_group_size=ROW_GROUP_ROWS)
    (folder.path / "_SUCCESS").touch()


def count_tables(kept: pa.Table, rejected: pa.Table, summed: list[str], grouped: list[str]) -> dict[str, Any]:
    """:func:`curator.spark.runner.count_written` over Arrow tables: the same counts in the same shape."""
    by_reason: dict[str, int] = {}
    for reason in rejected.column(REASON).to_pylist():
        by_reason[reason] = by_reason.get(reason, 0) + 1
    totals = {c: sum(int(pc.sum(t.column(c).cast(pa.int64())).as_py() or 0)
                     for t in (kept, rejected) if c in t.column_names) for c in summed}
    groups: dict[str, dict[str, dict[str, int]]] = {c: {} for c in grouped}
    for table, prefix in ((kept, "kept"), (rejected, "rejected")):
        if not grouped:
            break
        chars = pc.utf8_length(table.column(TEXT)).to_pylist()
        for c in grouped:
            if c not in table.column_names:
                continue
            for value, n_chars in zip(table.column(c).to_pylist(), chars):
                entry = groups[c].setdefault(str(value), dict.fromkeys(
                    ("kept_docs", "kept_chars", "rejected_docs", "rejected_chars"), 0))
                entry[f"{prefix}_docs"] += 1
                entry[f"{prefix}_chars"] += n_chars or 0
    return {"kept": kept.num_rows, "rejected": by_reason, "totals": totals,
            "groups": {c: dict(sorted(counts.items())) for c, counts in groups.items()}}


def _stats(stage, name: str, kept: pa.Table, rejected: pa.Table, input_count: int | None,
           extra_stats: dict[str, Any]) -> dict[str, Any]:
    from curator.spark.runner import stats_from_tally

    tally = count_tables(kept, rejected, stage.summed_columns(), stage.group_by_columns())
    written = stage.output_stats_of_tables(kept, rejected) if hasattr(stage, "output_stats_of_tables") else {}
    return stats_from_tally(stage, name, tally, input_count, extra_stats, written)


def _rejected_rows(frame: pa.Table, name: str) -> pa.Table:
    return frame.append_column(STAGE, pa.array([name] * frame.num_rows, pa.string()))


def _write_decided(annotated: pa.Table, tmp: Location, name: str) -> None:
    """An annotated table split on ``reason`` as the runner writes it: kept rows without the decision columns under
    ``data``, rejected rows with ``stage`` under ``rejected``."""
    is_rejected = pc.is_valid(annotated.column(REASON))
    write_table(annotated.filter(pc.invert(is_rejected)).drop_columns([REASON, REASON_DETAIL]), tmp / "data")
    write_table(_rejected_rows(annotated.filter(is_rejected), name), tmp / "rejected")


# -- the computations ----------------------------------------------------------------------------------------------

def run_ingest(runner: "PipelineRunner", stage_spec: "StageSpec") -> "StageResult":
    """Ingest read in this process; outputs and stats as :meth:`IngestStage.annotate` on Spark gives them."""
    stage = stage_spec.build()
    return _computed(runner, [stage_spec], lambda job: _ingest(runner, stage, job.folders[0], stage_spec.name))[0]


def _ingest(runner, stage, tmp: Location, name: str) -> list[dict]:
    from curator.ingest.stage import INGEST_ORDINAL, duplicate_id_decisions, warc_inputs
    from curator.io.readers import FileSplit, record_batches
    from curator.io.warc import count_record_types

    spec = runner.spec.input
    files, read, schema = stage.reader(spec)
    batches = [batch for i, (path, relative) in enumerate(files)
               for batch in record_batches(read(FileSplit(path, relative, i)), schema)]
    table = pa.Table.from_batches(batches, schema=schema)
    if stage.config.reject_duplicate_ids:
        table = duplicate_id_decisions(table, files)
    _write_decided(table.drop_columns([INGEST_ORDINAL]), tmp, name)

    tally: dict[str, int] = {}
    for path in warc_inputs(files, spec.format):
        for record_type, n in count_record_types(path).items():
            tally[record_type] = tally.get(record_type, 0) + n
    extra: dict[str, Any] = {"files": len(files)}
    if tally:
        from curator.io.warc import DOCUMENT_RECORD_TYPES

        extra["warc_records"] = dict(sorted(tally.items()))
        extra["warc_records_not_documents"] = dict(sorted(
            (t, n) for t, n in tally.items() if t not in DOCUMENT_RECORD_TYPES))
    return [_stats(stage, name, read_table(tmp / "data"), read_table(tmp / "rejected"), None, extra)]


def run_table_stage(runner: "PipelineRunner", stage_spec: "StageSpec") -> "StageResult":
    """A stage with a global view (dedup, line_dedup) over a small input, through its ``annotate_table``."""
    previous = runner.previous_document_stage(stage_spec.name)
    return _computed(runner, [stage_spec], lambda job: _table_stage(runner, stage_spec, previous, job.folders[0]))[0]


def _table_stage(runner, stage_spec, previous, tmp: Location) -> list[dict]:
    stage = stage_spec.build()
    table = read_table(runner.stage_output(previous.name) / "data")
    # Dedup hands its fingerprints to the pool; line_dedup's per-line work is cheap and stays in this process.
    pool = pool_to_use(runner, table.num_rows) if stage.annotates_in_pool else None
    annotated, extra = stage.annotate_table(table, map_tasks=pool.map if pool is not None else None)
    _write_decided(annotated, tmp, stage_spec.name)
    return [_stats(stage, stage_spec.name, read_table(tmp / "data"), read_table(tmp / "rejected"),
                   runner.read_stats(previous.name)["kept"], extra)]


def local_cores(master: str) -> int:
    """The cores a ``local``, ``local[n]`` or ``local[*]`` master uses (what Spark would split a sink's work into)."""
    inside = master[master.find("[") + 1:master.find("]")] if "[" in master else "1"
    inside = inside.split(",")[0]
    return (os.cpu_count() or 1) if inside == "*" else max(1, int(inside))


def run_sink(runner: "PipelineRunner", stage_spec: "StageSpec") -> "StageResult":
    """A sink (tokenizer training, tokenize) over a small input, through its ``run_sink_table``."""
    previous = runner.previous_document_stage(stage_spec.name)
    if previous is None:
        raise CuratorError(f"sink stage {stage_spec.name!r} needs a document stage before it")

    def compute(job) -> list[dict]:
        tmp = job.folders[0]
        tmp.mkdir()
        table = read_table(runner.stage_output(previous.name) / "data")
        pool = pool_to_use(runner, table.num_rows)
        ctx = StageContext(spark=None, run_dir=runner.root, scratch_dir=job.scratch.path, stage_name=stage_spec.name,
                           default_parallelism=local_cores(runner.effective_master()), input_spec=runner.spec.input,
                           map_tasks=pool.map if pool is not None else None)
        return [{"sink": True, **stage_spec.build().run_sink_table(table, ctx, tmp.path)}]

    return _computed(runner, [stage_spec], compute)[0]


def run_segment(runner: "PipelineRunner", members: list["StageSpec"]) -> list["StageResult"]:
    """One per-document stage, or a fused segment of them, in this process: the same chain Spark would map, its
    rows split into each member's rejected rows and the segment's kept rows (see :mod:`curator.spark.fusion`)."""
    previous = runner.previous_document_stage(members[0].name)
    return _computed(runner, members, lambda job: _segment(runner, members, previous, job.folders))


def _segment(runner, members, previous, tmps: list[Location]) -> list[dict]:
    from curator.spark.fusion import FUSED_STAGE, FusedChain

    names = [s.name for s in members]
    stages = [s.build() for s in members]
    source_folder = runner.stage_output(previous.name) / "data"
    input_count = runner.read_stats(previous.name)["kept"]
    pool = pool_to_use(runner, input_count) if all(map(pool_can_run, stages)) else None
    if pool is not None:
        frame, chain = _segment_in_pool(pool, names, stages, source_folder)
        extra_stats = [{} for _ in stages]  # pool_can_run admits only the default prepare_in_driver: no stats
    else:
        prepared = [stage.prepare_in_driver() for stage in stages]
        extra_stats = [p.extra_stats for p in prepared]
        source = read_table(source_folder)
        chain = FusedChain(names, stages, source.schema, [p.worker for p in prepared])
        frame = pa.Table.from_batches(list(chain.process_batches(iter(source.to_batches(max_chunksize=BATCH_ROWS)))),
                                      schema=chain.output_schema)
    tag = frame.column(FUSED_STAGE)
    write_table(frame.filter(pc.is_null(tag)).select(chain.kept_schema.names), tmps[-1] / "data")
    for name, tmp, out in zip(names, tmps, chain.member_schemas):
        write_table(_rejected_rows(frame.filter(pc.equal(tag, name)).select(out.names), name), tmp / "rejected")

    # Counted from the written files: member i kept what the members after it rejected plus the segment's kept rows.
    kept = read_table(tmps[-1] / "data")
    rejected = [read_table(tmp / "rejected") for tmp in tmps]
    all_stats = []
    for i, (s, stage, extra) in enumerate(zip(members, stages, extra_stats)):
        later = [r.drop_columns([STAGE, REASON, REASON_DETAIL]) for r in rejected[i + 1:]]
        kept_here = pa.concat_tables([kept, *later], promote_options="default") if later else kept
        stats = _stats(stage, s.name, kept_here, rejected[i], input_count, extra)
        all_stats.append(stats)
        input_count = stats["kept"]
    return all_stats


def _segment_in_pool(pool, names: list[str], stages: list, folder: Location):
    """The segment's annotated rows computed by the pool's workers, in input order, and its chain."""
    import math

    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from curator.spark.fusion import FusedChain
    from curator.spark.local_pool import run_chain_task, slices

    dataset = ds.dataset(folder.path, format="parquet")
    files = []
    for path in dataset.files:
        metadata = pq.ParquetFile(path).metadata
        files.append((path, [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]))
    rows = sum(sum(group_rows) for _, group_rows in files)
    # Many tasks per worker, so that a worker that drew costly documents does not finish last alone.
    task_rows = max(POOL_MIN_TASK_ROWS, min(BATCH_ROWS, math.ceil(rows / (pool.workers * POOL_TASKS_PER_WORKER))))
    chain = FusedChain(names, stages, dataset.schema)
    tables = pool.map(run_chain_task, [(names, stages, dataset.schema, piece, BATCH_ROWS)
                                       for piece in slices(files, task_rows)])
    frame = pa.concat_tables(tables) if tables else chain.output_schema.empty_table()
    return frame, chain


# -- the worker pool -----------------------------------------------------------------------------------------------

def pool_workers(runner: "PipelineRunner") -> int:
    """Worker processes for this run's driver engine: the local master's cores when there are several (0: none)."""
    if not engine_allows(runner):
        return 0
    cores = local_cores(runner.effective_master())
    return cores if cores > 1 else 0


def pool_can_run(stage) -> bool:
    """Whether workers can set the stage up from its config alone: it keeps the default ``prepare_in_driver``
    (decontamination builds its n-gram index in the driver and hands that instance over)."""
    from curator.stage import BatchStage

    return type(stage).prepare_in_driver is BatchStage.prepare_in_driver


def pool_for(runner: "PipelineRunner"):
    """The run's worker pool, started on first use; None where the run has one core or may not use the driver."""
    from curator.spark.local_pool import LocalPool

    if runner.local_pool is None:
        workers = pool_workers(runner)
        if workers:
            runner.local_pool = LocalPool(workers)
    return runner.local_pool


def pool_to_use(runner: "PipelineRunner", documents: int):
    """The pool for a computation over ``documents`` rows: the running one whatever the size (its workers have the
    models loaded already), else a new one from ``POOL_MIN_DOCUMENTS`` on; None: this process alone."""
    if runner.local_pool is not None:
        return runner.local_pool
    return pool_for(runner) if documents >= POOL_MIN_DOCUMENTS else None


def start_pool(runner: "PipelineRunner") -> None:
    """Start the pool at the beginning of a run whose input is large enough to use it, and set up its per-document
    stages in every worker while ingest runs in the driver."""
    from curator.spark.fusion import fusible

    weight = input_weight(runner) if pool_workers(runner) else None
    if weight is None or weight < POOL_MIN_DOCUMENTS * POOL_DOCUMENT_BYTES:
        return
    stages = [s.build() for s in runner.spec.stages if fusible(s)]
    stages = [stage for stage in stages if pool_can_run(stage)]
    if stages and not any(runner.is_complete(s.name) for s in runner.spec.stages if s.stage != "ingest"):
        from curator.spark.dedup_ops import warm_hasher

        calls = [(warm_hasher, (s.config.minhash_params(),)) for s in runner.spec.stages if s.stage == "dedup"]
        pool_for(runner).warm_up(stages, calls)


def _computed(runner: "PipelineRunner", members: list["StageSpec"], compute) -> list["StageResult"]:
    """Run ``compute(job)`` (it writes every member's folders and returns their stats) inside the runner's staging,
    then commit the members in order, as the Spark paths do."""
    from curator.spark.runner import StagedComputation, StageResult

    names = [s.name for s in members]
    total = len(runner.spec.stages)
    for s in members:
        runner.progress.started(s.name, s.stage, runner.spec.stage_names.index(s.name) + 1, total)
    with StagedComputation(runner, names) as job:
        all_stats = compute(job)
        seconds = job.seconds()
        for s, stats in zip(members, all_stats):
            stats.update(stage=s.name, kind=s.stage, seconds=seconds, engine=ENGINE,
                         fingerprint=runner.fingerprint(s.name))
            if len(members) > 1:
                stats["fused"] = names
        job.commit(all_stats)
    for name, stats in zip(names, all_stats):
        runner.progress.finished(name, stats, stats["seconds"])
    runner.write_ledger()
    return [StageResult(n, False, stats) for n, stats in zip(names, all_stats)]


__all__ = ["compute", "count_tables", "engine_allows", "ingest_fits", "input_weight", "local_cores", "pool_can_run",
           "pool_for", "pool_to_use", "pool_workers", "read_table", "report_fits", "run_fits", "run_ingest",
           "run_segment", "run_sink", "run_table_stage", "segment_fits", "start_pool", "write_table"]
