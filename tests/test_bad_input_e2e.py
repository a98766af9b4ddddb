"""End to end on the hostile corpus of tests/bad_input.py: the document stages of pipelines/demo.yaml must account
for every physical record, with a reason for each rejected one, by the generator's own hand count; misnamed files
stop the run with one error naming the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from curator.errors import CuratorError
from curator.registry import stage_class
from curator.spark.runner import PipelineRunner
from curator.specs import PipelineSpec
from tests.bad_input import write_bad_corpus, write_fatal_files


pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parent.parent


def demo_document_spec(corpus: Path, output: Path, ingest_only: bool = False, **spark) -> PipelineSpec:
    raw = yaml.safe_load((REPO / "pipelines" / "demo.yaml").read_text())
    stages = [s for s in raw["stages"] if not stage_class(s["stage"]).is_sink][: 1 if ingest_only else None]
    return PipelineSpec.model_validate({
        "name": "bad-input", "input": {"paths": [str(corpus)]}, "output": str(output), "stages": stages,
        **({"spark": spark} if spark else {}),
    })


def check_accounting(spark, runner: PipelineRunner, corpus) -> None:
    from pyspark.sql import functions as F

    results = runner.run_all()
    ingest = results[0].stats
    assert ingest["in"] == corpus.records
    assert ingest["kept"] == corpus.kept
    assert ingest["rejected"] == dict(corpus.rejected)
    ledger = runner.ledger()
    assert ledger["balanced"] and ledger["input"] == corpus.records

    # From the written data, not the stats: every record is a kept row or a rejected row with a reason the stage
    # declares.
    rejected_rows = 0
    for result, stage_spec in zip(results, runner.spec.stages):
        rejected = spark.read.parquet(str(runner.stage_dir(stage_spec.name) / "rejected"))
        reasons = {r["reason"]: r["n"] for r in rejected.groupBy("reason").agg(F.count("*").alias("n")).collect()}
        assert None not in reasons
        declared = getattr(stage_class(stage_spec.stage), "reasons", None)  # every stage declares them (#11 hook)
        if declared is not None:
            assert set(reasons) <= set(declared), stage_spec.name
        assert reasons == result.stats["rejected"]
        rejected_rows += sum(reasons.values())
    kept_rows = spark.read.parquet(str(runner.stage_dir(runner.spec.stages[-1].name) / "data")).count()
    assert kept_rows + rejected_rows == corpus.records
    detail = spark.read.parquet(str(runner.stage_dir("ingest") / "rejected")).select("reason", "reason_detail")
    for row in detail.collect():  # every ingest rejection names its file
        assert str(corpus.folder) in row["reason_detail"], row


# Ingest on Spark, and in the driver process (curator.spark.in_driver), which small local inputs get by default.
ENGINES = pytest.mark.parametrize("engine", [{"driver_max_input_bytes": 0}, {}], ids=["spark", "driver"])  # ingest only


@ENGINES
def test_every_record_of_the_bad_corpus_is_accounted_for_by_ingest(spark, tmp_path, engine):
    corpus = write_bad_corpus(tmp_path / "corpus")
    spec = demo_document_spec(corpus.folder, tmp_path / "out", ingest_only=True, **engine)
    check_accounting(spark, PipelineRunner(spec, spark=spark), corpus)


@pytest.mark.slow  # about a minute on 2 cores: every document stage of the demo pipeline
def test_every_record_of_the_bad_corpus_is_accounted_for_by_the_full_pipeline(spark, tmp_path):
    corpus = write_bad_corpus(tmp_path / "corpus")
    check_accounting(spark, PipelineRunner(demo_document_spec(corpus.folder, tmp_path / "out"), spark=spark), corpus)


@pytest.mark.slow
def test_a_50_mb_document_is_accounted_for(spark, tmp_path):
    corpus = write_bad_corpus(tmp_path / "corpus", huge_document_mb=50)
    check_accounting(spark, PipelineRunner(demo_document_spec(corpus.folder, tmp_path / "out"), spark=spark), corpus)


@ENGINES
def test_misnamed_files_stop_the_run_naming_the_file(spark, tmp_path, engine):
    corpus = write_bad_corpus(tmp_path / "corpus")
    fatal = write_fatal_files(tmp_path / "fatal")
    for path, message in fatal.items():
        spec = demo_document_spec(corpus.folder, tmp_path / "out", **engine)
        spec = spec.model_copy(update={"input": spec.input.model_copy(update={"paths": [str(corpus.folder),
                                                                                        str(path.parent)]})})
        runner = PipelineRunner(spec, spark=spark)
        with pytest.raises(CuratorError, match=f"^{path}: named as .*{message}"):
            runner.run_stage("ingest")
        assert not (runner.stage_dir("ingest") / "_COMPLETE").exists()

    # As a user sees it: exit 1, one line, no trace.
    spec_file = tmp_path / "spec.yaml"
    junk = next(iter(fatal))
    spec_file.write_text(yaml.safe_dump({"name": "fatal", "input": {"paths": [str(corpus.folder), str(junk)]},
                                         "spark": {"master": "local[1]"}, "stages": ["ingest"]}))
    out = subprocess.run([sys.executable, "-m", "curator", "run", str(spec_file), "--output", str(tmp_path / "cli")],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert out.returncode == 1 and errors == [f"error: {junk}: named as jsonl but its first lines are not JSON "
                                              "objects (is it a binary file?); fix the file, rename it, or move it "
                                              "out of the input"], out.stderr
    assert "Traceback" not in out.stderr and "Py4J" not in out.stderr
