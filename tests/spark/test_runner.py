"""Stage runner: outputs, stats, ledger conservation, skipping completed stages, refusing to run out of order."""

from __future__ import annotations

import json

import pytest

from curator.errors import CuratorError, LedgerError
from curator.spark.runner import PipelineRunner
from curator.specs import PipelineSpec


pytestmark = pytest.mark.spark

CORPUS = [
    b'{"id": "en-1", "text": "The committee met on Tuesday and agreed on the budget for next year."}\n',
    b'{"id": "en-2", "text": "Rain is expected across the north of the country later this week."}\n',
    b'{"id": "de-1", "text": "Der Ausschuss hat sich am Dienstag auf den Haushalt geeinigt."}\n',
    b'{"id": "bad", "text": \n',
    b'{"text": "A record without an id still gets a stable one from its position."}\n',
]


def make_spec(tmp_path, **langid) -> PipelineSpec:
    corpus = tmp_path / "in.jsonl"
    if not corpus.exists():  # rewriting it would change its modification time, and so the input fingerprint
        corpus.write_bytes(b"".join(CORPUS))
    return PipelineSpec.model_validate({
        "name": "t", "input": {"paths": [str(corpus)]}, "output": str(tmp_path / "out"),
        "stages": [{"stage": "ingest"}, {"stage": "langid", "languages": ["en"], **langid}],
    })


def test_run_writes_outputs_stats_and_balanced_ledger(spark, tmp_path):
    runner = PipelineRunner(make_spec(tmp_path), spark=spark)
    results = runner.run_all()
    assert [r.skipped for r in results] == [False, False]
    ingest, langid = (json.loads((runner.stage_dir(n) / "stats.json").read_text()) for n in ("ingest", "langid"))
    assert ingest["in"] == 5 and ingest["kept"] == 4 and ingest["rejected"] == {"malformed_json": 1}
    assert langid["in"] == 4 and langid["kept"] == 3 and langid["rejected"] == {"lid_wrong_language": 1}
    for name in ("ingest", "langid"):
        assert (runner.stage_dir(name) / "_COMPLETE").exists()
    rejected = spark.read.parquet(str(runner.stage_dir("langid") / "rejected")).collect()
    assert [(r["id"], r["stage"], r["reason"]) for r in rejected] == [("de-1", "langid", "lid_wrong_language")]
    kept = spark.read.parquet(str(runner.stage_dir("langid") / "data"))
    assert {"lang", "lang_score"} <= set(kept.columns) and "reason" not in kept.columns
    ledger = json.loads((runner.root / "ledger.json").read_text())
    assert ledger["balanced"] and ledger["input"] == 5 and ledger["kept"] + ledger["rejected_total"] == 5


def test_rerun_skips_completed_stages_and_config_change_reruns_downstream(spark, tmp_path):
    PipelineRunner(make_spec(tmp_path), spark=spark).run_all()
    again = PipelineRunner(make_spec(tmp_path), spark=spark).run_all()
    assert [r.skipped for r in again] == [True, True]
    changed = PipelineRunner(make_spec(tmp_path, min_score=0.9), spark=spark).run_all()
    assert [r.skipped for r in changed] == [True, False]


def test_stage_refuses_to_run_before_its_input_exists(spark, tmp_path):
    runner = PipelineRunner(make_spec(tmp_path), spark=spark)
    with pytest.raises(CuratorError, match="needs the output of 'ingest'"):
        runner.run_stage("langid")


def test_ledger_detects_lost_documents(spark, tmp_path):
    runner = PipelineRunner(make_spec(tmp_path), spark=spark)
    runner.run_all()
    stats_path = runner.stage_dir("langid") / "stats.json"
    stats = json.loads(stats_path.read_text())
    stats["kept"] -= 1  # a document vanished between stages
    stats_path.write_text(json.dumps(stats))
    with pytest.raises(LedgerError, match="does not balance"):
        runner.write_ledger()


def test_failed_stage_leaves_no_marker(spark, tmp_path):
    spec = make_spec(tmp_path)
    runner = PipelineRunner(spec, spark=spark)
    runner.run_stage("ingest")
    (runner.stage_dir("ingest") / "data").rename(tmp_path / "moved")  # upstream data gone: langid must fail
    with pytest.raises(Exception):
        runner.run_stage("langid")
    assert not (runner.stage_dir("langid") / "_COMPLETE").exists()
    assert not list(runner.root.glob(".langid.tmp-*"))


def test_count_written_tallies_both_frames_in_one_pass(spark):
    # Kept and rejected frames with different columns: a grouped column present only in the kept rows counts only
    # there; a null group value is its own group ("None"); summed columns add over both frames; reasons per reason.
    from curator.spark.runner import count_written

    kept = spark.createDataFrame(
        [("a", "xx", "en", 2), ("b", "yyy", "de", None), ("c", "z", None, 1)],
        "id string, text string, lang string, pii_total int")
    rejected = spark.createDataFrame(
        [("d", "wwww", "too_short", 5), ("e", "v", "too_short", 0), ("f", "uu", "bad", None)],
        "id string, text string, reason string, pii_total int")
    tally = count_written(kept, rejected, ["pii_total", "absent"], ["lang"])
    assert tally["kept"] == 3
    assert tally["rejected"] == {"too_short": 2, "bad": 1}
    assert tally["totals"] == {"pii_total": 8, "absent": 0}
    assert tally["groups"] == {"lang": {
        "None": {"kept_docs": 1, "kept_chars": 1, "rejected_docs": 0, "rejected_chars": 0},
        "de": {"kept_docs": 1, "kept_chars": 3, "rejected_docs": 0, "rejected_chars": 0},
        "en": {"kept_docs": 1, "kept_chars": 2, "rejected_docs": 0, "rejected_chars": 0},
    }}
