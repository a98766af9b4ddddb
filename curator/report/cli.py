"""``curator report RUN_DIR`` and ``curator show RUN_DIR STAGE`` (registered by curator.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _session(master: str | None, app_name: str):
    from curator.spark.session import get_session
    from curator.specs import SparkSpec

    return get_session(SparkSpec(master=master or "local[*]", app_name=app_name))


def _small_run(run_dir: Path) -> bool:
    """A run of at most ``spark.driver_max_documents`` input documents: read here with pyarrow, no Spark needed."""
    from curator.report.run import read_run
    from curator.specs import SparkSpec

    documents = (read_run(run_dir).ledger or {}).get("input")
    return documents is not None and documents <= SparkSpec().driver_max_documents


def register(app) -> None:
    """Add this subpackage's commands to the top-level Typer app."""

    @app.command("report")
    def report(
        run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="output root of a run, e.g. runs/demo"),
        seed: int = typer.Option(0, "--seed", help="seed of the example documents' selection"),
        master: Optional[str] = typer.Option(None, "--master", help="Spark master (default local[*]; without it a "
                                             "run of at most spark.driver_max_documents inputs is reported without "
                                             "Spark)"),
    ):
        """Write report.html, report.md and report.json of a run from its written outputs."""
        from rich.console import Console

        from curator.cli import print_report_path
        from curator.errors import CuratorError
        from curator.progress import SparkProgress
        from curator.report import write_reports
        from curator.report.run import read_run

        console = Console(stderr=True)
        run = read_run(run_dir)
        if not run.stages:
            raise CuratorError(f"{run_dir} holds no completed stage (no <stage>/stats.json with a _COMPLETE marker)")
        if master is None and _small_run(run_dir):
            # A small run's figures are computed here over Arrow tables, as `curator run` does (no Spark start).
            path = write_reports(run_dir, seed=seed, in_process=True)
        else:
            spark = _session(master, "curator-report")
            with SparkProgress(spark, "report", out=console):
                path = write_reports(run_dir, spark=spark, seed=seed)
        print_report_path(path)

    @app.command("show")
    def show(
        run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="output root of a run, e.g. runs/demo"),
        stage: str = typer.Argument(..., metavar="STAGE", help="a document stage of the run (langid, quality, ...)"),
        rejected: bool = typer.Option(False, "--rejected", help="show rejected documents instead of kept ones"),
        reason: Optional[str] = typer.Option(None, "--reason", help="only this rejection reason (implies --rejected)"),
        lang: Optional[str] = typer.Option(None, "--lang", help="only documents with this `lang`"),
        n: int = typer.Option(5, "-n", "--number", min=1, help="how many documents"),
        seed: int = typer.Option(0, "--seed", help="another seed shows other documents"),
        chars: int = typer.Option(1000, "--chars", min=0, help="cut texts after this many characters (0 = whole)"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object per line on stdout (for scripts)"),
        master: Optional[str] = typer.Option(None, "--master", help="Spark master (default local[*]; without it a "
                                             "small run is read without Spark)"),
    ):
        """Print a seeded sample of a stage's documents with their annotations."""
        from rich.console import Console

        from curator.errors import CuratorError
        from curator.report.show import documents_json, render_documents, sample_documents

        if not run_dir.is_dir():
            raise CuratorError(f"no run folder at {run_dir}")
        spark = None if master is None and _small_run(run_dir) else _session(master, "curator-show")
        documents = sample_documents(spark, run_dir, stage, rejected=rejected, reason=reason, lang=lang, n=n,
                                     seed=seed, max_chars=chars or None)
        if as_json:
            print(documents_json(documents))
            return
        side = "rejected" if rejected or reason else "kept"
        title = f"{stage} {side}" + (f" reason={reason}" if reason else "") + (f" lang={lang}" if lang else "")
        render_documents(documents, Console(), f"{title} (seed {seed})")
