"""Output roots through curator.io.filesystem: a file:// run equals a plain-path run byte for byte, the attempt-folder
commit protocol (what object stores get) works end to end on a local disk, and a scheme the Spark session has no
connector for fails before anything is written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curator.io.filesystem import Location, UnsupportedSchemeError
from curator.report.run import read_run
from curator.spark.runner import PipelineRunner
from curator.specs import PipelineSpec


pytestmark = pytest.mark.spark

STAGES = [{"stage": "ingest"}, {"stage": "langid", "languages": ["en", "de", "fr"]},
          {"stage": "dedup", "threshold": 0.8, "num_perm": 128},
          {"stage": "train_tokenizer", "recipe": "bpe_demo"},
          {"stage": "tokenize", "tokenizer_stage": "train_tokenizer", "shuffle_seed": 7}]


def sample_spec(stages=STAGES) -> PipelineSpec:
    return PipelineSpec.model_validate({"name": "storage", "input": {"paths": ["builtin:sample"]},
                                        "stages": stages})


def kept_ids(folder: Path) -> list[str]:
    return sorted(pq.read_table(folder / "data", columns=["id"]).column("id").to_pylist())


def token_files(tokens: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(tokens.iterdir()) if p.suffix in (".bin", ".idx")}


def manifest_without_run(tokens: Path) -> dict:
    manifest = json.loads((tokens / "manifest.json").read_text())
    manifest.pop("run")  # run id and clock time
    return manifest


@pytest.mark.slow
def test_file_uri_output_is_identical_to_plain_path_output(spark, tmp_path):
    plain = PipelineRunner(sample_spec(), output=str(tmp_path / "plain"), spark=spark)
    plain.run_all()
    by_uri = PipelineRunner(sample_spec(), output=f"file://{tmp_path}/uri", spark=spark)
    by_uri.run_all()
    assert by_uri.root == tmp_path / "uri"
    assert not any(name.startswith("file:") for name in os.listdir(tmp_path)) and not Path("file:").exists()
    a, b = json.loads((tmp_path / "plain" / "ledger.json").read_text()), json.loads(
        (tmp_path / "uri" / "ledger.json").read_text())
    assert a == b and a["balanced"]
    for stage in ("ingest", "langid", "dedup"):
        assert kept_ids(tmp_path / "plain" / stage) == kept_ids(tmp_path / "uri" / stage), stage
    tokens_a, tokens_b = tmp_path / "plain" / "tokenize" / "tokens", tmp_path / "uri" / "tokenize" / "tokens"
    assert token_files(tokens_a) and token_files(tokens_a) == token_files(tokens_b)
    assert manifest_without_run(tokens_a) == manifest_without_run(tokens_b)


def attempt_runner(spec: PipelineSpec, output: Path, spark) -> PipelineRunner:
    runner = PipelineRunner(spec, output=str(output), spark=spark)
    runner.out = Location(runner.out.uri, atomic_rename=False)  # an object store's commit protocol on local disk
    return runner


def test_attempt_commit_protocol_marker_names_the_only_trusted_folder(spark, tmp_path):
    stages = STAGES[:2]
    runner = attempt_runner(sample_spec(stages), tmp_path / "out", spark)
    runner.run_all()
    for name in ("ingest", "langid"):
        marker = json.loads((tmp_path / "out" / name / "_COMPLETE").read_text())
        attempt = tmp_path / "out" / name / marker["attempt"]
        assert marker["attempt"].startswith("_attempt-") and (attempt / "stats.json").is_file()
        assert not (tmp_path / "out" / name / "data").exists()  # nothing outside the attempt
        assert {p.name for p in (tmp_path / "out" / name).iterdir()} == {marker["attempt"], "_COMPLETE"}
    ledger = json.loads((tmp_path / "out" / "ledger.json").read_text())
    assert ledger["balanced"] and ledger["input"] == 645
    assert [s.name for s in read_run(tmp_path / "out").stages] == ["ingest", "langid"]

    # A killed attempt (no marker names it) is never read and is removed when the stage is computed again; a
    # config change writes a new attempt and deletes the one it replaced.
    old = json.loads((tmp_path / "out" / "langid" / "_COMPLETE").read_text())["attempt"]
    stray = tmp_path / "out" / "langid" / "_attempt-killed0000"
    (stray / "data").mkdir(parents=True)
    (stray / "data" / "part-0.parquet").write_bytes(b"not parquet")
    assert runner.stage_output("langid") == Location(tmp_path / "out" / "langid" / old)
    changed = attempt_runner(sample_spec([stages[0], {**stages[1], "languages": ["en"]}]), tmp_path / "out", spark)
    results = changed.run_all()
    assert [r.skipped for r in results] == [True, False]
    new = json.loads((tmp_path / "out" / "langid" / "_COMPLETE").read_text())["attempt"]
    assert new != old
    assert {p.name for p in (tmp_path / "out" / "langid").iterdir()} == {new, "_COMPLETE"}
    assert changed.ledger()["balanced"]


def test_attempt_protocol_runs_sink_stages(spark, tmp_path):
    runner = attempt_runner(sample_spec([STAGES[0], STAGES[3], STAGES[4]]), tmp_path / "out", spark)
    runner.run_all()
    tokenize = runner.stage_output("tokenize")
    assert tokenize.name.startswith("_attempt-")
    manifest = json.loads((tokenize / "tokens" / "manifest.json").read_text())
    assert manifest["documents"] > 0
    assert runner.read_stats("tokenize")["tokens_dir"] == str(tokenize / "tokens")


def test_scheme_without_a_spark_connector_fails_in_one_line_before_writing(spark, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = PipelineRunner(sample_spec(STAGES[:1]), output="s3://curator-test-bucket/runs/x", spark=spark)
    with pytest.raises(UnsupportedSchemeError) as error:
        runner.run_all()
    message = str(error.value)
    assert "s3a://" in message and "hadoop-aws" in message and "\n" not in message
    assert os.listdir(tmp_path) == []  # no folder named "s3:"
