"""Tokenizer compression and `curator tokenize` throughput, beside raw encode_batch and datatrove.

    .venv/bin/python benchmarks/bench_tokenize.py [--vocab-size 8192] [--skip-datatrove]

1. Trains the shipped recipes (tokenizers/{bpe,unigram,wordpiece}_32k.yaml, vocabulary overridden by --vocab-size)
   on public text from ../shared/data and reports bytes per token on held-out text (higher = better compression).
2. Tokenizes the same corpus (State of the Union + Python docs, ~22 MB) three ways, same tokenizer, same text:
   raw ``encode_batch`` over every core (no I/O), the whole ``write_token_shards`` Spark job on local[2]
   (Parquet read, encode, EOD, shard writes, sha256, manifest; Spark already started), and datatrove's
   ``MegatronDocumentTokenizer`` (2 tasks / 2 workers, two JSONL files; HuggingFace tokenizer only, so WordPiece).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))


def load_jsonl(path: Path, field: str = "text") -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return [json.loads(line)[field] for line in handle]


def corpora() -> tuple[list[str], list[str], list[str]]:
    """(training texts, held-out texts, throughput corpus)."""
    sotu = load_jsonl(DATA / "stdlib-sotu" / "sotu.jsonl")
    moby = load_jsonl(DATA / "stdlib-moby-dick" / "moby_dick.jsonl")
    shakespeare = (DATA / "tinyshakespeare" / "input.txt").read_text()
    python_docs = load_jsonl(DATA / "python-3.11-docs-rst" / "python-3.11-docs.jsonl.gz")
    wikitext = (DATA / "wikitext-2-partial" / "test.txt").read_text()
    articles = [a.strip() for a in re.split(r"\n = (?=[^=])", wikitext) if len(a.strip()) > 200]
    train = moby + [shakespeare[i:i + 20_000] for i in range(0, len(shakespeare), 20_000)] + sotu[::2] \
        + python_docs[::2]
    held_out = articles + sotu[1::2] + python_docs[1::2]
    return train, held_out, sotu + python_docs


def bytes_per_token(tokenizer, texts: list[str]) -> float:
    tokens = sum(len(ids) for ids in tokenizer.encode_batch(texts))
    return sum(len(t.encode()) for t in texts) / tokens


def time_raw(tokenizer, texts: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    tokens = sum(len(ids) + 1 for ids in tokenizer.encode_batch(texts))  # +1: the EOD the job appends
    return time.perf_counter() - started, tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--skip-datatrove", action="store_true")
    args = parser.parse_args()

    from curator.tokenization.recipe import load_recipe
    from curator.tokenization.train import train_from_texts

    train, held_out, corpus = corpora()
    corpus_bytes = sum(len(t.encode()) for t in corpus)
    print(f"training text {sum(map(len, train)) / 1e6:.1f}M chars, held-out {sum(map(len, held_out)) / 1e6:.1f}M "
          f"chars, throughput corpus {len(corpus)} documents / {corpus_bytes / 1e6:.1f} MB; cores {os.cpu_count()}")

    bundles = {}
    print(f"\n## Compression on held-out text (vocab {args.vocab_size})\n")
    print("| recipe | algorithm | vocab | train s | bytes/token |\n|---|---|---:|---:|---:|")
    for name in ("bpe_32k", "unigram_32k", "wordpiece_32k"):
        recipe = load_recipe(name).model_copy(update={"vocab_size": args.vocab_size})
        started = time.perf_counter()
        bundle = train_from_texts(train, recipe)
        seconds = time.perf_counter() - started
        tokenizer = bundle.load()
        bundles[recipe.algorithm] = bundle
        print(f"| {name} | {recipe.algorithm} | {tokenizer.vocab_size} | {seconds:.1f} | "
              f"{bytes_per_token(tokenizer, held_out):.3f} |")

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from curator.spark.session import get_session
    from curator.spark.tokenize_ops import write_token_shards
    from curator.specs import SparkSpec
    from curator.tokenization.job import TokenizeOptions

    spark = get_session(SparkSpec(master="local[2]", app_name="bench-tokenize",
                                  conf={"spark.driver.memory": "3g", "spark.sql.files.maxPartitionBytes": "8m"}))
    work = Path(tempfile.mkdtemp(prefix="bench_tokenize_"))
    try:
        parquet_dir = work / "corpus"
        parquet_dir.mkdir()
        half = len(corpus) // 2
        for n, part in enumerate((corpus[:half], corpus[half:])):
            ids = [f"doc-{n}-{i}" for i in range(len(part))]
            pq.write_table(pa.table({"id": ids, "text": part}), parquet_dir / f"part-{n}.parquet")
        jsonl = work / "jsonl"  # two files, so datatrove can run two tasks like our two partitions
        jsonl.mkdir()
        for n, part in enumerate((corpus[:half], corpus[half:])):
            with open(jsonl / f"part-{n}.jsonl", "w") as handle:
                for i, text in enumerate(part):
                    handle.write(json.dumps({"id": f"doc-{n}-{i}", "text": text}) + "\n")
        df = spark.read.parquet(str(parquet_dir))
        print(f"\n## Throughput ({corpus_bytes / 1e6:.1f} MB, Spark input partitions: {df.rdd.getNumPartitions()})\n")
        print("| tokenizer | method | seconds | tokens | Mtokens/s | MB/s | vs raw |\n|---|---|---:|---:|---:|---:|---:|")
        write_token_shards(df.limit(50), bundles["bpe"], work / "warmup")  # Python workers up, tokenizer cached

        for algorithm in ("bpe", "wordpiece"):
            bundle = bundles[algorithm]
            raw_seconds, raw_tokens = time_raw(bundle.load(), corpus)
            rows = [("raw encode_batch (all cores, no I/O)", raw_seconds, raw_tokens)]
            started = time.perf_counter()
            manifest = write_token_shards(df, bundle, work / f"ours-{algorithm}", TokenizeOptions())
            rows.append(("curator tokenize job (local[2])", time.perf_counter() - started, manifest.tokens))
            if algorithm == "wordpiece" and not args.skip_datatrove:
                rows.append(run_datatrove(bundle, jsonl, work))
            for method, seconds, tokens in rows:
                print(f"| {algorithm} | {method} | {seconds:.2f} | {tokens} | {tokens / seconds / 1e6:.3f} | "
                      f"{corpus_bytes / seconds / 1e6:.2f} | {raw_seconds / seconds:.0%} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        spark.stop()


def run_datatrove(bundle, jsonl: Path, work: Path) -> tuple[str, float, int]:
    try:
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.readers import JsonlReader
        from datatrove.pipeline.tokens.megatron_tokenizer import MegatronDocumentTokenizer
    except ImportError as error:
        return (f"datatrove not runnable: {error}", float("nan"), 0)
    tokenizer_file = work / "wordpiece.json"
    tokenizer_file.write_bytes(bundle.model_bytes)
    out = work / "datatrove"
    executor = LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(jsonl), text_key="text", id_key="id"),
            MegatronDocumentTokenizer(output_folder=str(out / "tokens"), tokenizer_name_or_path=str(tokenizer_file),
                                      eos_token=bundle.meta["special_tokens"]["eod"]),
        ],
        tasks=2, workers=2, logging_dir=str(out / "logs"),
    )
    started = time.perf_counter()
    executor.run()
    seconds = time.perf_counter() - started
    tokens = 0
    for idx in (out / "tokens").rglob("*.idx"):
        from curator.tokenization.shards import MegatronShard

        tokens += MegatronShard(idx).num_tokens
    return ("datatrove MegatronDocumentTokenizer (2 tasks, 2 workers)", seconds, tokens)


if __name__ == "__main__":
    main()
