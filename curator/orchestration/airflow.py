"""Airflow DAGs built from pipeline specs: one spark-submit task per stage, a ledger check, then optional training.

A spec opts in with an ``airflow`` block (:class:`curator.specs.AirflowSpec`)::

    airflow:
      enabled: true
      schedule: "@weekly"              # any Airflow schedule; omitted = triggered by hand only
      train: true                      # append a task that runs pipelines/launch_train.sh CONFIG
      train_config: configs/gpt.yaml   # relative to the repository root

The DAG ``curator_<name>`` is a chain::

    <stage 1> -> ... -> <stage n> -> check_ledger [-> train]

- every stage, sinks included (``train_tokenizer``, ``tokenize``), is a ``SparkSubmitOperator`` task running
  ``spark-submit pipelines/curate.py SPEC --stage NAME --output RUN_DIR``. A stage whose ``_COMPLETE`` marker
  matches the spec is skipped by the runner, so Airflow retries and whole-DAG reruns never redo finished stages;
- ``check_ledger`` verifies that every stage completed for this spec and that input = kept + rejected
  (:func:`curator.orchestration.checks.verify_run`). It runs before training so that a bad corpus costs no GPU time;
- ``train`` (when ``airflow.train`` is true) runs ``pipelines/launch_train.sh CONFIG`` on this run's tokens: it
  overrides the config's ``data.folders`` with ``RUN_DIR/<tokenize stage>/tokens`` and its ``output_dir`` with
  ``RUN_DIR/train``, and passes ``--resume``, so a retried training task continues from its last checkpoint.

``RUN_DIR`` is ``<params.output_root>/<run date>``; the run date is the ``run_date`` param when given, else the
run's logical date (``ds``), else the day it was triggered. The Spark master comes from the Airflow connection
``curator_spark``; when it does not exist, tasks fall back to the spec's own ``spark.master`` and say so in the log.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import yaml

from curator.errors import SpecError
from curator.orchestration.checks import verify_run
from curator.specs import REPO_ROOT, PipelineSpec, load_pipeline
from curator.tokenization.stage import TOKENS_SUBDIR


try:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, BaseHook, Param, chain
    from airflow.sdk.exceptions import AirflowNotFoundException
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"curator.orchestration.airflow needs Airflow 3 and its Spark provider ({e}); "
        "install them with: pip install 'lm-curator[airflow]'"
    ) from e


SPARK_CONN_ID = "curator_spark"
ENTRY_POINT = Path("pipelines") / "curate.py"
LAUNCH_SCRIPT = Path("pipelines") / "launch_train.sh"
LEDGER_TASK_ID = "check_ledger"
TRAIN_TASK_ID = "train"
PIPELINES_DIR_ENV = "CURATOR_PIPELINES_DIR"
DAG_ID_PREFIX = "curator_"
# Schedules are relative to this date; catchup is off, so it never causes a backfill.
START_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)

# Manual runs in Airflow 3 may have no logical date, so `ds` is then undefined: fall back to the trigger day.
RUN_DATE_TEMPLATE = "{{ params.run_date or (ds if ds is defined else dag_run.run_after | ds) }}"
RUN_DIR_TEMPLATE = "{{ params.output_root.rstrip('/') }}/" + RUN_DATE_TEMPLATE
_TASK_ID = re.compile(r"[A-Za-z0-9_.-]+")


class CuratorSparkSubmitOperator(SparkSubmitOperator):
    """``SparkSubmitOperator`` whose master defaults to the spec's ``spark.master`` when the connection is missing.

    The provider itself would fall back to ``yarn``, which is wrong for a pipeline written for local mode. An
    existing connection (metadata DB, environment variable or secrets backend) always wins.
    """

    def __init__(self, *, fallback_master: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fallback_master = fallback_master

    def _get_hook(self):
        if _connection_exists(self._conn_id):
            return super()._get_hook()
        self.log.warning(
            "Airflow connection %r not found: running with the spec's master %r. Create the connection "
            "(conn_type spark, host = master URL) to send the stages to a cluster.", self._conn_id,
            self.fallback_master,
        )
        # An environment-variable connection visible only while the hook resolves it; nothing else sees it.
        with _temporary_env(f"AIRFLOW_CONN_{self._conn_id.upper()}",
                            json.dumps({"conn_type": "spark", "host": self.fallback_master})):
            return super()._get_hook()


def _connection_exists(conn_id: str) -> bool:
    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


@contextmanager
def _temporary_env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def dag_id_for(spec: PipelineSpec) -> str:
    dag_id = DAG_ID_PREFIX + spec.name
    if not _TASK_ID.fullmatch(dag_id):
        raise SpecError(f"pipeline name {spec.name!r} cannot name an Airflow DAG: use letters, digits, '_', '-', '.'")
    return dag_id


def default_output_root(spec: PipelineSpec, repo_root: Path) -> str:
    """The spec's output root; a relative one is taken from the repository root, not the worker's working dir."""
    output = Path(spec.output or f"runs/{spec.name}")
    return str(output if output.is_absolute() else (repo_root / output).resolve())


def build_dag(
    spec_path: str | Path,
    *,
    repo_root: str | Path = REPO_ROOT,
    conn_id: str = SPARK_CONN_ID,
    retries: int = 2,
    retry_delay: timedelta = timedelta(minutes=2),
    pyspark_python: str | None = None,
) -> DAG:
    """Build the DAG of one pipeline spec (see the module docstring for its shape).

    ``repo_root`` holds ``pipelines/curate.py`` and ``pipelines/launch_train.sh``. ``pyspark_python`` is the Python
    that the Spark driver and executors run (default: this interpreter, which has curator installed); a spec's
    ``spark.conf`` may set ``spark.pyspark.python`` itself for a cluster with another layout.
    """
    spec = load_pipeline(spec_path)
    spec_file = str(Path(spec.source_path or spec_path).resolve())
    repo_root = Path(repo_root).resolve()
    entry_point = repo_root / ENTRY_POINT
    if not entry_point.is_file():
        raise SpecError(f"spark-submit entry point not found: {entry_point} (is repo_root={repo_root} right?)")
    reserved = {LEDGER_TASK_ID, TRAIN_TASK_ID} & set(spec.stage_names)
    if reserved:
        raise SpecError(f"{spec_file}: stage names {sorted(reserved)} are reserved for Airflow tasks; rename them")
    bad_names = [n for n in spec.stage_names if not _TASK_ID.fullmatch(n)]
    if bad_names:
        raise SpecError(f"{spec_file}: stage names {bad_names} cannot be Airflow task ids (letters, digits, _ - .)")
    if spec.airflow.train and not spec.airflow.train_config:
        raise SpecError(f"{spec_file}: airflow.train is true but airflow.train_config is not set")
    tokenize_stages = [s.name for s in spec.stages if s.stage == "tokenize"]
    if spec.airflow.train and len(tokenize_stages) != 1:
        raise SpecError(f"{spec_file}: airflow.train needs exactly one tokenize stage to train on, found "
                        f"{tokenize_stages or 'none'}")

    python = pyspark_python or sys.executable
    spark_conf = {"spark.pyspark.python": python, "spark.pyspark.driver.python": python}
    spark_conf.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in spec.spark.conf.items()})

    dag = DAG(
        dag_id=dag_id_for(spec),
        description=spec.description or f"curator pipeline {spec.name}",
        schedule=spec.airflow.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,  # two runs of one pipeline would compete for the same Spark resources
        tags=["curator", spec.name],
        default_args={"owner": "curator", "retries": retries, "retry_delay": retry_delay},
        params={
            "output_root": Param(
                default_output_root(spec, repo_root), type="string", pattern="^/",
                description="absolute folder that the Spark driver and the Airflow worker both see; "
                            "each run writes to <output_root>/<run date>",
            ),
            "run_date": Param(
                None, type=["null", "string"], pattern=r"^[A-Za-z0-9_.-]+$",
                description="name of the run folder; empty = the run's logical date (YYYY-MM-DD). Give an old "
                            "date to resume or extend that run",
            ),
        },
        doc_md=f"curator pipeline `{spec.name}` from `{spec_file}`: " + " -> ".join(spec.stage_names),
    )
    with dag:
        tasks = [
            CuratorSparkSubmitOperator(
                task_id=stage.name,
                application=str(entry_point),
                application_args=[spec_file, "--stage", stage.name, "--output", RUN_DIR_TEMPLATE],
                conn_id=conn_id,
                fallback_master=spec.spark.master,
                conf=spark_conf,
                name=f"curator-{spec.name}-{stage.name}",
                doc_md=f"stage `{stage.name}` ({stage.stage}{', sink' if stage.is_sink else ''})",
            )
            for stage in spec.stages
        ]
        tasks.append(PythonOperator(
            task_id=LEDGER_TASK_ID,
            python_callable=verify_run,
            op_kwargs={"spec_path": spec_file, "output": RUN_DIR_TEMPLATE},
            doc_md="every stage complete for this spec, and input = kept + rejected",
        ))
        if spec.airflow.train:
            config = Path(spec.airflow.train_config)
            config = config if config.is_absolute() else repo_root / config
            tokens = f"$CURATOR_RUN_DIR/{tokenize_stages[0]}/{TOKENS_SUBDIR}"
            tasks.append(BashOperator(
                task_id=TRAIN_TASK_ID,
                # The run folder arrives through the environment: Jinja must not meet shell quoting.
                bash_command=(f"bash {shlex.quote(str(repo_root / LAUNCH_SCRIPT))} {shlex.quote(str(config))} "
                              f'"data.folders=[\\"{tokens}\\"]" "output_dir=$CURATOR_RUN_DIR/train" --resume'),
                env={"CURATOR_RUN_DIR": RUN_DIR_TEMPLATE, "CURATOR_SPEC": spec_file},
                append_env=True,
                cwd=str(repo_root),  # other relative paths in the config mean what they mean from the repository
                doc_md="trains on this run's token shards through the launch script, resuming from a checkpoint",
            ))
        chain(*tasks)
    return dag


def opted_in_specs(pipelines_dir: str | Path) -> list[Path]:
    """Spec files in ``pipelines_dir`` whose ``airflow.enabled`` is true (read without validating the others).

    Other YAML files there (training configs) are skipped; a file that is not valid YAML raises, since it may be a
    spec that meant to opt in.
    """
    found = []
    for path in sorted(Path(pipelines_dir).glob("*.y*ml")):
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            raise SpecError(f"{path}: not valid YAML: {e}") from None
        airflow_block = document.get("airflow") if isinstance(document, dict) else None
        if isinstance(airflow_block, dict) and airflow_block.get("enabled") is True:
            found.append(path)
    return found


def dags_for_pipelines(
    repo_root: str | Path, pipelines_dir: str | Path | None = None, **build_kwargs
) -> dict[str, DAG]:
    """One DAG per opted-in spec, keyed by DAG id, for a DAG file to publish in its globals.

    Specs come from ``pipelines_dir``, else ``$CURATOR_PIPELINES_DIR``, else ``<repo_root>/pipelines``. An opted-in
    spec that fails validation raises, so Airflow shows it as an import error instead of silently dropping the DAG.
    """
    pipelines_dir = Path(pipelines_dir or os.environ.get(PIPELINES_DIR_ENV) or Path(repo_root) / "pipelines")
    dags: dict[str, DAG] = {}
    for path in opted_in_specs(pipelines_dir):
        dag = build_dag(path, repo_root=repo_root, **build_kwargs)
        if dag.dag_id in dags:
            raise SpecError(f"two specs in {pipelines_dir} are both named {dag.dag_id.removeprefix(DAG_ID_PREFIX)!r}")
        dags[dag.dag_id] = dag
    return dags
