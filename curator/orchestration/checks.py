"""Checks an orchestrator runs once every stage has reported success; plain Python, no Airflow import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curator.errors import CuratorError
from curator.spark.runner import PipelineRunner
from curator.specs import load_pipeline


def verify_run(spec_path: str | Path, output: str | Path) -> dict[str, Any]:
    """Check that every stage of the spec completed under ``output`` for this exact spec, and that the ledger balances.

    Rewrites ``ledger.json`` and ``report.md`` like ``curator ledger`` and returns the ledger. Raises
    :class:`CuratorError` naming the unfinished stages, or :class:`LedgerError` when input != kept + rejected.
    Reads only the stages' ``stats.json`` and markers: no Spark session is started.
    """
    runner = PipelineRunner(load_pipeline(spec_path), output=str(output))
    unfinished = [name for name in runner.spec.stage_names if not runner.is_complete(name)]
    if unfinished:
        raise CuratorError(
            f"run {runner.root} is not complete for spec {spec_path}: stages without a matching completion marker: "
            f"{', '.join(unfinished)}"
        )
    return runner.write_ledger()
