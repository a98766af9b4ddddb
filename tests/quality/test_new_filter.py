"""A new rule family is one class and one YAML: it runs through the quality stage with no other edit."""

from __future__ import annotations

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
