"""``curator train CONFIG [section.field=value ...] [--resume]`` (registered by curator.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def train_command(
    config: Path = typer.Argument(..., help="training YAML, e.g. configs/train/train_debug.yaml"),
    overrides: Optional[list[str]] = typer.Argument(None, help="overrides like optim.lr=3e-4 max_steps=100"),
    resume: bool = typer.Option(False, "--resume", help="continue from the latest checkpoint in the checkpoint dir"),
    resume_from: Optional[Path] = typer.Option(None, "--resume-from", help="continue from this checkpoint file"),
    stop_after: Optional[int] = typer.Option(None, "--stop-after", help="stop after this step with a checkpoint "
                                             "(train in slices; the schedule still spans max_steps)"),
    allow_schedule_change: bool = typer.Option(False, "--allow-schedule-change", help="resume even though the "
                                               "config's learning-rate schedule differs from the checkpoint's"),
    overwrite: bool = typer.Option(False, "--overwrite", help="start a new run in an output folder that holds one "
                                   "(deletes its checkpoints and metrics.jsonl)"),
) -> None:
    """Train the bundled GPT on token shards. Under torchrun every rank runs this same command."""
    from curator.trainer.config import load_config
    from curator.trainer.loop import train

    cfg = load_config(config, overrides or [])
    result = train(cfg, resume=resume_from or resume, stop_after=stop_after,
                   allow_schedule_change=allow_schedule_change, overwrite=overwrite)
    if result.last_checkpoint is not None:
        typer.echo(f"checkpoint: {result.last_checkpoint}", err=True)


def register(app) -> None:
    """Add ``curator train`` to the top-level Typer app."""
    app.command("train", context_settings={"allow_extra_args": False})(train_command)
