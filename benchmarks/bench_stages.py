"""Per-stage throughput on one core: each stage's per-document code beside the raw library it wraps.

Same documents for both sides of a row (the bench_e2e corpus: web pages, mail, docs, prose in many languages), one
Python process, no Spark (the per-document work only: what every Spark task runs per Arrow batch), tokenizers'
thread pool held to one thread. Rows alternate ours / raw, ``--repeats`` times; each side's best time counts.

    ingest     curator.io.readers.read_file + Arrow batches   vs json.loads over the lines
    langid     LangIdStage.process_batch (lid.176 + CLD2, calibrated thresholds, script check)
                                                              vs fastText predict on the list of texts (each cut
                                                                 to the stage's max_chars, 10,000, as it reads)
    quality    QualityStage.process_batch (gopher_repetition, gopher_quality, c4, fineweb)
                                                              vs datatrove's four filters (the peer; no raw library)
    dedup      MinHasher.fingerprint + band keys (normalise, shingle, signature)
                                                              vs a bare datasketch loop (word 5-grams, update_batch)
    pii        PiiStage.process_batch (EMAIL_ADDRESS, PHONE_NUMBER, IP_ADDRESS, CREDIT_CARD, IBAN_CODE, US_SSN)
                                                              vs presidio AnalyzerEngine + AnonymizerEngine per text
    tokenize   encode_documents (ids + EOD)                    vs tokenizers encode_batch_fast

    nice .venv/bin/python benchmarks/bench_stages.py [--docs 2000] [--pii-docs 400] [--repeats 2]
"""

from __future__ import annotations

import os


os.environ["RAYON_NUM_THREADS"] = "1"  # tokenizers' pool: one core, like the other rows

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402


REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def batches_of(docs: list[dict], size: int = 1000) -> list[pa.RecordBatch]:
    from curator.document import DOCUMENT_SCHEMA

    rows = [{"id": d["id"], "text": d["text"], "source": "bench", "url": d.get("url"), "meta": None} for d in docs]
    return [pa.RecordBatch.from_pylist(rows[i:i + size], schema=DOCUMENT_SCHEMA) for i in range(0, len(rows), size)]


def best_of(repeats: int, ours, raw) -> tuple[float, float]:
    """Best seconds of each side, alternating ours and raw."""
    ours_s, raw_s = [], []
    for _ in range(repeats):
        for fn, times in ((ours, ours_s), (raw, raw_s)):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    return min(ours_s), min(raw_s)


# -- the rows ------------------------------------------------------------------------------------------------------


def row_ingest(docs, work: Path):
    from curator.document import DOCUMENT_SCHEMA
    from curator.io.readers import ReadOptions, read_file, record_batches

    path = work / "corpus.jsonl"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    schema = DOCUMENT_SCHEMA.append(pa.field("reason", pa.string())).append(pa.field("reason_detail", pa.string()))

    def ours():
        for _ in record_batches(read_file(str(path), path.name, ReadOptions(), fmt="jsonl"), schema):
            pass

    def raw():
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                json.loads(line)

    return "curator reader → Arrow", "json.loads per line", ours, raw


def row_langid(docs, work):
    from curator.fasttext_models import load_fasttext_model
    from curator.langid.detect import lid_model_path
    from curator.langid.stage import LangIdConfig, LangIdStage

    stage = LangIdStage(LangIdConfig(languages=["en"]))
    stage._ensure_setup()
    batches = batches_of(docs)
    model = load_fasttext_model(lid_model_path())
    # The same input the stage classifies: the first max_chars characters on one line.
    limit = stage.config.max_chars
    texts = [d["text"][:limit].replace("\n", " ") for d in docs]

    def ours():
        for batch in batches:
            stage.process_batch(batch)

    def raw():
        model.predict(texts, k=1)

    return "LangIdStage.process_batch", "fastText predict (list)", ours, raw


def row_quality(docs, work):
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    from curator.quality.stage import QualityConfig, QualityStage

    stage = QualityStage(QualityConfig(
        filters=["gopher_repetition", "gopher_quality", {"use": "c4", "drop_lines_without_terminal_punct": False},
                 "fineweb"], language="en"))
    stage._ensure_setup()
    batches = batches_of(docs)
    filters = [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(filter_no_terminal_punct=False),
               FineWebQualityFilter()]

    def ours():
        for batch in batches:
            stage.process_batch(batch)

    def raw():
        for d in docs:
            doc = Document(text=d["text"], id=d["id"], metadata={})
            for f in filters:  # like datatrove's pipeline: stop at the first filter that drops the document
                result = f.filter(doc)
                if not (result[0] if isinstance(result, tuple) else result):
                    break

    return "QualityStage.process_batch", "datatrove 4 filters (peer)", ours, raw


def row_dedup(docs, work):
    from datasketch import MinHash

    from curator.dedup.minhash import MinHasher
    from curator.dedup.stage import DedupConfig

    params = DedupConfig().minhash_params()
    hasher = MinHasher(params)
    texts = [d["text"] for d in docs]

    def ours():
        for text in texts:
            _, _, signature = hasher.fingerprint(text)
            if signature is not None:
                hasher.band_keys(signature)

    def raw():
        for text in texts:
            words = text.split()
            grams = {" ".join(words[i:i + params.shingle_size]).encode("utf-8")
                     for i in range(max(1, len(words) - params.shingle_size + 1))}
            sketch = MinHash(num_perm=params.num_perm, seed=params.seed)
            sketch.update_batch(list(grams))

    return f"MinHasher.fingerprint + bands ({params.num_perm} perm)", \
        f"bare datasketch loop ({params.num_perm} perm)", ours, raw


def row_pii(docs, work):
    from curator.pii.engine import build_nlp_engine, use_bundled_suffix_list
    from curator.pii.stage import PiiConfig, PiiStage

    config = PiiConfig()
    stage = PiiStage(config)
    stage._ensure_setup()
    batches = batches_of(docs, size=256)
    use_bundled_suffix_list()
    from presidio_analyzer import AnalyzerEngine
    from presidio_anonymizer import AnonymizerEngine

    analyzer, anonymizer = AnalyzerEngine(nlp_engine=build_nlp_engine("en")), AnonymizerEngine()
    entities = [e for e in config.entities if e in analyzer.get_supported_entities("en")]
    texts = [d["text"] for d in docs]

    def ours():
        for batch in batches:
            stage.process_batch(batch)

    def raw():
        for text in texts:
            found = analyzer.analyze(text, language="en", entities=entities, score_threshold=config.score_threshold)
            anonymizer.anonymize(text, found)

    return "PiiStage.process_batch", "presidio analyze + anonymize", ours, raw


def row_tokenize(docs, work):
    from bench_e2e import train_tokenizer

    from curator.tokenization.job import encode_documents
    from curator.tokenization.tokenizer import read_bundle
    from tokenizers import Tokenizer as HFTokenizer

    artifact, hf_file, _ = train_tokenizer(docs, work / "tokenizer")
    ours_tokenizer = read_bundle(artifact).load(num_threads=1)
    raw_tokenizer = HFTokenizer.from_file(str(hf_file))
    texts = [d["text"] for d in docs]

    def ours():
        for i in range(0, len(texts), 1000):
            encode_documents(ours_tokenizer, texts[i:i + 1000])

    # The library's fastest batch call, the one curator uses: encode_batch_fast (no character offsets) where the
    # installed tokenizers has it.
    encode = getattr(raw_tokenizer, "encode_batch_fast", raw_tokenizer.encode_batch)

    def raw():
        for i in range(0, len(texts), 1000):
            encode(texts[i:i + 1000], add_special_tokens=False)

    return "encode_documents (WordPiece 8k)", f"tokenizers {encode.__name__}", ours, raw


ROWS = {"ingest": row_ingest, "langid": row_langid, "quality": row_quality, "dedup": row_dedup, "pii": row_pii,
        "tokenize": row_tokenize}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--pii-docs", type=int, default=400, help="presidio is slow: fewer documents for pii")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--stages", default=",".join(ROWS))
    args = parser.parse_args()

    from bench_e2e import build_corpus

    docs = build_corpus(args.docs, seed=2)
    print(f"{len(docs)} documents ({sum(len(d['text'].encode()) for d in docs) / 1e6:.1f} MB); one core; "
          f"best of {args.repeats}, alternated; load average {os.getloadavg()[0]:.1f}\n")
    print("| stage | curator | docs | curator docs/s | curator MB/s | raw / peer | raw docs/s | raw MB/s "
          "| curator / raw |\n|---|---|---:|---:|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench_stages_") as tmp:
        for name in args.stages.split(","):
            subset = docs[:args.pii_docs] if name == "pii" else docs
            megabytes = sum(len(d["text"].encode()) for d in subset) / 1e6
            ours_label, raw_label, ours, raw = ROWS[name](subset, Path(tmp))
            ours_s, raw_s = best_of(args.repeats, ours, raw)
            print(f"| {name} | {ours_label} | {len(subset)} | {len(subset) / ours_s:,.0f} | {megabytes / ours_s:.2f} "
                  f"| {raw_label} | {len(subset) / raw_s:,.0f} | {megabytes / raw_s:.2f} | {raw_s / ours_s:.0%} |",
                  flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
