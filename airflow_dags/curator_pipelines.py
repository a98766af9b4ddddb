"""Airflow DAGs for curator: one DAG, ``curator_<name>``, per spec in pipelines/ with ``airflow: {enabled: true}``.

Thin on purpose: the tasks are built from the spec by ``curator.orchestration.airflow``; see airflow_dags/README.md.
"""

from pathlib import Path

from curator.orchestration.airflow import dags_for_pipelines


globals().update(dags_for_pipelines(repo_root=Path(__file__).resolve().parent.parent))
