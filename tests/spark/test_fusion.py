"""Stage fusion: the chain equals the stages one by one; a fused run writes the same books as an unfused one; resume,
``--force`` and config changes behave as for single stages."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from curator.document import DOCUMENT_SCHEMA
from curator.report.figures import stage_funnel
from curator.report.run import read_run
from curator.spark.fusion import FUSED_STAGE, FusedChain, stage_groups
from curator.spark.runner import PipelineRunner
from curator.specs import PipelineSpec, SparkSpec
from curator.stage import run_batch_stage


EN = "The committee met on Tuesday and agreed on the budget for the coming year after a long debate. " * 3
ROWS = [
    {"id": "blocked", "text": EN, "url": "https://spam.example/page"},
    {"id": "german", "text": "Der Ausschuss hat sich am Dienstag nach langer Debatte auf den Haushalt geeinigt. " * 3,
     "url": "https://ok.example/de"},
    {"id": "short", "text": "Too short.", "url": "https://ok.example/short"},
    {"id": "mail", "text": EN + " Write to jane.doe@example.org for the minutes.", "url": "https://ok.example/a"},
    {"id": "plain", "text": EN, "url": None},
    {"id": "busy", "text": EN + " a@example.org b@example.org c@example.org d@example.org",
     "url": "https://ok.example/b"},
]
STAGES = [
    {"stage": "ingest"},
    {"stage": "url_filter", "domains": ["spam.example"]},
    {"stage": "langid", "languages": ["en"]},
    {"stage": "quality", "filters": ["gopher_quality"]},
    {"stage": "pii", "entities": ["EMAIL_ADDRESS"], "max_entities": 3},
]


def build(stages: list[dict]):
    spec = PipelineSpec.model_validate({"name": "t", "input": {"paths": ["builtin:sample"]}, "stages": stages})
    return [s.name for s in spec.stages[1:]], [s.build() for s in spec.stages[1:]]


def test_chain_equals_the_stages_run_one_by_one():
    names, stages = build(STAGES)
    rows = [{"source": "t", "meta": None, **r} for r in ROWS]
    expected_rejected, kept = {}, rows
    for name, stage in zip(names, stages):
        kept, rejected = run_batch_stage(stage, kept)
        kept = [{k: v for k, v in r.items() if k not in ("reason", "reason_detail")} for r in kept]
        expected_rejected[name] = [(r["id"], r["reason"], r["text"]) for r in rejected]

    chain = FusedChain(names, stages, DOCUMENT_SCHEMA)
    batch = pa.RecordBatch.from_pylist(rows, schema=DOCUMENT_SCHEMA)
    out = pa.Table.from_batches(list(chain.process_batches(iter([batch]))), schema=chain.output_schema).to_pylist()
    got_rejected = {name: [(r["id"], r["reason"], r["text"]) for r in out if r[FUSED_STAGE] == name]
                    for name in names}
    assert got_rejected == expected_rejected
    assert {n for n, r in expected_rejected.items() if r} == {"url_filter", "langid", "quality", "pii"}
    fused_kept = [r for r in out if r[FUSED_STAGE] is None]
    assert [(r["id"], r["text"], r["pii_email_address"]) for r in fused_kept] == \
        [(r["id"], r["text"], r["pii_email_address"]) for r in kept]
    assert "<EMAIL_ADDRESS>" in fused_kept[[r["id"] for r in fused_kept].index("mail")]["text"]


def test_only_consecutive_per_document_stages_are_grouped():
    stages = [{"stage": s} for s in ("ingest", "url_filter", "langid", "dedup", "line_dedup", "quality", "pii")]
    stages[1]["domains"] = ["spam.example"]
    spec = PipelineSpec.model_validate({"name": "t", "input": {"paths": ["builtin:sample"]}, "stages": stages})
    grouped = [[s.name for s in g] for g in stage_groups(spec)]
    assert grouped == [["ingest"], ["url_filter", "langid"], ["dedup"], ["line_dedup"], ["quality", "pii"]]
    unfused = spec.model_copy(update={"spark": spec.spark.model_copy(update={"fuse_stages": False})})
    assert all(len(g) == 1 for g in stage_groups(unfused))


def tiny_spec(tmp_path, fuse: bool = True, stages: list[dict] = STAGES, out: str = "out") -> PipelineSpec:
    corpus = tmp_path / "in.jsonl"
    if not corpus.exists():  # rewriting it would change its modification time, and so the input fingerprint
        corpus.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return PipelineSpec.model_validate({
        "name": "t", "input": {"paths": [str(corpus)]}, "output": str(tmp_path / out),
        # On Spark: small runs go to the driver engine by default (tests/spark/test_in_driver.py checks it keeps
        # the same books as Spark).
        "spark": {"fuse_stages": fuse, **dict.fromkeys(SparkSpec.DRIVER_LIMITS, 0)}, "stages": stages,
    })


def books(runner: PipelineRunner) -> dict:
    """What must not depend on fusion: ledger, kept ids and text, and every stage's counted stats."""
    spark = runner.spark
    ledger = json.loads((runner.root / "ledger.json").read_text())
    last = [s.name for s in runner.spec.stages][-1]
    kept = sorted((r["id"], r["text"]) for r in spark.read.parquet(str(runner.stage_dir(last) / "data")).collect())
    stats = {}
    for s in runner.spec.stages:
        st = runner.read_stats(s.name)
        for key in ("seconds", "fused"):
            st.pop(key, None)
        for counts in st.get("by_lang", {}).values():  # characters of a non-last member: see curator.spark.fusion
            counts.pop("kept_chars")
        rejected = spark.read.parquet(str(runner.stage_dir(s.name) / "rejected"))
        st["rejected_rows"] = sorted((r["id"], r["stage"], r["reason"]) for r in rejected.collect())
        st["rejected_columns"] = sorted(rejected.columns)
        stats[s.name] = st
    return {"ledger": ledger, "kept": kept, "stats": stats}


@pytest.mark.spark
@pytest.mark.slow  # two runs with presidio: ~35 s on 2 shared cores
def test_fused_run_keeps_the_same_books_as_stage_by_stage(spark, tmp_path):
    fused = PipelineRunner(tiny_spec(tmp_path), spark=spark)
    results = fused.run_all()
    assert [r.skipped for r in results] == [False] * 5
    # One pass: only the segment's last member keeps documents; every member has its rejected rows and marker.
    assert [(fused.stage_dir(n) / "data").is_dir() for n in ("url_filter", "langid", "quality", "pii")] == \
        [False, False, False, True]
    assert fused.read_stats("langid")["fused"] == ["url_filter", "langid", "quality", "pii"]
    single = PipelineRunner(tiny_spec(tmp_path, fuse=False, out="single"), spark=spark)
    single.run_all()
    fused_books, single_books = books(fused), books(single)
    assert fused_books == single_books
    assert fused_books["ledger"]["balanced"] and fused_books["ledger"]["kept"] == 2
    rejected = {n: s["rejected"] for n, s in fused_books["stats"].items()}
    assert rejected == {"ingest": {}, "url_filter": {"url_blocked": 1}, "langid": {"lid_wrong_language": 1},
                        "quality": {"gopher_short_doc": 1}, "pii": {"pii_too_many_entities": 1}}
    assert fused_books["stats"]["pii"]["totals"]["pii_email_address"] == 5
    # The report reads a fused member's kept documents from the later members' outputs.
    funnels = [[(row["stage"], row.get("docs_kept"), row.get("docs_rejected")) for row in
                stage_funnel(spark, read_run(runner.root))] for runner in (fused, single)]
    assert funnels[0] == funnels[1] and funnels[0][2] == ("langid", 4, 1)


@pytest.mark.spark
def test_fused_segment_resume_force_and_config_change(spark, tmp_path):
    PipelineRunner(tiny_spec(tmp_path), spark=spark).run_all()
    again = PipelineRunner(tiny_spec(tmp_path), spark=spark).run_all()
    assert [r.skipped for r in again] == [True] * 5
    forced = PipelineRunner(tiny_spec(tmp_path), spark=spark).run_all(force=True)
    assert [r.skipped for r in forced] == [False] * 5

    # quality changes: its fused predecessors kept no documents, so the segment reruns from its start; langid's
    # fingerprint is unchanged, quality's and pii's (chained) change.
    changed_stages = [*STAGES[:3], {"stage": "quality", "filters": ["gopher_quality"], "keep_signals": True},
                      STAGES[4]]
    before = {n: json.loads((tmp_path / "out" / n / "_COMPLETE").read_text())["fingerprint"]
              for n in ("langid", "quality", "pii")}
    changed = PipelineRunner(tiny_spec(tmp_path, stages=changed_stages), spark=spark)
    assert [r.skipped for r in changed.run_all()] == [True, False, False, False, False]
    after = {n: json.loads((tmp_path / "out" / n / "_COMPLETE").read_text())["fingerprint"]
             for n in ("langid", "quality", "pii")}
    assert after["langid"] == before["langid"]
    assert after["quality"] != before["quality"] and after["pii"] != before["pii"]
    assert changed.ledger()["balanced"]


@pytest.mark.spark
def test_single_stage_after_a_fused_run_recomputes_its_input(spark, tmp_path):
    runner = PipelineRunner(tiny_spec(tmp_path), spark=spark)
    runner.run_all()
    # `curator stage ... pii` alone: quality ran fused and kept no documents, so it is recomputed on its own first.
    result = runner.run_stage("pii", force=True)
    assert not result.skipped and result.stats["kept"] == 2
    assert (runner.stage_dir("quality") / "data").is_dir()
    assert "fused" not in runner.read_stats("quality") and runner.ledger()["balanced"]


@pytest.mark.spark
@pytest.mark.slow
def test_demo_stages_give_the_same_books_fused_and_stage_by_stage(spark, tmp_path):
    """The shipped demo spec's per-document stages on the embedded sample (dedup and line_dedup left out: they never
    fuse, and they make the test twice as long): langid, quality (with the classifier), decontaminate and pii fuse
    into one pass; ledger, kept ids, every stage's reason counts, totals and contamination table match."""
    from curator.specs import REPO_ROOT, load_pipeline

    demo = load_pipeline(REPO_ROOT / "pipelines" / "demo.yaml")
    stages = [s for s in demo.stages if not s.is_sink and s.stage not in ("dedup", "line_dedup")]
    runs = {}
    for fuse in (True, False):
        spec = demo.model_copy(update={"output": str(tmp_path / f"fuse_{fuse}"), "stages": stages,
                                       "spark": demo.spark.spark_only().model_copy(update={"fuse_stages": fuse})})
        assert [len(g) for g in stage_groups(spec)] == ([1, 4] if fuse else [1] * 5)
        runner = PipelineRunner(spec, spark=spark)
        runner.run_all()
        runs[fuse] = books(runner)
    assert runs[True] == runs[False]
    assert runs[True]["ledger"]["balanced"] and runs[True]["stats"]["decontaminate"]["contamination"]
    assert runs[True]["stats"]["decontaminate"]["rejected"]  # the bundled benchmark's passages are in the sample
