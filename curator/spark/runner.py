"""Runs pipeline stages on Spark with one adapter, and keeps the books.

For every document stage the runner reads the previous stage's kept output, asks the stage to annotate it, writes
kept rows to ``<root>/<stage>/data`` and rejected rows (with ``stage``, ``reason``, ``reason_detail``) to
``<root>/<stage>/rejected``, counts both *from the written data*, checks ``in = kept + rejected``, writes
``stats.json`` and finally a ``_COMPLETE`` marker holding the stage's fingerprint. A rerun skips every stage whose
marker matches the current spec and input files.

The output root may be a local path, a ``file://`` URI or a remote one (``hdfs://``, ``s3://``, ...); every file
the runner writes itself goes through :mod:`curator.io.filesystem`. How a stage commits depends on the filesystem:

* rename is atomic (local disks, HDFS): the stage folder is built under a hidden temporary name, marker included,
  and renamed into place, so a failed stage leaves nothing that looks finished;
* rename is a copy (object stores): the stage writes into ``<stage>/_attempt-<id>/`` and the marker, written last
  at ``<stage>/_COMPLETE``, names that attempt. Readers go through :meth:`PipelineRunner.stage_output`, which trusts
  only the attempt the marker names; attempts no marker names (killed or superseded runs) are deleted when the
  stage is computed again.

Consecutive per-document stages run fused in one Spark pass (:mod:`curator.spark.fusion`; ``spark.fuse_stages:
false`` runs them one by one).

A run holds a lock on its output root (:class:`curator.io.run_files.RunLock`), so two runs never write one folder;
its scratch space is its own (``_scratch/<run id>``). Temporaries left by killed runs are removed when their stage is
computed again. A document stage that keeps nothing of a non-empty input stops the run unless the spec sets
``allow_empty_output``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from curator.document import REASON, REASON_DETAIL, STAGE
from curator.errors import CuratorError, LedgerError
from curator.io.filesystem import Location, check_spark_scheme
from curator.io.run_files import ATTEMPT_PREFIX, MARKER, RunLock, atomic_write_text, committed_folder, read_json
from curator.progress import QuietProgress, StageProgress
from curator.specs import PipelineSpec, StageSpec
from curator.stage import StageContext


log = logging.getLogger("curator")
LEDGER = "ledger.json"
STARTUP_SWITCH_INTERVAL = 0.0002  # seconds; see PipelineRunner.start_spark


@dataclass
class StageResult:
    name: str
    skipped: bool
    stats: dict[str, Any]


class StagedComputation:
    """What every computation of a stage, or of a fused segment of stages, shares: outputs left by killed or
    superseded runs removed first, a staging folder per stage (:meth:`PipelineRunner.staging_folder`) and one scratch
    folder; :meth:`commit` writes each ``stats.json`` and commits the stages in order. Leaving the block removes the
    scratch folder and every staging folder not committed, so a failure leaves nothing that looks finished."""

    def __init__(self, runner: "PipelineRunner", names: list[str]):
        self.runner, self.names = runner, names
        self.committed = 0

    def __enter__(self) -> "StagedComputation":
        # Temporaries and attempts of killed runs can hold complete-looking shards; nothing reads them, and they are
        # removed here (under the lock, so they cannot belong to a live run).
        for name in self.names:
            self.runner.remove_stale_outputs(name)
        run = self.runner.run_id or uuid.uuid4().hex[:12]
        self.scratch = self.runner.out / "_scratch" / run / self.names[0]
        self.staging = [self.runner.staging_folder(name) for name in self.names]
        self.folders = [tmp for tmp, _ in self.staging]
        self.started = time.time()
        return self

    def seconds(self) -> float:
        return round(time.time() - self.started, 2)

    def commit(self, stats: list[dict[str, Any]]) -> None:
        """Write each stage's ``stats.json``, then commit the stages in order: a failure before this point leaves no
        stage looking finished; one between commits leaves a complete prefix that a rerun skips."""
        for tmp, body in zip(self.folders, stats):
            (tmp / "stats.json").write_text(json.dumps(body, indent=2, sort_keys=True))
        for name, (tmp, attempt) in zip(self.names, self.staging):
            self.runner.commit_stage(name, tmp, attempt)
            self.committed += 1

    def __exit__(self, *exc) -> None:
        for tmp in self.folders[self.committed:]:
            tmp.remove_tree()
        self.scratch.parent.remove_tree()


class EmptyOutputError(CuratorError):
    """A stage rejected every document of a non-empty input."""


class PipelineRunner:
    def __init__(self, spec: PipelineSpec, output: str | None = None, master: str | None = None, spark=None,
                 progress: StageProgress | None = None):
        from curator.specs import check_spark_master

        self.spec = spec
        self.out: Location = spec.output_root(output)
        self.master = check_spark_master(master, "--master") if master is not None else None
        self._spark = spark
        self._starting = None  # (thread, [session, error]) while start_spark() runs
        self._lock: RunLock | None = None
        self._lock_depth = 0
        self._input_digest: str | None = None
        self.progress = progress or QuietProgress()
        self.local_pool = None  # the driver engine's worker processes while a run holds the lock (in_driver.pool_for)

    @property
    def root(self) -> "Path | Location":
        """The output root: a :class:`Path` for a local run (what callers and tests open files under), else the
        remote :class:`Location`."""
        return self.out.path if self.out.is_local else self.out

    @property
    def spark(self):
        if self._spark is None:
            starting, self._starting = self._starting, None
            if starting is not None:  # started in the background by start_spark()
                starting[0].join()
                session, error = starting[1]
            else:
                session, error = self._new_session()
            if error is not None:  # the JVM's reason, without its trace
                master = self.master or self.spec.spark.master
                first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
                raise CuratorError(f"could not start Spark with master {master!r}: {first_line[:300]}; check "
                                   "--master / spark.master and spark.conf in the spec") from None
            self._spark = session
        return self._spark

    def _new_session(self) -> tuple[Any, BaseException | None]:
        from curator.spark.session import get_session

        try:
            return get_session(self.spec.spark, self.master), None
        except Exception as error:
            return None, error

    def start_spark(self) -> None:
        """Start the Spark session in a background thread: stages that run in the driver (:mod:`curator.spark.
        in_driver`) go on meanwhile, and the first use of :attr:`spark` waits for it (the JVM takes seconds)."""
        if self._spark is not None or self._starting is not None:
            return
        import threading

        outcome: list = [None, None]
        # The start-up makes hundreds of py4j calls, each waiting for the GIL while the driver computes a stage: a
        # 6 s start took 22 s beside a busy driver at Python's 5 ms switch interval, 10 s at this one (measured
        # once each on 2 cores). The interval is restored when the start is over.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(STARTUP_SWITCH_INTERVAL)

        def start():
            try:
                outcome[:] = self._new_session()
            finally:
                sys.setswitchinterval(interval)

        thread = threading.Thread(target=start, name="curator-spark-start", daemon=True)
        self._starting = (thread, outcome)
        thread.start()

    @property
    def spark_started(self) -> bool:
        """Whether this runner has a session, or is starting one (:meth:`start_spark`)."""
        return self._spark is not None or self._starting is not None

    def effective_master(self) -> str:
        """The master this run's session has or will have, without starting it (under ``spark-submit``, only once
        its session exists: before that the submitted master cannot be read)."""
        if self._spark is not None:
            return self._spark.sparkContext.master
        if self.master is not None:
            return self.master
        return self.spec.spark.master

    # -- the output root and its lock ---------------------------------------------------------------------------

    def prepare_root(self) -> None:
        """Create the output root, or say in one line why it cannot be used."""
        if not self.out.is_local:  # the session must have the scheme's connector before anything is written
            check_spark_scheme(self.spark, self.out.uri, "output")
        if self.out.is_file():
            raise CuratorError(f"output path {self.out} is a file, not a folder; choose another --output")
        try:
            self.out.mkdir()
        except OSError as error:
            raise CuratorError(f"cannot create the output folder {self.out}: {getattr(error, 'strerror', None) or error}; "
                               "choose another --output") from None
        if self.out.is_local and not os.access(self.out.uri, os.W_OK | os.X_OK):
            raise CuratorError(f"output folder {self.out} is not writable; choose another --output")

    def require_root(self) -> None:
        """For commands that read a finished run (ledger): the root must exist."""
        if not self.out.is_dir():
            raise CuratorError(f"no run at {self.root}: the folder does not exist (check --output or the spec's "
                               "output, or run `curator run` first)")

    @property
    def run_id(self) -> str | None:
        return self._lock.run_id if self._lock is not None else None

    @contextmanager
    def locked(self):
        """Hold the output root's run lock (re-entrant within this runner); refuse when another run holds it."""
        if self._lock_depth == 0:
            self.prepare_root()
            lock = RunLock(self.out)
            lock.acquire()
            self._lock = lock
            self._remove_stale_scratch()
        self._lock_depth += 1
        try:
            yield self
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                if self.local_pool is not None:
                    self.local_pool.close()
                    self.local_pool = None
                if self._lock is not None:
                    self._lock.release()
                    self._lock = None

    def _remove_stale_scratch(self) -> None:
        # Called with the lock held: any scratch folder present belongs to a run that died.
        for entry in (self.out / "_scratch").children():
            entry.remove_tree()

    # -- paths and fingerprints -------------------------------------------------------------------------------

    def stage_dir(self, name: str) -> Location:
        return self.out / name

    def stage_output(self, name: str) -> Location:
        """The folder holding a stage's ``data``, ``rejected`` and ``stats.json``: the attempt its marker names
        (object stores), else the stage folder itself."""
        return committed_folder(self.stage_dir(name)) or self.stage_dir(name)

    def input_digest(self) -> str:
        """Hash of the resolved input listing: every file's path, size and modification time, so that an added,
        removed or rewritten file recomputes ingest and everything after it. Computed once per runner."""
        if self._input_digest is None:
            from curator.io.filesystem import location
            from curator.io.readers import expand_paths

            digest = hashlib.sha256()
            for path, relative in expand_paths(self.spec.input.paths):
                file = location(path)
                digest.update(json.dumps([path, relative, file.size(), file.mtime_ns()]).encode())
            self._input_digest = digest.hexdigest()
        return self._input_digest

    def fingerprint(self, name: str) -> str:
        """Hash of this stage's config chained with every upstream stage's, plus the input description and listing."""
        digest = hashlib.sha256(self.spec.input.model_dump_json().encode())
        digest.update(self.input_digest().encode())
        for s in self.spec.stages:
            digest.update(s.fingerprint().encode())
            if s.name == name:
                return digest.hexdigest()[:20]
        raise CuratorError(f"unknown stage {name!r}")

    def is_complete(self, name: str) -> bool:
        marker = read_json(self.stage_dir(name) / MARKER, "completion marker")
        if marker is None or marker.get("fingerprint") != self.fingerprint(name):
            return False
        return self.read_stats(name) is not None

    def read_stats(self, name: str) -> dict[str, Any] | None:
        return read_json(self.stage_output(name) / "stats.json", "stage stats")

    def previous_document_stage(self, name: str) -> StageSpec | None:
        previous = None
        for s in self.spec.stages:
            if s.name == name:
                return previous
            if not s.is_sink:
                previous = s
        raise CuratorError(f"unknown stage {name!r}")

    # -- running ----------------------------------------------------------------------------------------------

    def run_all(self, force: bool = False, on_stage: Callable[[StageResult], None] | None = None,
                report: bool = False) -> list[StageResult]:
        """Run every stage in order under the run lock; ``on_stage`` sees each result as soon as its stage finishes;
        ``report`` then writes the full run report (``curator run`` always does)."""
        results = []
        from curator.spark import in_driver
        from curator.spark.fusion import run_fused, stage_groups

        with self.locked():
            if in_driver.run_fits(self):
                in_driver.start_pool(self)  # worker processes load their models while ingest runs
            else:
                self.start_spark()  # in the background while the first stages run
            for group in stage_groups(self.spec):
                done = run_fused(self, group, force) if len(group) > 1 else [self.run_stage(group[0].name, force)]
                for result in done:
                    results.append(result)
                    if not in_driver.run_fits(self, result):
                        self.start_spark()
                    if on_stage is not None:
                        on_stage(result)
            if report:
                self.write_report()
        return results

    def run_stage(self, name: str, force: bool = False) -> StageResult:
        stage_spec = self.spec.stage(name)
        with self.locked():
            if not force and self.is_complete(name):
                log.info("stage %s already complete for this spec; skipping", name)
                self.progress.skipped(name)
                result = StageResult(name, True, self.read_stats(name))
            else:
                result = self._compute_stage(stage_spec)
        self.check_kept_something(result)
        return result

    def check_kept_something(self, result: StageResult) -> None:
        stats = result.stats
        if stats.get("sink") or self.spec.allow_empty_output or not stats.get("in") or stats.get("kept"):
            return
        reasons = ", ".join(f"{k}={v}" for k, v in stats.get("rejected", {}).items())
        raise EmptyOutputError(
            f"stage {result.name!r} kept 0 of {stats['in']} documents ({reasons}); check the input and the stage's "
            f"settings (rejected rows: {self.stage_output(result.name) / 'rejected'}), or set allow_empty_output: true "
            "in the spec"
        )

    def _compute_stage(self, stage_spec: StageSpec) -> StageResult:
        name = stage_spec.name

        previous = self.previous_document_stage(name)
        if previous is not None and not self.is_complete(previous.name):
            raise CuratorError(
                f"stage {name!r} needs the output of {previous.name!r}, which has not completed for this spec; "
                f"run `curator stage {self.spec.source_path or 'SPEC'} {previous.name}` first (or `curator run`)"
            )
        if (previous is not None and not (self.stage_output(previous.name) / "data").is_dir()
                and self.read_stats(previous.name).get("fused")):
            # It ran fused with the stages after it, which keeps its rejected rows only: recompute it on its own.
            log.info("stage %s ran fused and kept no documents of its own; recomputing it for %s", previous.name, name)
            self._compute_stage(previous)

        from curator.spark import in_driver

        computed = in_driver.compute(self, stage_spec)  # a small input, in this process (None: on Spark)
        if computed is not None:
            return computed
        self.progress.started(name, stage_spec.stage, self.spec.stage_names.index(name) + 1, len(self.spec.stages))
        with StagedComputation(self, [name]) as job:
            stage = stage_spec.build()
            ctx = self.stage_context(name, job.scratch)
            tmp = job.folders[0]
            input_df = None if previous is None else self.read_stage_data(previous.name)
            with self.progress.running(self.spark, name):
                if stage_spec.is_sink:
                    stats = self._run_sink(stage, input_df, ctx, tmp)
                else:
                    stats = self._run_documents(stage, input_df, ctx, tmp, previous)
            stats.update(stage=name, kind=stage_spec.stage, seconds=job.seconds(), fingerprint=self.fingerprint(name))
            job.commit([stats])
        self.progress.finished(name, stats, stats["seconds"])
        self.write_ledger()
        return StageResult(name, False, stats)

    def stage_context(self, name: str, scratch: Location) -> StageContext:
        """What a stage computed now gets: the session, the run root and its own scratch folder."""
        return StageContext(spark=self.spark, run_dir=self.root, scratch_dir=scratch.path if scratch.is_local else scratch,
                            stage_name=name, default_parallelism=self.spark.sparkContext.defaultParallelism,
                            input_spec=self.spec.input)

    def staging_folder(self, name: str) -> tuple[Location, str]:
        """Where a computation of ``name`` writes before it commits, and its attempt name. Where rename is atomic
        the whole stage folder is built aside and renamed in; elsewhere it is built in place as an attempt that
        only the marker, written last, makes visible."""
        attempt = f"{ATTEMPT_PREFIX}{uuid.uuid4().hex[:12]}"
        final = self.stage_dir(name)
        return (self.out / f".{name}.tmp-{uuid.uuid4().hex[:8]}" if final.atomic_rename else final / attempt), attempt

    def commit_stage(self, name: str, tmp: Location, attempt: str) -> None:
        """Make the staging folder ``tmp`` (from :meth:`staging_folder`, ``stats.json`` written) the stage's output."""
        final = self.stage_dir(name)
        if final.atomic_rename:
            # The marker goes in before the rename, so the folder appears under its final name already complete.
            write_marker(tmp, self.fingerprint(name))
            tmp.rename(final)
        else:
            write_marker(final, self.fingerprint(name), attempt=attempt)
            self.remove_stale_outputs(name)  # the attempt this one replaced

    def remove_stale_outputs(self, name: str) -> None:
        """Delete what killed or superseded computations of ``name`` left: hidden staging siblings, and attempt
        folders its marker does not name."""
        for entry in self.out.children():
            if entry.name.startswith(f".{name}.tmp-"):
                entry.remove_tree()
        named = self.stage_output(name)
        for entry in self.stage_dir(name).children():
            if entry.name.startswith(ATTEMPT_PREFIX) and entry != named:
                entry.remove_tree()

    def _run_documents(self, stage, input_df, ctx: StageContext, tmp: Location, previous: StageSpec | None) -> dict:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        annotated = stage.annotate(input_df, ctx)
        # persist justification: the annotated frame is split into two writes; recomputing it would rerun models.
        frame = annotated.frame.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            kept = frame.filter(F.col(REASON).isNull()).drop(REASON, REASON_DETAIL)
            kept.write.mode("overwrite").option("compression", "zstd").parquet((tmp / "data").spark_path)
            rejected = frame.filter(F.col(REASON).isNotNull()).withColumn(STAGE, F.lit(ctx.stage_name))
            rejected.write.mode("overwrite").option("compression", "zstd").parquet((tmp / "rejected").spark_path)
        finally:
            frame.unpersist()

        # Counts come from what was written, not from accumulators (read with the schema it was written with, which
        # spares Spark a job to infer it).
        input_count = None if previous is None else self.read_stats(previous.name)["kept"]
        return self.counted_stats(stage, ctx.stage_name, self.read_written(tmp / "data", kept.schema),
                                  self.read_written(tmp / "rejected", rejected.schema), input_count,
                                  annotated.extra_stats)

    def read_stage_data(self, name: str):
        """The documents stage ``name`` kept, in at least one partition per core for the next stage's Python work
        (models, fingerprints, encoders): a small stage output is often one file, which Spark would give to one core."""
        frame = self.spark.read.parquet((self.stage_output(name) / "data").spark_path)
        cores = self.spark.sparkContext.defaultParallelism
        return frame.repartition(cores) if frame.rdd.getNumPartitions() < cores else frame

    def read_written(self, folder: Location, schema):
        """Parquet this run has just written with ``schema`` (a Spark ``StructType``), read back without inference."""
        return self.spark.read.schema(schema).parquet(folder.spark_path)

    def counted_stats(self, stage, name: str, kept, rejected, input_count: int | None,
                      extra_stats: dict[str, Any]) -> dict:
        """A document stage's ``stats.json`` body from its written ``kept`` and ``rejected`` frames; checks
        ``in = kept + rejected`` (``input_count`` None: ingest, where every input record became one row)."""
        tally = count_written(kept, rejected, stage.summed_columns(), stage.group_by_columns())
        # Stage-specific tables counted from the written rows (e.g. decontaminate's contamination table).
        written = stage.output_stats(kept, rejected) if hasattr(stage, "output_stats") else {}
        return stats_from_tally(stage, name, tally, input_count, extra_stats, written)

    def _run_sink(self, stage, input_df, ctx: StageContext, tmp: Location) -> dict:
        if input_df is None:
            raise CuratorError(f"sink stage {ctx.stage_name!r} needs a document stage before it")
        tmp.mkdir()
        # Sinks write files with local APIs (tokenizer trainers, shard writers); specs refuse them on remote roots.
        return {"sink": True, **stage.run_sink(input_df, ctx, tmp.path)}

    # -- ledger -----------------------------------------------------------------------------------------------

    def ledger(self) -> dict[str, Any]:
        """Run-level accounting over the completed document stages, in order."""
        rows, input_count, last_kept, rejected_total = [], None, None, 0
        for s in self.spec.stages:
            if s.is_sink:
                continue
            if not self.is_complete(s.name):
                break
            stats = self.read_stats(s.name)
            if input_count is None:
                input_count = stats["in"]
            rows.append({"stage": s.name, "in": stats["in"], "kept": stats["kept"], "rejected": stats["rejected"],
                         "totals": stats.get("totals", {})})
            rejected_total += stats["rejected_total"]
            last_kept = stats["kept"]
        balanced = input_count is not None and input_count == last_kept + rejected_total
        return {
            "pipeline": self.spec.name, "input": input_count, "kept": last_kept, "rejected_total": rejected_total,
            "balanced": balanced, "stages": rows,
        }

    def write_ledger(self) -> dict[str, Any]:
        ledger = self.ledger()
        atomic_write_text(self.out / LEDGER, json.dumps(ledger, indent=2))
        if self.out.is_local:
            from curator.report import write_reports

            write_reports(self.root, ledger)  # report.md from the stats alone: cheap enough after every stage
        if ledger["input"] is not None and not ledger["balanced"]:
            raise LedgerError(
                f"ledger does not balance: input {ledger['input']} != kept {ledger['kept']} + rejected "
                f"{ledger['rejected_total']} (see {self.out / LEDGER})"
            )
        return ledger

    def write_report(self) -> Path:
        """The full run report (``report.html``, ``report.md``, ``report.json``) from Spark aggregations over every
        written stage output; returns the path of ``report.html``."""
        from curator.report import write_reports

        if not self.out.is_local:
            log.warning("the run report reads stage folders with local file APIs; skipped for the remote root %s "
                        "(ledger.json and every stats.json are written)", self.out)
            return self.out / LEDGER
        from curator.spark import in_driver

        ledger = self.ledger()
        if in_driver.report_fits(self, ledger):
            return write_reports(self.root, ledger, in_process=True)
        with self.progress.running(self.spark, "report"):
            return write_reports(self.root, ledger, spark=self.spark)


def stats_from_tally(stage, name: str, tally: dict[str, Any], input_count: int | None,
                     extra_stats: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
    """A document stage's ``stats.json`` body from the counts of its written output (:func:`count_written`, or the
    driver's twin) and its stage-specific ``written`` tables; checks ``in = kept + rejected`` (``input_count`` None:
    ingest, where every input record became one row)."""
    kept_count, by_reason = tally["kept"], tally["rejected"]
    rejected_count = sum(by_reason.values())
    if input_count is None:
        input_count = kept_count + rejected_count
    if input_count != kept_count + rejected_count:
        raise LedgerError(
            f"stage {name}: {input_count} documents in but {kept_count} kept + {rejected_count} "
            f"rejected = {kept_count + rejected_count}; refusing to mark the stage complete"
        )
    totals = tally["totals"] if stage.summed_columns() else {}
    groups = {f"by_{c}": counts for c, counts in tally["groups"].items()}
    return {
        "in": input_count, "kept": kept_count, "rejected": dict(sorted(by_reason.items())),
        "rejected_total": rejected_count, **({"extra": extra_stats} if extra_stats else {}),
        **({"totals": totals} if totals else {}), **groups, **written,
    }


def count_written(kept, rejected, summed: list[str], grouped: list[str]) -> dict[str, Any]:
    """Everything ``stats.json`` counts from a stage's written frames, in one Spark job: kept documents, rejected
    documents per reason, sums of the ``summed`` columns over both frames (``totals``; only columns present), and
    per value of each ``grouped`` column the kept and rejected documents and characters (``groups``)."""
    from pyspark.sql import functions as F

    def tagged(frame, is_kept: bool):
        present = set(frame.columns)
        columns = [(F.lit(None).cast("string") if is_kept else F.col(REASON)).alias("_reason"),
                   F.lit(is_kept).alias("_kept")]
        columns += [(F.col(c).cast("string") if c in present else F.lit(None).cast("string")).alias(f"_g{i}")
                    for i, c in enumerate(grouped)]
        columns += [(F.col(c).cast("long") if c in present else F.lit(None).cast("long")).alias(f"_s{i}")
                    for i, c in enumerate(summed)]
        columns.append(F.length("text").alias("_chars") if grouped else F.lit(0).alias("_chars"))
        return frame.select(*columns)

    keys = ["_reason", "_kept"] + [f"_g{i}" for i in range(len(grouped))]
    sums = [F.sum(f"_s{i}").alias(f"_s{i}") for i in range(len(summed))]
    rows = (tagged(kept, True).unionByName(tagged(rejected, False)).groupBy(*keys)
            .agg(F.count(F.lit(1)).alias("_n"), F.sum("_chars").alias("_chars"), *sums).collect())

    present = {True: set(kept.columns), False: set(rejected.columns)}
    kept_count, by_reason = 0, {}
    totals = dict.fromkeys(summed, 0)
    groups: dict[str, dict[str, dict[str, int]]] = {c: {} for c in grouped}
    for row in rows:
        n, is_kept = int(row["_n"]), row["_kept"]
        if is_kept:
            kept_count += n
        else:
            by_reason[row["_reason"]] = by_reason.get(row["_reason"], 0) + n
        for i, c in enumerate(summed):
            totals[c] += int(row[f"_s{i}"] or 0)
        prefix = "kept" if is_kept else "rejected"
        for i, c in enumerate(grouped):
            if c not in present[is_kept]:
                continue
            entry = groups[c].setdefault(str(row[f"_g{i}"]), dict.fromkeys(
                ("kept_docs", "kept_chars", "rejected_docs", "rejected_chars"), 0))
            entry[f"{prefix}_docs"] += n
            entry[f"{prefix}_chars"] += int(row["_chars"] or 0)
    return {"kept": kept_count, "rejected": by_reason, "totals": totals,
            "groups": {c: dict(sorted(counts.items())) for c, counts in groups.items()}}


def write_marker(folder: Location, fingerprint: str, attempt: str | None = None) -> None:
    """The completion marker, written atomically: a torn marker cannot exist (and a corrupt one reads as absent).
    ``attempt`` names the attempt folder readers must use (object stores)."""
    atomic_write_text(folder / MARKER, json.dumps({"fingerprint": fingerprint, "finished": time.time(),
                                                   **({"attempt": attempt} if attempt else {})}))
