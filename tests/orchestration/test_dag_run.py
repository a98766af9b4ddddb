"""End to end: Airflow's ``dag.test()`` runs the DAG's tasks, each stage a real ``spark-submit`` on local Spark."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest

from curator.spark.runner import LEDGER, MARKER
from tests.orchestration.conftest import DAGS_FOLDER, ENGLISH_IDS, REPO_ROOT, TINY_DOCS, write_tiny_spec


pytest.importorskip("airflow.providers.apache.spark")

from airflow.dag_processing.dagbag import DagBag  # noqa: E402


pytestmark = [pytest.mark.airflow, pytest.mark.spark]
LOGICAL_DATE = datetime(2026, 1, 2, tzinfo=timezone.utc)
ALL_IDS = {d["id"] for d in TINY_DOCS}


def ids_in(folder) -> list[str]:
    return pq.read_table(folder).column("id").to_pylist()


def task_states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def assert_finished_run(run_dir) -> None:
    """Both stages wrote kept and rejected rows, a completion marker, and the ledger balances."""
    assert sorted(ids_in(run_dir / "ingest" / "data")) == sorted(ALL_IDS)
    assert pq.read_table(run_dir / "ingest" / "rejected").column("reason").to_pylist() == ["malformed_json"]
    assert set(ids_in(run_dir / "langid" / "data")) == ENGLISH_IDS
    langid_rejected = pq.read_table(run_dir / "langid" / "rejected")
    assert set(langid_rejected.column("id").to_pylist()) == ALL_IDS - ENGLISH_IDS
    assert set(langid_rejected.column("reason").to_pylist()) == {"lid_wrong_language"}
    assert (run_dir / "ingest" / MARKER).is_file() and (run_dir / "langid" / MARKER).is_file()
    ledger = json.loads((run_dir / LEDGER).read_text())
    assert (ledger["input"], ledger["kept"], ledger["rejected_total"], ledger["balanced"]) == (5, 2, 3, True)
    assert [row["stage"] for row in ledger["stages"]] == ["ingest", "langid"]


def test_shipped_dag_file_runs_a_demo_like_pipeline_with_spark_submit(tmp_path, airflow_db, spark_submit_env,
                                                                      monkeypatch):
    pipelines = tmp_path / "pipelines"
    write_tiny_spec(pipelines, "e2e", tmp_path / "runs")
    monkeypatch.setenv("CURATOR_PIPELINES_DIR", str(pipelines))
    # The shipped DAG file itself, seen through the test dags folder; it finds the repository through the link.
    dag_file = DAGS_FOLDER / "curator_pipelines.py"
    dag_file.symlink_to(REPO_ROOT / "airflow_dags" / "curator_pipelines.py")
    try:
        dagbag = DagBag(dag_folder=str(dag_file))
        assert dagbag.import_errors == {}
        dag_run = dagbag.dags["curator_e2e"].test(logical_date=LOGICAL_DATE)
    finally:
        dag_file.unlink()

    assert task_states(dag_run) == {"ingest": "success", "langid": "success", "check_ledger": "success"}
    assert str(dag_run.state) == "success"
    # No run_date param: the run folder is named after the logical date.
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["2026-01-02"]
    assert_finished_run(tmp_path / "runs" / "2026-01-02")


def test_rerun_after_a_failed_stage_does_not_redo_finished_stages(tmp_path, airflow_db, spark_submit_env,
                                                                  monkeypatch):
    spec_path = write_tiny_spec(tmp_path / "spec", "rerun", tmp_path / "runs")
    # This time the Spark connection exists (as an environment-variable connection).
    monkeypatch.setenv("AIRFLOW_CONN_CURATOR_SPARK", json.dumps({"conn_type": "spark", "host": "local[1]"}))
    dag_file = DAGS_FOLDER / "curator_rerun_test.py"
    dag_file.write_text(  # no Airflow retries, so the failure ends the first run
        "from curator.orchestration.airflow import build_dag\n\n"
        f"dag = build_dag({str(spec_path)!r}, repo_root={str(REPO_ROOT)!r}, retries=0)\n"
    )
    run_dir = tmp_path / "runs" / "attempt"
    run_dir.mkdir(parents=True)
    # langid fails once: a stray file sits where its output folder has to go.
    obstacle = run_dir / "langid"
    obstacle.write_text("not a folder")
    try:
        dag = DagBag(dag_folder=str(dag_file)).dags["curator_rerun"]
        first = dag.test(logical_date=LOGICAL_DATE, run_conf={"run_date": "attempt"})
        assert task_states(first) == {"ingest": "success", "langid": "failed", "check_ledger": "upstream_failed"}
        assert str(first.state) == "failed"
        assert (run_dir / "ingest" / MARKER).is_file() and obstacle.is_file()
        ingest_files = {p: p.stat().st_mtime_ns for p in (run_dir / "ingest").rglob("*")}
        ingest_marker = (run_dir / "ingest" / MARKER).read_text()

        obstacle.unlink()
        second = dag.test(logical_date=LOGICAL_DATE, run_conf={"run_date": "attempt"})
    finally:
        dag_file.unlink()

    assert task_states(second) == {"ingest": "success", "langid": "success", "check_ledger": "success"}
    assert str(second.state) == "success"
    # The ingest task ran again, but its stage was skipped: same marker (it holds the finish time), same files.
    assert (run_dir / "ingest" / MARKER).read_text() == ingest_marker
    assert {p: p.stat().st_mtime_ns for p in (run_dir / "ingest").rglob("*")} == ingest_files
    assert_finished_run(run_dir)
