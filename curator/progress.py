"""What the console says while curator works: one line per stage start and end, a progress bar over Spark's tasks,
and a spinner for long driver-side steps.

Spark's own console bar prints internal stage numbers (``[Stage 12:===>  (3 + 1) / 8]``); it is switched off in
:func:`curator.spark.session.get_session` and replaced by :class:`SparkProgress`, which polls Spark's status tracker
and shows the curator stage it belongs to, tasks done/total and an ETA. On a terminal the bar is live; elsewhere
(Airflow logs, CI, pipes) it prints a plain status line at most every ``log_interval`` seconds instead.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from rich.console import Console


log = logging.getLogger("curator")
console = Console(stderr=True)


def format_rate(count: int | None, seconds: float) -> str:
    if not count or seconds <= 0:
        return ""
    return f", {count / seconds:,.0f} docs/s"


def stage_end_line(name: str, stats: dict[str, Any], seconds: float) -> str:
    """The one line printed when a stage finishes (pure, so tests read exactly what users see); ``(driver)`` marks a
    stage computed in the driver process without Spark jobs (``curator.spark.in_driver``)."""
    engine = " [dim](driver)[/dim]" if stats.get("engine") == "driver" else ""
    if stats.get("sink"):
        parts = []
        for key in ("documents", "tokens", "shards", "vocab_size", "sampled_documents", "sampled_chars"):
            if key in stats:
                parts.append(f"{key.replace('_', ' ')} {stats[key]:,}")
        body = ", ".join(parts) or "done"
        return f"[bold green]done[/bold green] {name}: {body} in {seconds:.1f}s{engine}"
    reasons = ", ".join(f"{k}={v:,}" for k, v in stats.get("rejected", {}).items())
    rejected = f"{stats.get('rejected_total', 0):,} rejected" + (f" ({reasons})" if reasons else "")
    return (f"[bold green]done[/bold green] {name}: {stats.get('in', 0):,} in -> {stats.get('kept', 0):,} kept, "
            f"{rejected} in {seconds:.1f}s{format_rate(stats.get('in'), seconds)}{engine}")


class StageProgress:
    """Listener the stage runner calls around every stage. Subclass or replace to route the events elsewhere."""

    def __init__(self, out: Console | None = None, spark_bar: bool = True):
        self.out = out or console
        self.spark_bar = spark_bar

    def started(self, name: str, kind: str, index: int, total: int) -> None:
        label = name if name == kind else f"{name} ({kind})"
        self.out.print(f"[bold cyan]start[/bold cyan] {label} [dim]\\[{index}/{total}][/dim]", soft_wrap=True)

    def skipped(self, name: str) -> None:
        self.out.print(f"[dim]skip  {name}: already complete for this spec[/dim]", soft_wrap=True)

    def finished(self, name: str, stats: dict[str, Any], seconds: float) -> None:
        self.out.print(stage_end_line(name, stats, seconds), soft_wrap=True)

    @contextmanager
    def running(self, spark, label: str) -> Iterator[None]:
        """Show Spark task progress for the body of the ``with`` block."""
        if not self.spark_bar or spark is None:
            yield
            return
        with SparkProgress(spark, label, out=self.out):
            yield


class QuietProgress(StageProgress):
    """Says nothing (library use, tests)."""

    def started(self, *args, **kwargs) -> None:
        pass

    def skipped(self, *args, **kwargs) -> None:
        pass

    def finished(self, *args, **kwargs) -> None:
        pass

    @contextmanager
    def running(self, spark, label: str) -> Iterator[None]:
        yield


@dataclass
class TaskCounts:
    """Tasks of the Spark stages active at one moment (several can run at once, e.g. both sides of a join)."""

    stage_ids: tuple[int, ...]
    total: int
    done: int
    active: int
    failed: int


def active_task_counts(spark) -> TaskCounts | None:
    """Tasks done/total over Spark's currently active stages, from the status tracker; None when idle."""
    tracker = spark.sparkContext.statusTracker()
    ids = sorted(tracker.getActiveStageIds())
    infos = [info for info in (tracker.getStageInfo(i) for i in ids) if info is not None]
    if not infos:
        return None
    return TaskCounts(
        stage_ids=tuple(i.stageId for i in infos), total=sum(i.numTasks for i in infos),
        done=sum(i.numCompletedTasks for i in infos), active=sum(i.numActiveTasks for i in infos),
        failed=sum(i.numFailedTasks for i in infos),
    )


class SparkProgress:
    """Polls Spark's status tracker in a daemon thread and renders one progress bar (context manager)."""

    def __init__(self, spark, label: str, out: Console | None = None, poll_seconds: float = 0.3,
                 log_interval: float = 30.0):
        self.spark = spark
        self.label = label
        self.out = out or console
        self.poll_seconds = poll_seconds
        self.log_interval = log_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "SparkProgress":
        self._thread = threading.Thread(target=self._run, name="curator-spark-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            if self.out.is_terminal:
                self._run_live()
            else:
                self._run_plain()
        except Exception as error:  # the bar must never break a run (e.g. the session stopped under it)
            log.debug("spark progress stopped: %s", error)

    def _run_live(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns = (TextColumn("[cyan]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("tasks"), TimeRemainingColumn(compact=True))
        with Progress(*columns, console=self.out, transient=True) as bar:
            task = bar.add_task(self.label, total=None)
            current: tuple[int, ...] = ()
            while not self._stop.wait(self.poll_seconds):
                counts = active_task_counts(self.spark)
                if counts is None:
                    continue
                description = f"{self.label} · spark stage {','.join(map(str, counts.stage_ids))}"
                if counts.stage_ids != current:
                    # A new Spark stage: restart the bar so the ETA is estimated from this stage's own tasks.
                    current = counts.stage_ids
                    bar.reset(task, total=counts.total, completed=counts.done, description=description)
                else:
                    bar.update(task, total=counts.total, completed=counts.done, description=description)

    def _run_plain(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.poll_seconds):
            if time.monotonic() - last < self.log_interval:
                continue
            counts = active_task_counts(self.spark)
            if counts is not None:
                self.out.print(f"{self.label}: spark stage {','.join(map(str, counts.stage_ids))}: "
                               f"{counts.done}/{counts.total} tasks done, {counts.active} running")
                last = time.monotonic()


@contextmanager
def step(message: str, out: Console | None = None, live: bool = True) -> Iterator[None]:
    """A spinner for a long driver-side step (training), then a line saying how long it took. ``live=False``
    prints a start line instead of the spinner (when something else writes progress to the terminal)."""
    out = out or console
    started = time.monotonic()
    if live and out.is_terminal:
        with out.status(f"{message} ..."):
            yield
    else:
        out.print(f"{message} ...")
        yield
    out.print(f"[dim]{message}: {time.monotonic() - started:.1f}s[/dim]")


@contextmanager
def spark_step(spark, message: str, out: Console | None = None) -> Iterator[None]:
    """A Spark job run by a CLI command: the task bar while it runs, then how long it took."""
    out = out or console
    started = time.monotonic()
    with SparkProgress(spark, message, out=out):
        yield
    out.print(f"[dim]{message}: {time.monotonic() - started:.1f}s[/dim]")


__all__ = ["QuietProgress", "SparkProgress", "StageProgress", "active_task_counts", "spark_step",
           "stage_end_line", "step"]
