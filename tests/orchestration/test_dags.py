"""The shipped DAG files import cleanly, and every DAG's tasks follow its pipeline spec."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from curator.errors import SpecError
from curator.specs import load_pipeline
from curator.trainer.config import parse_overrides
from tests.orchestration.conftest import REPO_ROOT, write_tiny_spec


pytest.importorskip("airflow.providers.apache.spark")

from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator  # noqa: E402
from airflow.providers.standard.operators.bash import BashOperator  # noqa: E402
from airflow.providers.standard.operators.python import PythonOperator  # noqa: E402

from curator.orchestration.airflow import (  # noqa: E402
    LEDGER_TASK_ID,
    RUN_DIR_TEMPLATE,
    SPARK_CONN_ID,
    TRAIN_TASK_ID,
    CuratorSparkSubmitOperator,
    build_dag,
    dags_for_pipelines,
    opted_in_specs,
)


pytestmark = pytest.mark.airflow
SHIPPED_DAGS = REPO_ROOT / "airflow_dags"


def task_chain(dag) -> list:
    """The DAG's tasks from its single root to its single leaf; fails unless the DAG is one straight chain."""
    roots = dag.roots
    assert len(roots) == 1, f"expected one root, got {[t.task_id for t in roots]}"
    chain, task = [], roots[0]
    while True:
        chain.append(task)
        downstream = list(task.downstream_list)
        assert len(downstream) <= 1, f"{task.task_id} fans out to {[t.task_id for t in downstream]}"
        if not downstream:
            break
        task = downstream[0]
    assert len(chain) == len(dag.tasks), "some tasks are not on the chain"
    return chain


@pytest.fixture(scope="module")
def shipped_dagbag():
    saved = os.environ.pop("CURATOR_PIPELINES_DIR", None)
    try:
        yield DagBag(dag_folder=str(SHIPPED_DAGS))
    finally:
        if saved is not None:
            os.environ["CURATOR_PIPELINES_DIR"] = saved


def test_every_dag_file_imports_without_errors(shipped_dagbag):
    dag_files = sorted(SHIPPED_DAGS.glob("*.py"))
    assert dag_files and all(p.name.startswith("curator_") for p in dag_files)
    assert shipped_dagbag.import_errors == {}
    assert {Path(dag.fileloc).name for dag in shipped_dagbag.dags.values()} <= {p.name for p in dag_files}
    assert shipped_dagbag.size() >= 1


def test_one_dag_per_opted_in_spec(shipped_dagbag):
    opted_in = opted_in_specs(REPO_ROOT / "pipelines")
    assert REPO_ROOT / "pipelines" / "demo.yaml" in opted_in
    expected = {f"curator_{load_pipeline(p).name}" for p in opted_in}
    assert set(shipped_dagbag.dag_ids) == expected


@pytest.mark.parametrize("spec_path", opted_in_specs(REPO_ROOT / "pipelines"), ids=lambda p: p.stem)
def test_tasks_and_their_order_match_the_spec(shipped_dagbag, spec_path):
    spec = load_pipeline(spec_path)
    dag = shipped_dagbag.dags[f"curator_{spec.name}"]
    chain = task_chain(dag)
    expected_ids = [*spec.stage_names, LEDGER_TASK_ID, *([TRAIN_TASK_ID] if spec.airflow.train else [])]
    assert [t.task_id for t in chain] == expected_ids

    for task, stage in zip(chain, spec.stages):
        assert isinstance(task, SparkSubmitOperator)
        assert task.application == str(REPO_ROOT / "pipelines" / "curate.py")
        assert task.application_args == [str(spec_path.resolve()), "--stage", stage.name, "--output", RUN_DIR_TEMPLATE]
        assert task._conn_id == SPARK_CONN_ID
        assert task.fallback_master == spec.spark.master
        assert task.retries >= 1, "stages are idempotent: a failed Spark job should be retried"
    ledger_task = chain[len(spec.stages)]
    assert isinstance(ledger_task, PythonOperator)
    assert ledger_task.op_kwargs == {"spec_path": str(spec_path.resolve()), "output": RUN_DIR_TEMPLATE}
    assert dag.schedule == spec.airflow.schedule
    output = Path(spec.output or f"runs/{spec.name}")
    assert dag.params["output_root"] == str(output if output.is_absolute() else REPO_ROOT / output)
    assert dag.params["run_date"] is None


def write_tokenizing_spec(folder: Path, airflow_block: str) -> Path:
    """The tiny pipeline plus the two sink stages (tokenizer training, tokenize) that training needs."""
    spec_path = write_tiny_spec(folder, "with_training", folder / "out", airflow_block=airflow_block)
    sinks = ("  - {stage: train_tokenizer, recipe: bpe_demo}\n"
             "  - {stage: tokenize, name: tok, tokenizer_stage: train_tokenizer}\n")
    spec_path.write_text(spec_path.read_text() + sinks)
    return spec_path


def test_sinks_then_ledger_check_then_training(tmp_path):
    spec_path = write_tokenizing_spec(
        tmp_path, "{enabled: true, schedule: '@weekly', train: true, train_config: configs/train/train_debug.yaml}")
    dag = build_dag(spec_path, repo_root=REPO_ROOT)
    chain = task_chain(dag)
    assert [t.task_id for t in chain] == ["ingest", "langid", "train_tokenizer", "tok", LEDGER_TASK_ID, TRAIN_TASK_ID]
    assert all(isinstance(t, SparkSubmitOperator) for t in chain[:4])
    train = chain[-1]
    assert isinstance(train, BashOperator)
    assert train.env["CURATOR_RUN_DIR"] == RUN_DIR_TEMPLATE and train.append_env
    assert train.cwd == str(REPO_ROOT)
    assert dag.schedule == "@weekly"
    assert dag.params["output_root"] == str(tmp_path / "out")


def test_training_command_hands_the_runs_tokens_to_the_launch_script(tmp_path):
    """Run the training task's real shell command against a stand-in launch script that records its arguments."""
    repo = tmp_path / "repo"
    (repo / "pipelines").mkdir(parents=True)
    (repo / "pipelines" / "curate.py").write_text("")
    (repo / "pipelines" / "launch_train.sh").write_text('printf "%s\\n" "$@" > "$ARGS_FILE"\n')
    spec_path = write_tokenizing_spec(tmp_path, "{enabled: true, train: true, train_config: my train.yaml}")
    train = build_dag(spec_path, repo_root=repo).get_task(TRAIN_TASK_ID)
    run_dir = tmp_path / "out" / "2026-01-02"
    args_file = tmp_path / "args.txt"
    subprocess.run(["bash", "-c", train.bash_command], check=True, cwd=train.cwd,
                   env={**os.environ, "CURATOR_RUN_DIR": str(run_dir), "ARGS_FILE": str(args_file)})
    config, *overrides, flag = args_file.read_text().splitlines()
    assert config == str(repo / "my train.yaml") and flag == "--resume"
    # The trainer parses the overrides into this run's token folder and output folder.
    assert parse_overrides(overrides) == {"data": {"folders": [str(run_dir / "tok" / "tokens")]},
                                          "output_dir": str(run_dir / "train")}


def test_only_specs_that_opt_in_get_a_dag(tmp_path):
    write_tiny_spec(tmp_path, "wanted", tmp_path / "out_a")
    write_tiny_spec(tmp_path, "not_wanted", tmp_path / "out_b", airflow_block="{enabled: false}")
    # Not opted in, so never validated: a spec still being written cannot break the other DAGs.
    (tmp_path / "draft.yaml").write_text("name: draft\nstages: [{stage: no_such_stage}]\n")
    (tmp_path / "list.yaml").write_text("- not a spec\n")
    assert list(dags_for_pipelines(REPO_ROOT, pipelines_dir=tmp_path)) == ["curator_wanted"]


@pytest.mark.parametrize("text, message", [
    ("name: broken\ninput: {paths: [x.jsonl]}\nairflow: {enabled: true}\nstages: [{stage: no_such_stage}]\n",
     "no_such_stage"),
    ("name: broken\nairflow: {enabled: true\n", "not valid YAML"),
])
def test_an_opted_in_spec_that_fails_validation_is_an_import_error(tmp_path, text, message):
    (tmp_path / "broken.yaml").write_text(text)
    with pytest.raises(SpecError, match=message):
        dags_for_pipelines(REPO_ROOT, pipelines_dir=tmp_path)


@pytest.mark.parametrize("airflow_block, stage_name, message", [
    ("{enabled: true, train: true}", "langid", "train_config is not set"),
    ("{enabled: true, train: true, train_config: c.yaml}", "langid", "exactly one tokenize stage"),
    ("{enabled: true}", "check_ledger", "reserved for Airflow tasks"),
])
def test_specs_the_dag_cannot_honour_are_refused(tmp_path, airflow_block, stage_name, message):
    spec_path = write_tiny_spec(tmp_path, "refused", tmp_path / "out", airflow_block=airflow_block)
    spec_path.write_text(spec_path.read_text().replace("{stage: langid,", f"{{stage: langid, name: {stage_name},"))
    with pytest.raises(SpecError, match=message):
        build_dag(spec_path, repo_root=REPO_ROOT)


def test_spark_master_comes_from_the_connection_else_from_the_spec(monkeypatch):
    task = CuratorSparkSubmitOperator(task_id="t", application="app.py", conn_id=SPARK_CONN_ID,
                                      fallback_master="local[3]")
    monkeypatch.delenv("AIRFLOW_CONN_CURATOR_SPARK", raising=False)
    assert task._get_hook()._connection["master"] == "local[3]"
    assert "AIRFLOW_CONN_CURATOR_SPARK" not in os.environ, "the fallback must not leak"

    monkeypatch.setenv("AIRFLOW_CONN_CURATOR_SPARK", "spark://spark-master.internal:7077")
    assert task._get_hook()._connection["master"] == "spark://spark-master.internal:7077"
