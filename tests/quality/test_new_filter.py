"""A new rule family is one class and one YAML: it runs through the quality stage with no other edit."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from curator.quality.stage import QualityConfig, QualityStage
from curator.stage import run_batch_stage
from tests.quality.docs import prose
from tests.quality.shouting_filter import ShoutingFilter


@pytest.fixture
def shouting_yaml(tmp_path):
    path = tmp_path / "shouting.yaml"
    path.write_text("family: tests.quality.shouting_filter:ShoutingFilter\nmax_upper_ratio: 0.6\n")
    return path


def test_fixture_family_runs_through_the_stage(shouting_yaml):
    config = QualityConfig(filters=[str(shouting_yaml), "gopher_quality"], keep_signals=True, language="en")
    assert isinstance(config.filters[0], ShoutingFilter) and config.filters[0].max_upper_ratio == 0.6
    stage = QualityStage(config)
    text = prose()
    kept, rejected = run_batch_stage(stage, [{"id": "calm", "text": text}, {"id": "loud", "text": text.upper()}])
    assert [r["id"] for r in kept] == ["calm"]
    assert rejected[0]["reason"] == "shouting_upper_ratio"
    assert rejected[0]["reason_detail"].startswith("shouting_upper_ratio=")
    assert kept[0]["quality_shouting_upper_ratio"] < 0.1 and rejected[0]["quality_shouting_upper_ratio"] > 0.9
    # the validated config round-trips through its dump (completion markers, worker caches)
    assert QualityConfig.model_validate(config.model_dump()) == config
    assert "max_upper_ratio" in config.model_dump_json()


def test_fixture_family_is_strict(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: tests.quality.shouting_filter:ShoutingFilter\nmax_upper_ratioo: 0.6\n")
    with pytest.raises(ValidationError, match="max_upper_ratioo"):
        QualityConfig(filters=[str(bad)])
    with pytest.raises(ValidationError, match="unknown filter family 'nosuch'"):
        QualityConfig(filters=[{"family": "nosuch"}])
    with pytest.raises(ValidationError, match="not a QualityFilter"):
        QualityConfig(filters=[{"family": "tests.quality.docs:prose"}])


@pytest.mark.spark
def test_fixture_family_runs_in_a_spark_pipeline(spark, shouting_yaml, tmp_path):
    """The same family named from a pipeline spec: Spark workers import it and the ledger balances."""
    from curator.spark.runner import PipelineRunner
    from curator.specs import load_pipeline

    text = prose()
    docs = [{"id": "calm", "text": text}, {"id": "loud", "text": text.upper()}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    spec = tmp_path / "spec.yaml"
    spec.write_text(json.dumps({
        "name": "shouting", "input": {"paths": [str(tmp_path / "in.jsonl")]}, "output": str(tmp_path / "out"),
        "spark": {"master": "local[2]"},
        "stages": [{"stage": "ingest"}, {"stage": "quality", "filters": [str(shouting_yaml)], "language": "en"}]}))
    runner = PipelineRunner(load_pipeline(spec))
    for name in ("ingest", "quality"):
        result = runner.run_stage(name)
    assert result.stats["in"] == 2 and result.stats["kept"] == 1
    assert result.stats["rejected"] == {"shouting_upper_ratio": 1}
    kept = spark.read.parquet(str(tmp_path / "out" / "quality" / "data")).collect()
    assert [r["id"] for r in kept] == ["calm"]
    assert runner.write_ledger()["balanced"]
