"""Progress: stage lines, and the task bar read from Spark's status tracker while a real job runs."""

from __future__ import annotations

import io
import threading
import time

import pytest
from rich.console import Console

from curator.progress import SparkProgress, StageProgress, active_task_counts, stage_end_line, step


def test_stage_end_line_for_document_and_sink_stages():
    line = stage_end_line("langid", {"in": 1000, "kept": 900, "rejected_total": 100,
                                     "rejected": {"lid_low_score": 100}}, 4.0)
    assert "langid: 1,000 in -> 900 kept, 100 rejected (lid_low_score=100) in 4.0s, 250 docs/s" in line
    sink = stage_end_line("tokenize", {"sink": True, "documents": 464, "tokens": 634447, "shards": 2}, 16.7)
    assert "tokenize: documents 464, tokens 634,447, shards 2 in 16.7s" in sink
    assert "(driver)" not in line + sink
    in_driver = stage_end_line("langid", {"in": 10, "kept": 9, "rejected_total": 1, "engine": "driver"}, 0.5)
    assert in_driver.endswith("20 docs/s [dim](driver)[/dim]")


def test_stage_progress_prints_start_and_end_lines():
    out = Console(file=io.StringIO(), width=200)
    progress = StageProgress(out, spark_bar=False)
    progress.started("dedup", "dedup", 4, 7)
    progress.finished("dedup", {"in": 10, "kept": 8, "rejected_total": 2, "rejected": {"exact_duplicate": 2}}, 2.0)
    progress.skipped("ingest")
    text = out.file.getvalue()
    assert "start dedup [4/7]" in text and "dedup: 10 in -> 8 kept, 2 rejected" in text
    assert "skip  ingest" in text


def test_step_reports_duration_without_a_terminal():
    out = Console(file=io.StringIO(), width=200)
    with step("training", out):
        pass
    assert out.file.getvalue().splitlines() == ["training ...", "training: 0.0s"]


def _slow_job(spark, seconds: float, partitions: int):
    def sleep(batches):
        for batch in batches:
            time.sleep(seconds)
            yield batch

    return spark.range(0, partitions, numPartitions=partitions).mapInPandas(sleep, "id long").collect()


@pytest.mark.spark
def test_status_tracker_counts_and_plain_progress_lines(spark):
    assert spark.conf.get("spark.ui.showConsoleProgress") == "false"  # Spark's own bar is replaced by ours
    out = Console(file=io.StringIO(), width=200)  # not a terminal: plain lines, here at every poll
    job = threading.Thread(target=_slow_job, args=(spark, 1.5, 4))
    with SparkProgress(spark, "unit", out=out, poll_seconds=0.1, log_interval=0):
        job.start()
        seen = None
        deadline = time.monotonic() + 60
        while seen is None and time.monotonic() < deadline:
            seen = active_task_counts(spark)
            time.sleep(0.05)
        job.join()
    assert seen is not None and seen.total == 4 and 0 <= seen.done < 4
    assert active_task_counts(spark) is None  # idle again
    assert "unit: spark stage" in out.file.getvalue() and "/4 tasks done" in out.file.getvalue()


@pytest.mark.spark
def test_live_bar_on_a_terminal_names_the_stage_and_counts_tasks(spark):
    out = Console(file=io.StringIO(), width=120, force_terminal=True)
    with SparkProgress(spark, "langid", out=out, poll_seconds=0.1):
        _slow_job(spark, 1.0, 3)
    text = out.file.getvalue()
    assert "langid · spark stage" in text and "/3" in text and "tasks" in text
