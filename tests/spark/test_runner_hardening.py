"""Runner faults from issue #11: changed input, concurrent runs, leftovers of killed runs, torn markers, a stage
that keeps nothing. Each test reproduces a failure seen before the fix."""

from __future__ import annotations

import json
import logging
import os
import socket
import time

import pytest

from curator.io.run_files import LOCK_FILE, RunLock, RunLockedError, atomic_write_text, read_json
from curator.spark.runner import EmptyOutputError, PipelineRunner
from curator.specs import PipelineSpec


def doc(i: int) -> bytes:
    return json.dumps({"id": f"d{i}", "text": f"Document number {i} is a plain English sentence about trains."}
                      ).encode() + b"\n"


def make_spec(tmp_path, stages=("ingest",), **extra) -> PipelineSpec:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        corpus.mkdir()
        (corpus / "a.jsonl").write_bytes(doc(1) + doc(2))
    return PipelineSpec.model_validate({
        "name": "hardening", "input": {"paths": [str(corpus)]}, "output": str(tmp_path / "out"),
        "stages": [{"stage": s} if isinstance(s, str) else s for s in stages], **extra,
    })


# -- run lock (no Spark) -----------------------------------------------------------------------------------------


def test_second_lock_on_one_root_is_refused_naming_the_holder(tmp_path):
    first = RunLock(tmp_path)
    first.acquire()
    try:
        holder = json.loads((tmp_path / LOCK_FILE).read_text())
        assert {"owner", "host", "pid", "run_id", "heartbeat", "started"} <= set(holder)
        with pytest.raises(RunLockedError, match=f"in use by run {first.run_id} of .* \\(pid {os.getpid()}"):
            RunLock(tmp_path).acquire()
    finally:
        first.release()
    assert not (tmp_path / LOCK_FILE).exists()
    second = RunLock(tmp_path)
    second.acquire()
    second.release()


@pytest.mark.parametrize("holder", [
    {"host": socket.gethostname(), "pid": 2**22 + 7, "heartbeat": time.time()},  # dead process on this host
    {"host": "elsewhere", "pid": 1, "heartbeat": time.time() - 3600},  # no heartbeat for an hour
    "torn",  # unreadable and old
])
def test_stale_lock_is_taken_over(tmp_path, holder, caplog):
    path = tmp_path / LOCK_FILE
    path.write_text("{\"own" if holder == "torn" else json.dumps({"run_id": "old", **holder}))
    old = time.time() - 3600
    os.utime(path, (old, old))
    lock = RunLock(tmp_path, stale_seconds=60)
    with caplog.at_level(logging.WARNING, logger="curator"):
        lock.acquire()
    try:
        assert "stale run lock" in caplog.text
        assert json.loads(path.read_text())["run_id"] == lock.run_id
    finally:
        lock.release()


def test_live_lock_on_another_host_is_respected(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps({"run_id": "r1", "owner": "ann", "host": "node7", "pid": 1,
                                                  "heartbeat": time.time() - 5}))
    with pytest.raises(RunLockedError, match="run r1 of ann on node7"):
        RunLock(tmp_path, stale_seconds=60).acquire()


def test_heartbeat_is_refreshed_while_held(tmp_path):
    lock = RunLock(tmp_path, heartbeat_seconds=0.05)
    lock.acquire()
    try:
        first = json.loads((tmp_path / LOCK_FILE).read_text())["heartbeat"]
        deadline = time.time() + 5
        while json.loads((tmp_path / LOCK_FILE).read_text())["heartbeat"] == first and time.time() < deadline:
            time.sleep(0.05)
        assert json.loads((tmp_path / LOCK_FILE).read_text())["heartbeat"] > first
    finally:
        lock.release()


def test_atomic_write_and_guarded_read(tmp_path, caplog):
    path = tmp_path / "_COMPLETE"
    atomic_write_text(path, json.dumps({"fingerprint": "abc"}))
    assert read_json(path, "marker") == {"fingerprint": "abc"}
    assert [p.name for p in tmp_path.iterdir()] == ["_COMPLETE"]  # no temporary left behind
    path.write_text('{"fingerprint": "ab')  # what a kill during a plain write_text left
    with caplog.at_level(logging.WARNING, logger="curator"):
        assert read_json(path, "completion marker") is None
    assert "unreadable" in caplog.text and str(path) in caplog.text


# -- through the runner --------------------------------------------------------------------------------------------


@pytest.mark.spark
def test_added_changed_or_removed_input_file_recomputes_ingest_and_after(spark, tmp_path):
    stages = ("ingest", {"stage": "langid", "languages": ["en"], "min_score": 0.1})
    first = PipelineRunner(make_spec(tmp_path, stages), spark=spark).run_all()
    assert [r.stats["in"] for r in first] == [2, 2]
    assert [r.skipped for r in PipelineRunner(make_spec(tmp_path, stages), spark=spark).run_all()] == [True, True]

    (tmp_path / "corpus" / "b.jsonl").write_bytes(doc(3))  # before the fix: skipped, and the ledger "balanced"
    added = PipelineRunner(make_spec(tmp_path, stages), spark=spark).run_all()
    assert [r.skipped for r in added] == [False, False] and added[0].stats["in"] == 3

    (tmp_path / "corpus" / "b.jsonl").write_bytes(doc(3) + doc(4))
    changed = PipelineRunner(make_spec(tmp_path, stages), spark=spark).run_stage("ingest")
    assert not changed.skipped and changed.stats["in"] == 4

    (tmp_path / "corpus" / "b.jsonl").unlink()
    removed = PipelineRunner(make_spec(tmp_path, stages), spark=spark)
    assert not removed.is_complete("ingest") and removed.run_stage("ingest").stats["in"] == 2


@pytest.mark.spark
def test_run_refuses_an_output_root_held_by_another_run(spark, tmp_path):
    runner = PipelineRunner(make_spec(tmp_path), spark=spark)
    runner.prepare_root()
    other = RunLock(runner.root)
    other.acquire()
    try:
        with pytest.raises(RunLockedError, match=f"in use by run {other.run_id}"):
            runner.run_all()
        assert not (runner.root / "ingest").exists()
    finally:
        other.release()
    assert not runner.run_all()[0].skipped
    assert not (runner.root / LOCK_FILE).exists()


@pytest.mark.spark
def test_leftovers_of_killed_runs_are_removed_and_scratch_is_per_run(spark, tmp_path):
    runner = PipelineRunner(make_spec(tmp_path), spark=spark)
    runner.prepare_root()
    stale_tmp = runner.root / ".ingest.tmp-deadbeef" / "data"
    stale_tmp.mkdir(parents=True)
    (stale_tmp / "part-00000.parquet").write_bytes(b"complete-looking shard of a killed run")
    (stale_tmp.parent / "_COMPLETE").write_text("{}")
    stale_scratch = runner.root / "_scratch" / "deadrun" / "dedup"
    stale_scratch.mkdir(parents=True)
    seen = {}
    original = runner._compute_stage

    def spy(stage_spec):
        seen["run_id"] = runner.run_id
        return original(stage_spec)

    runner._compute_stage = spy
    runner.run_stage("ingest")
    assert not stale_tmp.parent.exists() and not (runner.root / "_scratch" / "deadrun").exists()
    assert seen["run_id"] and runner.run_id is None  # the lock (and its run id) is held only while running
    assert runner.is_complete("ingest")


@pytest.mark.spark
def test_torn_marker_means_not_complete_with_a_warning(spark, tmp_path, caplog):
    runner = PipelineRunner(make_spec(tmp_path), spark=spark)
    runner.run_all()
    (runner.stage_dir("ingest") / "_COMPLETE").write_text('{"fingerpr')  # before the fix: JSONDecodeError
    again = PipelineRunner(make_spec(tmp_path), spark=spark)
    with caplog.at_level(logging.WARNING, logger="curator"):
        assert again.ledger()["input"] is None
        assert not again.run_all()[0].skipped
    assert "unreadable" in caplog.text
    assert json.loads((runner.stage_dir("ingest") / "_COMPLETE").read_text())["fingerprint"]


@pytest.mark.spark
def test_stage_that_keeps_nothing_of_a_nonempty_input_fails_the_run(spark, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_bytes(b'{"id": "e1", "text": ""}\n{"id": "e2", "text": "  "}\n')
    with pytest.raises(EmptyOutputError, match="stage 'ingest' kept 0 of 2 documents \\(empty_text=2\\)"):
        PipelineRunner(make_spec(tmp_path), spark=spark).run_all()
    # The result itself is complete and accounted for; a rerun says the same without recomputing.
    with pytest.raises(EmptyOutputError):
        PipelineRunner(make_spec(tmp_path), spark=spark).run_all()
    allowed = PipelineRunner(make_spec(tmp_path, allow_empty_output=True), spark=spark).run_all()
    assert allowed[0].stats["kept"] == 0 and allowed[0].skipped
