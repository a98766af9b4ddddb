"""Every shipped pipeline spec validates; bad specs fail naming the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.errors import SpecError
from curator.specs import load_pipeline


PIPELINES = sorted((Path(__file__).resolve().parent.parent / "pipelines").glob("*.yaml"))
PIPELINE_SPECS = [p for p in PIPELINES if "stages:" in p.read_text()]


@pytest.mark.parametrize("path", PIPELINE_SPECS, ids=lambda p: p.name)
def test_shipped_pipeline_specs_validate(path):
    spec = load_pipeline(path)
    assert spec.stages[0].stage == "ingest"
    for stage in spec.stages:
        stage.build()  # every stage class constructs from its validated config


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


BASE = "name: x\ninput: {paths: [a.jsonl]}\n"


@pytest.mark.parametrize("body, message", [
    ("stages:\n  - stage: ingest\n  - {stage: langid, min_score: 1.5}\n", r"stages\[1\] \(langid\)\.min_score"),
    ("stages:\n  - stage: ingest\n  - {stage: langid, min_scor: 0.5}\n", r"stages\[1\] \(langid\)\.min_scor"),
    ("stages:\n  - stage: ingest\n  - stage: nosuch\n", r"unknown stage 'nosuch'"),
    ("stages:\n  - stage: langid\n", "first stage must be 'ingest'"),
    ("stages:\n  - stage: ingest\n  - stage: ingest\n", "stage names must be unique"),
    ("stages: []\n", "stages"),
    ("stages:\n  - stage: ingest\nspark: {mastr: x}\n", r"spark\.mastr"),
])
def test_invalid_specs_name_the_field(tmp_path, body, message):
    with pytest.raises(SpecError, match=message):
        load_pipeline(write(tmp_path, BASE + body))


def test_missing_and_non_mapping_specs(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_pipeline(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="mapping"):
        load_pipeline(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(SpecError, match=r"input"):
        load_pipeline(write(tmp_path, "name: x\nstages: [ingest]\n"))
