"""The driver engine (small local runs without Spark jobs): which computations it takes, and that a run through it
keeps the same books as the same run on Spark."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from curator.dedup.stage import DedupStage
from curator.ingest.stage import INGEST_ORDINAL, duplicate_id_decisions
from curator.linededup.stage import LineDedupStage
from curator.spark import in_driver
from curator.spark.runner import PipelineRunner, count_written
from curator.specs import PipelineSpec, SparkSpec


SPARK_ONLY = dict.fromkeys(SparkSpec.DRIVER_LIMITS, 0)
EN = ("The committee met on Tuesday and agreed on the budget for the coming year after a long debate. Members "
      "asked how the new library would be paid for, and the treasurer answered that a grant from the county covers "
      "most of it while the rest comes from savings. A vote on the school roof was put off until the spring, when "
      "the surveyors will have finished their report on the state of the building and its heating. ")
FOOTER = "Sent from the committee mailing list, unsubscribe at any time."
ROWS = [
    {"id": "a", "text": EN + "\n" + FOOTER},
    {"id": "b", "text": EN + "The minutes follow below.\n" + FOOTER, "url": "https://ok.example/b"},  # near copy of a
    {"id": "c", "text": EN + "\n" + FOOTER},  # exact copy of a
    {"id": "spam", "text": EN + "Buy now.", "url": "https://spam.example/page"},
    {"id": "de", "text": "Der Ausschuss hat sich am Dienstag nach langer Debatte auf den Haushalt geeinigt. " * 3},
    {"id": "short", "text": "Too short."},
    {"id": "mail", "text": EN.replace("treasurer", "treasurer (jane.doe@example.org)").replace("library", "hall")
     + "\n" + FOOTER},
    {"id": "busy", "text": EN.replace("school", "garden") + " a@example.org b@example.org c@example.org d@example.org"},
    {"id": "a", "text": "A second record with the id of the first."},
    {"text": "A record without an id gets one from its file and position, like every other one here."},
    {"id": "bad", "text": 42},
]
STAGES = [
    {"stage": "ingest"},
    {"stage": "url_filter", "domains": ["spam.example"]},
    {"stage": "langid", "languages": ["en"]},
    {"stage": "quality", "filters": ["gopher_quality"]},
    {"stage": "dedup"},
    {"stage": "line_dedup", "min_unit_chars": 10, "min_doc_chars": 20},
    {"stage": "pii", "entities": ["EMAIL_ADDRESS"], "max_entities": 3},
]


def spec_for(tmp_path, out: str, spark: dict | None = None, stages: list[dict] = STAGES) -> PipelineSpec:
    corpus = tmp_path / "in.jsonl"
    if not corpus.exists():  # rewriting it would change its modification time, and so the input fingerprint
        corpus.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return PipelineSpec.model_validate({"name": "t", "input": {"paths": [str(corpus)]},
                                        "output": str(tmp_path / out), "spark": spark or {}, "stages": stages})


def books(runner: PipelineRunner) -> dict:
    """Everything a run leaves that must not depend on the engine: ledger, every stage's stats (less its timing and
    engine), kept and rejected rows with their columns and types."""
    out = {"ledger": json.loads((runner.root / "ledger.json").read_text()), "stages": {}}
    for s in runner.spec.stages:
        stats = runner.read_stats(s.name)
        engine = stats.pop("engine", "spark")
        stats.pop("seconds")
        folders = {}
        for part in ("data", "rejected"):
            folder = runner.stage_output(s.name) / part
            if folder.is_dir():
                table = in_driver.read_table(folder)
                rows = sorted(table.to_pylist(), key=lambda r: (r["id"], json.dumps(r, sort_keys=True, default=str)))
                types = {f.name: str(f.type) for f in table.schema}
                folders[part] = (rows, types)
        out["stages"][s.name] = {"stats": stats, "folders": folders, "engine": engine}
    return out


@pytest.mark.spark
def test_driver_engine_keeps_the_same_books_as_spark(spark, tmp_path):
    driver = PipelineRunner(spec_for(tmp_path, "driver"), spark=spark)
    driver.run_all()
    on_spark = PipelineRunner(spec_for(tmp_path, "spark", SPARK_ONLY), spark=spark)
    on_spark.run_all()
    driver_books, spark_books = books(driver), books(on_spark)
    assert {n: s.pop("engine") for n, s in driver_books["stages"].items()} == dict.fromkeys(
        [s["stage"] for s in STAGES], "driver")
    assert {n: s.pop("engine") for n, s in spark_books["stages"].items()} == dict.fromkeys(
        [s["stage"] for s in STAGES], "spark")
    assert driver_books == spark_books
    # The corpus exercises every kind of decision the engine takes over.
    rejected = {n: s["stats"]["rejected"] for n, s in driver_books["stages"].items()}
    assert rejected["ingest"] == {"duplicate_id": 1, "non_string_text": 1}
    assert rejected["url_filter"] == {"url_blocked": 1} and rejected["langid"] == {"lid_wrong_language": 1}
    assert rejected["dedup"] == {"exact_duplicate": 1, "minhash_duplicate": 1}
    assert rejected["pii"] == {"pii_too_many_entities": 1}
    assert driver_books["stages"]["line_dedup"]["stats"]["totals"]["line_dedup_units_removed"] >= 1
    assert driver_books["ledger"]["balanced"]


def test_worker_pool_keeps_the_same_books_as_one_process(tmp_path, monkeypatch):
    # Every segment through the pool, in tasks of one or two rows (the corpus is tiny), against one process.
    monkeypatch.setattr(in_driver, "POOL_MIN_DOCUMENTS", 1)
    monkeypatch.setattr(in_driver, "POOL_MIN_TASK_ROWS", 1)
    pooled_segments = []
    real = in_driver._segment_in_pool

    def counting(pool, names, *args):
        pooled_segments.append(names)
        return real(pool, names, *args)

    monkeypatch.setattr(in_driver, "_segment_in_pool", counting)
    given_the_pool = []  # (stage, whether annotate_table got map_tasks)
    for stage_type in (DedupStage, LineDedupStage):
        def recording(self, table, map_tasks=None, real=stage_type.annotate_table):
            given_the_pool.append((self.name, map_tasks is not None))
            return real(self, table, map_tasks)

        monkeypatch.setattr(stage_type, "annotate_table", recording)
    one_process = PipelineRunner(spec_for(tmp_path, "one", {"master": "local[1]"}))
    one_process.run_all()
    assert pooled_segments == [] and one_process.local_pool is None
    assert given_the_pool == [("dedup", False), ("line_dedup", False)]
    given_the_pool.clear()
    pooled = PipelineRunner(spec_for(tmp_path, "pool", {"master": "local[2]"}))
    pooled.run_all()
    assert pooled_segments == [["url_filter", "langid", "quality"], ["pii"]]
    assert given_the_pool == [("dedup", True), ("line_dedup", False)]  # line_dedup's per-line work stays here
    assert pooled.local_pool is None  # closed with the run
    assert books(pooled) == books(one_process)


def test_the_pool_starts_with_the_run_only_for_inputs_that_can_use_it(tmp_path):
    small = PipelineRunner(spec_for(tmp_path, "small", {"master": "local[2]"}))
    in_driver.start_pool(small)
    assert small.local_pool is None  # a few kB: one process, no workers competing with the driver
    one_core = PipelineRunner(spec_for(tmp_path, "one", {"master": "local[1]"}))
    assert in_driver.pool_workers(one_core) == 0 and in_driver.pool_to_use(one_core, 10**6) is None
    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps({"id": str(i), "text": EN}) + "\n" for i in range(
        in_driver.POOL_MIN_DOCUMENTS * in_driver.POOL_DOCUMENT_BYTES // len(EN) + 1)))
    spec = PipelineSpec.model_validate({"name": "t", "input": {"paths": [str(big)]}, "output": str(tmp_path / "big"),
                                        "spark": {"master": "local[2]"}, "stages": STAGES})
    runner = PipelineRunner(spec)
    with runner.locked():
        in_driver.start_pool(runner)
        assert runner.local_pool is not None and runner.local_pool.workers == 2
        assert in_driver.pool_to_use(runner, 1) is runner.local_pool  # a running pool takes small work too
    assert runner.local_pool is None  # closed with the lock


@pytest.mark.spark
def test_a_run_finished_by_one_engine_is_complete_for_the_other(spark, tmp_path):
    PipelineRunner(spec_for(tmp_path, "out"), spark=spark).run_all()
    again = PipelineRunner(spec_for(tmp_path, "out", SPARK_ONLY), spark=spark).run_all()
    assert [r.skipped for r in again] == [True] * len(STAGES)
    # A forced rerun of one stage on Spark replaces the driver's output in place and the books still balance.
    runner = PipelineRunner(spec_for(tmp_path, "out", SPARK_ONLY), spark=spark)
    assert "engine" not in runner.run_stage("dedup", force=True).stats and runner.ledger()["balanced"]


def test_which_computations_the_driver_takes(tmp_path, monkeypatch):
    small = PipelineRunner(spec_for(tmp_path, "out"))
    assert in_driver.engine_allows(small) and in_driver.ingest_fits(small)
    with monkeypatch.context() as env:  # under spark-submit (its JVM is up, the master unknown): Spark jobs only
        env.setenv("PYSPARK_GATEWAY_PORT", "1")
        assert not in_driver.engine_allows(PipelineRunner(spec_for(tmp_path, "out")))
    assert not in_driver.ingest_fits(PipelineRunner(spec_for(tmp_path, "out", {"driver_max_input_bytes": 100})))
    assert not in_driver.engine_allows(PipelineRunner(spec_for(tmp_path, "out"), master="spark://127.0.0.1:7077"))
    assert not in_driver.engine_allows(PipelineRunner(spec_for(tmp_path, "out"), output="s3a://bucket/run"))
    # A segment is sized by the documents its predecessor kept (read from its stats.json; none yet: Spark).
    stage = small.spec.stage("langid")
    assert not in_driver.segment_fits(small, [stage])
    (small.root / "url_filter").mkdir(parents=True)
    limit = SparkSpec().driver_max_documents
    (small.root / "url_filter" / "stats.json").write_text(json.dumps({"kept": limit}))
    assert in_driver.segment_fits(small, [stage])
    (small.root / "url_filter" / "stats.json").write_text(json.dumps({"kept": limit + 1}))
    assert not in_driver.segment_fits(small, [stage])


def test_local_cores_of_a_master():
    import os

    assert in_driver.local_cores("local") == 1 and in_driver.local_cores("local[3]") == 3
    assert in_driver.local_cores("local[2,4]") == 2 and in_driver.local_cores("local[*]") == (os.cpu_count() or 1)


def test_compressed_input_counts_five_times_its_size(tmp_path):
    corpus = tmp_path / "in.jsonl.gz"
    corpus.write_bytes(b"\x00" * 1000)
    spec = PipelineSpec.model_validate({"name": "t", "input": {"paths": [str(corpus)]}, "output": str(tmp_path / "o"),
                                        "spark": {"driver_max_input_bytes": 4999}, "stages": [{"stage": "ingest"}]})
    assert not in_driver.ingest_fits(PipelineRunner(spec))
    bigger = spec.spark.model_copy(update={"driver_max_input_bytes": 5000})
    assert in_driver.ingest_fits(PipelineRunner(spec.model_copy(update={"spark": bigger})))


def test_duplicate_ids_first_kept_record_wins():
    rows = [  # (id, reason, file, record): the ordinal packs the file above bit 40
        ("x", "empty_text", 0, 0), ("x", None, 0, 1), ("x", None, 1, 0), ("y", None, 0, 2), ("y", None, 0, 3),
    ]
    table = pa.table({"id": [r[0] for r in rows], "reason": [r[1] for r in rows],
                      "reason_detail": [None] * len(rows), INGEST_ORDINAL: [(r[2] << 40) + r[3] for r in rows]})
    decided = duplicate_id_decisions(table.take([4, 2, 0, 3, 1]), [("f0.jsonl", "f0"), ("f1.jsonl", "f1")])
    by_position = sorted(zip(decided[INGEST_ORDINAL].to_pylist(), decided["reason"].to_pylist(),
                             decided["reason_detail"].to_pylist()))
    # in input order: x rejected, x kept (the first kept x), y kept, y again, x again (second file)
    assert [reason for _, reason, _ in by_position] == ["empty_text", None, None, "duplicate_id", "duplicate_id"]
    assert by_position[3][2] == "f0.jsonl record 4: id y seen earlier in the input"
    assert by_position[4][2] == "f1.jsonl record 1: id x seen earlier in the input"


@pytest.mark.spark
def test_count_tables_counts_what_count_written_counts(spark):
    kept = pa.table({"id": ["1", "2", "3"], "text": ["héllo wörld", "", None], "lang": ["fr", None, "fr"],
                     "pii_total": pa.array([2, 0, None], pa.int32())})
    rejected = pa.table({"id": ["4", "5"], "text": ["日本語のテキスト", "abc"], "lang": ["ja", "fr"],
                         "pii_total": pa.array([7, 1], pa.int32()), "reason": ["lid_low", "lid_low"],
                         "reason_detail": [None, "x"]})
    for summed, grouped in ((["pii_total", "absent"], ["lang"]), ([], []), (["pii_total"], ["lang", "absent"])):
        expected = count_written(spark.createDataFrame(kept), spark.createDataFrame(rejected), summed, grouped)
        assert in_driver.count_tables(kept, rejected, summed, grouped) == expected
    assert in_driver.count_tables(kept, rejected, [], ["lang"])["groups"]["lang"]["fr"] == {
        "kept_docs": 2, "kept_chars": 11, "rejected_docs": 1, "rejected_chars": 3}
