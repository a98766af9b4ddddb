"""The run report: ``report.md`` (text), ``report.html`` (self-contained, static SVG charts) and ``report.json``.

:func:`write_reports` is what the stage runner and ``curator report RUN_DIR`` call. Without a Spark session it
writes ``report.md`` from the stages' ``stats.json`` alone (cheap; the runner does this after every stage); with one it
computes every figure by Spark aggregations over the written outputs and writes all three files (a small run that
never started Spark computes the same figures over Arrow tables, ``in_process``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


REPORT_HTML, REPORT_MD, REPORT_JSON = "report.html", "report.md", "report.json"


def write_reports(root: str | Path, ledger: dict[str, Any] | None = None, spark=None, seed: int = 0,
                  in_process: bool = False) -> Path:
    """Write the reports of the run under ``root``; return the path of ``report.html`` (or ``report.md``).
    ``in_process``: compute the full report's figures over Arrow tables in this process instead of with ``spark``
    (:mod:`curator.report.arrow_figures`; a small run that never started Spark)."""
    from curator.report.checks import run_warnings
    from curator.report.markdown import render_markdown
    from curator.report.run import read_run

    root = Path(root)
    run = read_run(root, ledger)
    if spark is None and not in_process:
        (root / REPORT_MD).write_text(render_markdown(run, None, run_warnings(run, None)))
        return root / REPORT_MD

    from curator.report.html import render_html

    if in_process:
        from curator.report.arrow_figures import collect_figures as collect_in_process

        figures = collect_in_process(run, seed=seed)
    else:
        from curator.report.figures import collect_figures

        figures = collect_figures(spark, run, seed=seed)
    warnings = run_warnings(run, figures)
    generated = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    payload = {"root": str(root), "generated": generated, "ledger": run.ledger, "warnings": warnings, **figures}
    (root / REPORT_JSON).write_text(json.dumps(payload, indent=1, ensure_ascii=False, default=str))
    (root / REPORT_MD).write_text(render_markdown(run, figures, warnings))
    (root / REPORT_HTML).write_text(render_html(run, figures, warnings, generated), encoding="utf-8")
    return root / REPORT_HTML


__all__ = ["REPORT_HTML", "REPORT_JSON", "REPORT_MD", "write_reports"]
