"""``curator quality ...`` commands (registered by curator.cli). Heavy imports stay inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


quality_app = typer.Typer(no_args_is_help=True, help="Quality filtering: train the fastText quality classifier.")


@quality_app.command("train")
def train(
    output: Path = typer.Option(..., "--output", "-o", help="model file to write (.ftz when quantized)"),
    positive: List[str] = typer.Option([], "--positive", help="PATH or PATH::FIELD of positive (good) examples"),
    negative: List[str] = typer.Option([], "--negative", help="PATH or PATH::FIELD of negative examples"),
    labelled: List[str] = typer.Option([], "--labelled", help="PATH or PATH::FIELD whose rows carry a label column"),
    label_column: str = typer.Option("label", help="label column of --labelled inputs"),
    positive_labels: str = typer.Option("", help="comma-separated label values that are positive"),
    negative_labels: str = typer.Option("", help="comma-separated label values that are negative"),
    text_field: str = typer.Option("text", help="default text field (a field may hold a list of texts)"),
    strip_email_headers: bool = typer.Option(False, help="drop the RFC-822 header block of mail messages"),
    chunk_chars: int = typer.Option(2000, help="split longer texts into pieces of about this size"),
    max_examples_per_input: Optional[int] = typer.Option(None, help="sample at most N rows from each input"),
    holdout_fraction: float = typer.Option(0.1, help="fraction of source rows held out for evaluation"),
    epoch: int = typer.Option(10), lr: float = typer.Option(0.2), dim: int = typer.Option(64),
    word_ngrams: int = typer.Option(2), min_count: int = typer.Option(2),
    seed: int = typer.Option(1),
    quantize: bool = typer.Option(True, help="quantize (a small .ftz) after training"),
    threads: int = typer.Option(2),
):
    """Train a fastText quality classifier; print held-out precision/recall/AUC; write OUTPUT and OUTPUT.json."""
    from rich.console import Console

    from curator.errors import CuratorError
    from curator.quality.classifier import InputSpec, TrainParams, train_classifier

    pos_labels = tuple(x for x in positive_labels.split(",") if x)
    neg_labels = tuple(x for x in negative_labels.split(",") if x)
    if labelled and not (pos_labels or neg_labels):
        raise CuratorError("--labelled inputs need --positive-labels and/or --negative-labels")
    inputs = ([InputSpec.parse(p, "pos", text_field) for p in positive]
              + [InputSpec.parse(p, "neg", text_field) for p in negative]
              + [InputSpec.parse(p, None, text_field, label_column=label_column, positive_labels=pos_labels,
                                 negative_labels=neg_labels) for p in labelled])
    if not inputs:
        raise CuratorError("give training data with --positive/--negative and/or --labelled")
    params = TrainParams(epoch=epoch, lr=lr, dim=dim, word_ngrams=word_ngrams, min_count=min_count, seed=seed,
                         holdout_fraction=holdout_fraction, chunk_chars=chunk_chars,
                         max_examples_per_input=max_examples_per_input, strip_email_headers=strip_email_headers,
                         quantize=quantize)
    from curator.progress import step

    console = Console(stderr=True)
    report = train_classifier(inputs, output, params, threads=threads, show_progress=console.is_terminal,
                              phase=lambda message: step(message, console, live=False))
    console.print(f"train examples {report.train_examples}, held-out examples {report.heldout_examples}")
    console.print(f"held-out: {report.heldout}")
    console.print(f"wrote {report.model_path} ({report.model_bytes / 1e6:.2f} MB) and {report.model_path}.json")


def register(app) -> None:
    """Add this subpackage's commands to the top-level Typer app."""
    app.add_typer(quality_app, name="quality")
