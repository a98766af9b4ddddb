"""Commands owned by this subpackage (registered by curator.cli): ``tokenizer train``, ``tokenize``, ``inspect``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _session(master: str | None):
    from curator.spark.session import get_session
    from curator.specs import SparkSpec

    return get_session(SparkSpec(master=master or "local[*]", app_name="curator-tokenize"))


def register(app) -> None:
    """Add this subpackage's commands to the top-level Typer app."""
    from rich.console import Console

    console = Console(stderr=True)
    tokenizer_app = typer.Typer(no_args_is_help=True, help="Train tokenizers from tokenizers/*.yaml recipes.")
    app.add_typer(tokenizer_app, name="tokenizer")

    @tokenizer_app.command("train")
    def train(
        recipe: str = typer.Argument(..., help="recipe name in tokenizers/ (bpe_32k) or a YAML path"),
        input: list[str] = typer.Option(..., "--input", "-i", help="corpus: stage folder, Parquet or JSONL"),
        output: Path = typer.Option(..., "--output", "-o", help="artifact folder to write"),
        master: Optional[str] = typer.Option(None, "--master", help="Spark master (default local[*])"),
        force: bool = typer.Option(False, "--force", help="replace an existing artifact folder"),
    ):
        """Sample the corpus on Spark and train the recipe's tokenizer on the driver."""
        from curator.progress import spark_step, step
        from curator.report.checks import tokenizer_size_warning
        from curator.spark.tokenize_ops import read_corpus
        from curator.tokenization.recipe import load_recipe
        from curator.tokenization.train import sample_training_texts, train_from_texts, write_artifact

        parsed = load_recipe(recipe)
        if output.exists() and any(output.iterdir()) and not force:
            raise typer.BadParameter(f"{output} exists and is not empty; pass --force to replace it")
        spark = _session(master)
        with spark_step(spark, "sampling training text", console):
            texts, sample = sample_training_texts(read_corpus(spark, input), parsed.sample)
        warning = tokenizer_size_warning(parsed.vocab_size, sample["sampled_chars"])
        if warning:
            console.print(f"[yellow]warning:[/yellow] {warning}")
        with step(f"training {parsed.algorithm} ({parsed.vocab_size:,} pieces) on {sample['sampled_documents']:,} "
                  f"documents / {sample['sampled_chars']:,} characters", console):
            bundle = train_from_texts(texts, parsed)
        write_artifact(bundle, output, overwrite=force)
        console.print(f"[bold]trained[/bold] {parsed.algorithm} tokenizer {parsed.name!r}: vocab "
                      f"{bundle.meta['vocab_size']}, {sample['sampled_documents']} documents / "
                      f"{sample['sampled_chars']} chars sampled, hash {bundle.hash[:16]}")
        console.print(f"  -> {output}")

    @app.command("tokenize")
    def tokenize(
        input: str = typer.Argument(..., metavar="INPUT", help="corpus: stage folder, Parquet or JSONL"),
        output: Path = typer.Argument(..., metavar="OUTPUT", help="tokens folder to write"),
        tokenizer: Path = typer.Option(..., "--tokenizer", "-t", help="artifact folder from `tokenizer train`"),
        dtype: str = typer.Option("auto", "--dtype", help="auto | uint16 | int32"),
        target_shard_tokens: Optional[int] = typer.Option(None, "--target-shard-tokens", min=1,
                                                          help="start a new shard after this many tokens"),
        num_shards: Optional[int] = typer.Option(None, "--num-shards", min=1, help="number of Spark tasks"),
        shuffle_seed: Optional[int] = typer.Option(None, "--shuffle-seed", help="shuffle documents first"),
        master: Optional[str] = typer.Option(None, "--master", help="Spark master (default local[*])"),
        force: bool = typer.Option(False, "--force", help="replace an existing tokens folder"),
    ):
        """Encode documents into Megatron .bin/.idx shards plus manifest.json."""
        from curator.spark.tokenize_ops import read_corpus, tokenize_to_folder
        from curator.tokenization.job import TokenizeOptions
        from curator.tokenization.tokenizer import read_bundle

        if dtype not in ("auto", "uint16", "int32"):
            raise typer.BadParameter(f"--dtype must be auto, uint16 or int32, got {dtype!r}")
        bundle = read_bundle(tokenizer)
        options = TokenizeOptions(dtype=dtype, target_shard_tokens=target_shard_tokens, num_shards=num_shards,
                                  shuffle_seed=shuffle_seed)
        from curator.progress import spark_step

        spark = _session(master)
        with spark_step(spark, f"tokenizing {input}", console):
            manifest = tokenize_to_folder(read_corpus(spark, [input]), bundle, output, options, overwrite=force)
        rejected = ", ".join(f"{k}={v}" for k, v in manifest.rejected.items()) or "none"
        console.print(f"[bold]tokenized[/bold] {manifest.documents} documents, {manifest.tokens} tokens "
                      f"({manifest.dtype}) into {len(manifest.shards)} shard(s) at {output}; rejected: {rejected}")

    @app.command("inspect")
    def inspect(
        tokens_dir: Path = typer.Argument(..., metavar="TOKENS_DIR", help="folder written by `curator tokenize`"),
        documents: int = typer.Option(3, "--documents", "-n", min=0, help="decoded documents to show"),
        tokenizer: Optional[Path] = typer.Option(None, "--tokenizer", help="default: TOKENS_DIR/tokenizer"),
        verify: bool = typer.Option(False, "--verify", help="also check every shard's sha256"),
        locate: Optional[str] = typer.Option(None, "--locate", metavar="SHARD:TOKEN_OFFSET",
                                             help="the source document of a token, from the provenance sidecar"),
        doc: Optional[str] = typer.Option(None, "--doc", metavar="ID", help="where document ID sits in the shards"),
    ):
        """Totals, per-shard counts, dtype and a few decoded documents of a tokens folder; with --locate or --doc,
        the source document and its run record (JSON)."""
        import json

        from rich.console import Console
        from rich.table import Table

        from curator.tokenization.inspect import inspect_tokens, provenance_report

        out = Console()
        if locate or doc is not None:
            report = provenance_report(tokens_dir, locate=locate, doc_id=doc, tokenizer_dir=tokenizer)
            print(json.dumps(report, indent=2, ensure_ascii=False))
            return
        report = inspect_tokens(tokens_dir, documents=documents, tokenizer_dir=tokenizer, check_hashes=verify)
        tok = report["tokenizer"]
        out.print(f"[bold]{report['folder']}[/bold]: {report['documents']} documents, {report['tokens']} tokens, "
                  f"dtype {report['dtype']}, {len(report['shards'])} shard(s)")
        out.print(f"tokenizer {tok['algorithm']} vocab {tok['vocab_size']} eod {tok['eod_id']} hash "
                  f"{tok['hash'][:16]}; rejected: {report['rejected'] or 'none'}"
                  + ("; sha256 verified" if verify else ""))
        table = Table()
        for column in ("shard", "documents", "tokens", "tokens/doc"):
            table.add_column(column, justify="left" if column == "shard" else "right")
        for shard in report["shards"]:
            table.add_row(shard["prefix"], str(shard["documents"]), str(shard["tokens"]),
                          str(shard["mean_tokens_per_document"]))
        out.print(table)
        if report.get("note"):
            out.print(f"[dim]{report['note']}[/dim]")
        for sample in report["samples"]:
            body = sample.get("text", sample.get("ids"))
            out.print(f"[bold]{sample['shard']}[{sample['index']}][/bold] {sample['tokens']} tokens, "
                      f"EOD last: {sample['ends_with_eod']}\n  {body!r}")
