"""The ``curator`` command. Thin: every command parses arguments and calls into the package.

Stage-specific commands (``quality train``, ``tokenizer train``, ``tokenize``, ``inspect``, ``train``) are registered
by the subpackages that own them, listed explicitly in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from curator.errors import CuratorError


app = typer.Typer(add_completion=False, no_args_is_help=True, help="Curate LLM pretraining data on Spark.")
console = Console(stderr=True)
COMMAND_MODULES = ("curator.quality.cli", "curator.tokenization.cli", "curator.trainer.cli", "curator.report.cli")

SpecArg = typer.Argument(..., help="pipeline spec, e.g. pipelines/demo.yaml", exists=False)
OutputOpt = typer.Option(None, "--output", "-o", help="output root (default: the spec's output, else runs/<name>)")
MasterOpt = typer.Option(None, "--master", help="Spark master URL (default: the spec's, else local[*])")
ForceOpt = typer.Option(False, "--force", help="rerun stages even when their completion marker matches")
SparkOnlyOpt = typer.Option(False, "--spark-only", help="run every stage as Spark jobs, also inputs small enough for "
                            "the driver engine and its worker processes (sets the spark.driver_max_* limits to 0)")


def _load(spec: Path, spark_only: bool):
    from curator.specs import load_pipeline

    pipeline = load_pipeline(spec)
    if not spark_only:
        return pipeline
    return pipeline.model_copy(update={"spark": pipeline.spark.spark_only()})


@app.callback()
def _options(verbose: bool = typer.Option(False, "--verbose", "-v", help="curator at INFO and Spark's own logs")):
    """Curate LLM pretraining data on Spark."""
    from curator.spark.session import set_verbose

    set_verbose(verbose)
    if verbose:
        logging.getLogger("curator").setLevel(logging.INFO)


@app.command()
def run(spec: Path = SpecArg, output: Optional[str] = OutputOpt, master: Optional[str] = MasterOpt,
        force: bool = ForceOpt, spark_only: bool = SparkOnlyOpt):
    """Run every stage of a pipeline (completed ones are skipped), then write the run report."""
    from curator.progress import StageProgress
    from curator.spark.runner import PipelineRunner

    pipeline = _load(spec, spark_only)
    runner = PipelineRunner(pipeline, output=output, master=master, progress=StageProgress(console))
    with runner.locked():  # one lock for the whole run: no other run slips in between two stages
        runner.run_all(force=force)
        ledger = runner.write_ledger()
    _print_ledger(ledger, runner.root)
    report = runner.write_report()
    print_report_path(report)


def print_report_path(report: Path) -> None:
    """The run's warnings (from ``report.json``) and where its report is: the last lines of a run."""
    from curator.report import REPORT_JSON

    summary = report.parent / REPORT_JSON
    for warning in json.loads(summary.read_text()).get("warnings", []) if summary.exists() else []:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(f"[bold]report:[/bold] {report.resolve()}", soft_wrap=True)  # one line: easy to copy


@app.command()
def stage(spec: Path = SpecArg, stage_name: str = typer.Argument(..., metavar="STAGE", help="stage name in the spec"),
          output: Optional[str] = OutputOpt, master: Optional[str] = MasterOpt, force: bool = ForceOpt,
          spark_only: bool = SparkOnlyOpt):
    """Run one stage (what spark-submit and Airflow call). Its upstream stage must be complete."""
    from curator.progress import StageProgress
    from curator.spark.runner import PipelineRunner

    pipeline = _load(spec, spark_only)
    runner = PipelineRunner(pipeline, output=output, master=master, progress=StageProgress(console))
    runner.run_stage(stage_name, force=force)


@app.command()
def validate(specs: list[Path] = typer.Argument(..., help="pipeline spec files")):
    """Validate pipeline specs and print their stages; report every bad file, then exit 1 naming every bad field."""
    from curator.specs import load_pipeline

    invalid = 0
    for path in specs:
        try:
            pipeline = load_pipeline(path)
        except CuratorError as e:
            invalid += 1
            console.print(f"[red]invalid[/red] {path}: {e}")
            continue
        console.print(f"[green]ok[/green] {path}: pipeline {pipeline.name!r}, stages: "
                      + " -> ".join(f"{s.name}({s.stage})" if s.name != s.stage else s.name for s in pipeline.stages))
    if invalid:
        raise CuratorError(f"{invalid} of {len(specs)} spec files are invalid")


@app.command()
def ledger(spec: Path = SpecArg, output: Optional[str] = OutputOpt):
    """Recompute and check the run ledger (input = kept + sum(rejected)) from completed stages."""
    from curator.spark.runner import PipelineRunner
    from curator.specs import load_pipeline

    runner = PipelineRunner(load_pipeline(spec), output=output)
    runner.require_root()
    _print_ledger(runner.write_ledger(), runner.root)


def _print_ledger(ledger: dict, root: Path) -> None:
    table = Table(title=f"ledger: {root}")
    for col in ("stage", "in", "kept", "rejected"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for row in ledger["stages"]:
        table.add_row(row["stage"], str(row["in"]), str(row["kept"]), str(sum(row["rejected"].values())))
    console.print(table)
    status = "[green]balanced[/green]" if ledger["balanced"] else "[red]NOT balanced[/red]"
    console.print(f"input {ledger['input']} = kept {ledger['kept']} + rejected {ledger['rejected_total']}: {status}")


def _print_error(message: str) -> None:
    # markup=False: paths and reasons may contain [brackets] (local[2]) that rich would eat as markup.
    console.print("[red]error:[/red] ", end="")
    console.print(message, markup=False, highlight=False, soft_wrap=True)


def _register_subcommands() -> None:
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(app)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # py4j logs every gateway call at INFO/DEBUG
    _register_subcommands()
    try:
        code = app(args=argv, standalone_mode=False)
    except CuratorError as e:
        _print_error(str(e))
        sys.exit(1)
    except OSError as e:  # a path the user gave cannot be read or written (permissions, a full disk, ...)
        _print_error(f"{e.strerror or e}: {e.filename}" if e.filename else str(e))
        sys.exit(1)
    except KeyboardInterrupt:
        _print_error("interrupted")
        sys.exit(130)
    except (typer.Exit, SystemExit) as e:
        code = getattr(e, "exit_code", getattr(e, "code", 0))
        sys.exit(code or 0)
    except Exception as e:  # click usage errors
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        if isinstance(e, click.exceptions.Abort):
            sys.exit(130)
        raise
    # Outside standalone mode typer returns a typer.Exit's code instead of exiting, and it turns Ctrl-C into
    # Exit(130): without this a run interrupted by Ctrl-C ended with status 0. (Commands here return None.)
    if code == 130:
        _print_error("interrupted")
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)
