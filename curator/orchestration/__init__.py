"""Orchestration: scheduling curator pipelines from Airflow.

``curator.orchestration.checks`` holds the run checks that an orchestrator calls after the stages (no Airflow
import). ``curator.orchestration.airflow`` builds Airflow DAGs from pipeline specs and needs the ``airflow`` extra.
"""
