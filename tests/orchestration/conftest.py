"""Airflow test set-up: a throw-away AIRFLOW_HOME, sqlite metadata DB and dags folder for this test session.

Airflow reads its configuration when it is first imported, so the environment is set here, at collection time,
before any test module imports it; a real ``AIRFLOW_HOME`` of the developer is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_TMP = Path(tempfile.mkdtemp(prefix="curator-airflow-tests-"))
DAGS_FOLDER = AIRFLOW_TMP / "dags"
DAGS_FOLDER.mkdir()
os.environ.update({
    "AIRFLOW_HOME": str(AIRFLOW_TMP / "home"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
})

# Tiny inline corpus: four languages, one malformed line. With `languages: [en]` langid keeps the two English ones.
TINY_DOCS = [
    {"id": "en-1", "text": "The quick brown fox jumps over the lazy dog near the river bank this morning."},
    {"id": "de-1", "text": "Der schnelle braune Fuchs springt heute Morgen über den faulen Hund am Flussufer."},
    {"id": "fr-1", "text": "Le renard brun rapide saute par-dessus le chien paresseux au bord de la rivière."},
    {"id": "en-2", "text": "Curated pretraining data is filtered, deduplicated and tokenized before training."},
]
MALFORMED_LINE = '{"id": "broken", "text": "no closing brace"'
ENGLISH_IDS = {"en-1", "en-2"}


@pytest.fixture(scope="session", autouse=True)
def _remove_airflow_tmp():
    yield
    shutil.rmtree(AIRFLOW_TMP, ignore_errors=True)


def write_tiny_spec(folder: Path, name: str, output: Path, *, airflow_block: str = "{enabled: true}") -> Path:
    """A two-stage pipeline (ingest, langid) over the tiny corpus, Spark in local[1], written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / f"{name}.jsonl"
    corpus.write_text("\n".join([*(json.dumps(d) for d in TINY_DOCS), MALFORMED_LINE]) + "\n")
    spec = folder / f"{name}.yaml"
    spec.write_text(
        f"name: {name}\n"
        f"input: {{paths: [{corpus}]}}\n"
        f"output: {output}\n"
        "spark: {master: 'local[1]', conf: {spark.sql.shuffle.partitions: 2, spark.driver.memory: 1g}}\n"
        f"airflow: {airflow_block}\n"
        "stages:\n"
        "  - stage: ingest\n"
        "  - {stage: langid, languages: [en], min_score: 0.3}\n"
    )
    return spec


@pytest.fixture
def spark_submit_env(monkeypatch):
    """What a worker needs to run spark-submit locally: the venv's spark-submit on PATH, Spark bound to loopback."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    monkeypatch.delenv("AIRFLOW_CONN_CURATOR_SPARK", raising=False)


@pytest.fixture(scope="session")
def airflow_db():
    """A fresh sqlite metadata DB, created once per session (dag.test() records runs in it)."""
    pytest.importorskip("airflow.providers.apache.spark")
    from airflow.utils import db

    db.initdb()
