"""Line dedup: curator's line_dedup stage beside datatrove's sentence dedup, same data, same cores.

Data (../shared/data):
- **web pages**: trafilatura's 1033 evaluation pages as WET-like text (navigation, menus, footers kept), with
  human-annotated main-content (``gold_with``) and boilerplate (``gold_without``) snippets. Scores: share of
  main-content snippet characters kept, share of boilerplate snippet characters removed (a snippet counts whole:
  it survives only if it is still verbatim in the output). The pages come from ~930 sites, so little boilerplate
  recurs across pages: the figure that matters is the main content kept.
- **mails**: the 4,150 ham messages of the SpamAssassin corpus (raw, with headers). No annotation exists, so
  regions come from a rule (:func:`curator.linededup.evaluate.mail_regions`): *footer* = from the signature
  delimiter "-- " or a mailing-list footer rule to the end; *prose* = the other non-blank, unquoted body lines.
- **planted**: a generated corpus of unique random-word lines with repeated lines planted in 2-200 documents each
  (written in case, digit, punctuation and spacing variants), plus near misses (one word changed) that must stay.
  Precision and recall of the removed lines against the planted truth.

Systems: curator ``line_dedup`` (lines, defaults: min_unit_chars 10, max_occurrences 1, keep_first), through Spark
``local[2]`` (session already running), reading parquet and writing the annotated parquet; datatrove 0.10.1
``SentenceDedupSignature -> SentenceFindDedups -> SentenceDedupFilter`` in one process over in-memory documents,
with its defaults (3-sentence spans, spaCy sentencizer, min 50 words left; web pages only, it is slow; sha1 64-bit
hashes, as its default xxhash path fails with xxhash 4) and in its line mode (one line per span,
``split_sentences=False, n_sentences=1``, the nearest to line dedup). Both keep the first occurrence. curator's
input is written as 4 parquet files, as a previous stage would leave it (one small file would be one task on one
core).

    nice .venv/bin/python benchmarks/bench_line_dedup.py [--planted-docs 20000] [--skip-datatrove]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import string
import sys
import tempfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

from curator.linededup.evaluate import line_fates, mail_regions, snippet_chars  # noqa: E402


# -- data --------------------------------------------------------------------------------------------------------


def load_pages() -> list[dict]:
    with gzip.open(DATA / "trafilatura-eval" / "trafilatura_wetlike.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    return [{"id": f"{r['dir']}/{r['file']}", "text": r["text"], "gold_with": r["gold_with"],
             "gold_without": r["gold_without"]} for r in rows]


def load_mails() -> list[dict]:
    with gzip.open(DATA / "spamassassin" / "spamassassin.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    return [{"id": f"{r['group']}/{r['id']}", "text": r["text"]} for r in rows if "ham" in r["group"]]


def word(rng: random.Random) -> str:
    # Letters only: digits normalise to 0, which would merge random-number "words".
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))


def planted_corpus(n_docs: int, seed: int = 0) -> tuple[list[dict], dict[str, set[int]]]:
    """Documents and, per document, the line indices that must be removed (keep_first, max_occurrences 1)."""
    rng = random.Random(seed)
    lines = {f"p{d:06d}": [(" ".join(word(rng) for _ in range(rng.randint(5, 14))), None)
                           for _ in range(rng.randint(5, 30))] for d in range(n_docs)}
    ids = sorted(lines)
    n_planted = max(10, n_docs // 20)
    for p in range(n_planted):
        base = " ".join(word(rng) for _ in range(rng.randint(5, 10)))
        while len(base) < 20:  # below min_unit_chars a line is never a candidate
            base += " " + word(rng)
        holders = rng.sample(ids, min(len(ids), int(2 + rng.paretovariate(1.2)) if p % 5 else rng.randint(2, 200)))
        for doc_id in holders:
            # Variants that normalise alike: case, spacing, punctuation, a different year.
            copy = rng.choice([f"{base} {rng.randint(1990, 2030)}", f"{base.upper()} 2024",
                               f"{base.replace(' ', '  ')} 1999", f"> {base}, 2001.", f"{base} - 2020!"])
            doc = lines[doc_id]
            doc.insert(rng.randrange(len(doc) + 1), (copy, p))
        near = base.split()
        near[0] = word(rng) + "x"  # one word changed: a different line that must stay
        lines[rng.choice(ids)].append((" ".join(near) + " 2024", None))
    truth: dict[str, set[int]] = {}
    first: set[int] = set()
    for doc_id in ids:
        truth[doc_id] = set()
        for i, (_, p) in enumerate(lines[doc_id]):
            if p is None:
                continue
            if p in first:
                truth[doc_id].add(i)
            else:
                first.add(p)  # holders of a planted line are >= 2 distinct documents by construction
    docs = [{"id": i, "text": "\n".join(t for t, _ in lines[i])} for i in ids]
    return docs, truth


INPUT_FILES = 4


# -- systems -----------------------------------------------------------------------------------------------------


def run_curator(spark, docs: list[dict], work: Path, **config) -> tuple[dict[str, str | None], float]:
    """Outputs by id (None = rejected) and the stage's wall seconds (parquet in, annotated parquet out)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curator.document import DOCUMENT_SCHEMA
    from curator.linededup.stage import LineDedupConfig, LineDedupStage
    from curator.stage import StageContext

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    table = pa.Table.from_pylist([{"id": d["id"], "text": d["text"], "source": "bench", "url": None, "meta": "{}"}
                                  for d in docs], schema=DOCUMENT_SCHEMA)
    # Several files, as a previous stage writes them: one small file would be one task on one core.
    (work / "in").mkdir()
    step = -(-len(docs) // INPUT_FILES)
    for i in range(INPUT_FILES):
        pq.write_table(table.slice(i * step, step), work / "in" / f"part-{i}.parquet")
    started = time.perf_counter()
    df = spark.read.parquet(str(work / "in"))
    ctx = StageContext(spark=spark, run_dir=work, scratch_dir=work / "scratch", stage_name="line_dedup")
    annotated = LineDedupStage(LineDedupConfig(**config)).annotate(df, ctx)
    annotated.frame.select("id", "text", "reason").write.parquet(str(work / "out"))
    seconds = time.perf_counter() - started
    out = pq.read_table(work / "out").to_pylist()
    return {r["id"]: (r["text"] if r["reason"] is None else None) for r in out}, seconds


def run_datatrove(docs: list[dict], work: Path, sentences: bool) -> tuple[dict[str, str | None], float]:
    from datatrove.data import Document
    from datatrove.pipeline.dedup.sentence_dedup import (
        SentDedupConfig,
        SentenceDedupFilter,
        SentenceDedupSignature,
        SentenceFindDedups,
    )
    from datatrove.utils.hashing import HashConfig

    shutil.rmtree(work, ignore_errors=True)
    # datatrove's default xxhash path passes str to xxhash, which xxhash >= 4 refuses: its sha1 64-bit path instead.
    hashing = HashConfig(precision=64, hash_fc="sha1")
    config = (SentDedupConfig(hash_config=hashing) if sentences
              else SentDedupConfig(split_sentences=False, n_sentences=1, hash_config=hashing))
    started = time.perf_counter()
    SentenceDedupSignature(output_folder=str(work / "sigs"), config=config).run(
        (Document(text=d["text"], id=d["id"]) for d in docs), rank=0, world_size=1)
    SentenceFindDedups(data_folder=str(work / "sigs"), output_folder=str(work / "dups"), config=config).run(
        None, rank=0, world_size=1)
    kept = {doc.id: doc.text for doc in SentenceDedupFilter(data_folder=str(work / "dups"), config=config).run(
        (Document(text=d["text"], id=d["id"]) for d in docs), rank=0, world_size=1)}
    seconds = time.perf_counter() - started
    return {d["id"]: kept.get(d["id"]) for d in docs}, seconds


# -- scores ------------------------------------------------------------------------------------------------------


def score_pages(pages: list[dict], outputs: dict[str, str | None]) -> dict:
    main_in = main_kept = boiler_in = boiler_kept = chars_in = chars_out = 0
    for page in pages:
        out = outputs[page["id"]]
        present, survived = snippet_chars(page["text"], out, page["gold_with"])
        main_in, main_kept = main_in + present, main_kept + survived
        present, survived = snippet_chars(page["text"], out, page["gold_without"])
        boiler_in, boiler_kept = boiler_in + present, boiler_kept + survived
        chars_in += len(page["text"])
        chars_out += len(out or "")
    return {"main_kept": main_kept / main_in, "boiler_removed": 1 - boiler_kept / boiler_in,
            "chars_removed": 1 - chars_out / chars_in,
            "rejected": sum(outputs[p["id"]] is None for p in pages)}


def score_mails(mails: list[dict], outputs: dict[str, str | None]) -> dict:
    sums = {"header": [0, 0], "prose": [0, 0], "footer": [0, 0]}
    footers_with = footers_cleared = 0
    for mail in mails:
        regions = mail_regions(mail["text"])
        fates = line_fates(mail["text"], outputs[mail["id"]])
        for name in sums:
            for i in getattr(regions, name):
                line, removed = fates[i]
                sums[name][0] += len(line)
                sums[name][1] += len(line) * removed
        if regions.footer:
            footers_with += 1
            footers_cleared += all(fates[i][1] for i in regions.footer)
    return {"prose_kept": 1 - sums["prose"][1] / sums["prose"][0],
            "footer_removed": sums["footer"][1] / sums["footer"][0],
            "header_removed": sums["header"][1] / sums["header"][0],
            "footers_cleared": footers_cleared / footers_with,
            "rejected": sum(outputs[m["id"]] is None for m in mails)}


def score_planted(docs: list[dict], truth: dict[str, set[int]], outputs: dict[str, str | None]) -> dict:
    tp = fp = fn = 0
    for doc in docs:
        fates = line_fates(doc["text"], outputs[doc["id"]])
        removed = {i for i, (_, gone) in enumerate(fates) if gone}
        tp += len(removed & truth[doc["id"]])
        fp += len(removed - truth[doc["id"]])
        fn += len(truth[doc["id"]] - removed)
    return {"precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn), "removed": tp + fp,
            "planted_copies": tp + fn, "rejected": sum(outputs[d["id"]] is None for d in docs)}


# -- main --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--planted-docs", type=int, default=20000)
    parser.add_argument("--skip-datatrove", action="store_true")
    args = parser.parse_args()

    from curator.spark.session import get_session
    from curator.specs import SparkSpec

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = get_session(SparkSpec(master="local[2]", app_name="bench-line-dedup",
                                  conf={"spark.sql.shuffle.partitions": 4, "spark.ui.showConsoleProgress": False}))
    tmp = Path(tempfile.mkdtemp(prefix="bench_line_dedup_"))
    # Warm the session and the Python workers up outside the timings.
    run_curator(spark, planted_corpus(200, seed=1)[0], tmp / "warmup")
    everything = ("pages", "mails", "planted")
    systems = [("curator line_dedup (lines)", everything,
                lambda docs, name: run_curator(spark, docs, tmp / f"c_{name}"))]
    if not args.skip_datatrove:
        systems += [
            # Its spaCy sentence splitting is slow (minutes per corpus on shared cores): the web pages only.
            ("datatrove sentence dedup (3-sentence spans)", ("pages",),
             lambda docs, name: run_datatrove(docs, tmp / f"ds_{name}", True)),
            ("datatrove sentence dedup, line mode", everything,
             lambda docs, name: run_datatrove(docs, tmp / f"dl_{name}", False)),
        ]

    pages, mails = load_pages(), load_mails()
    planted, truth = planted_corpus(args.planted_docs)
    print(f"web pages: {len(pages)} ({sum(len(p['text']) for p in pages):,} chars); ham mails: {len(mails)} "
          f"({sum(len(m['text']) for m in mails):,} chars); planted: {len(planted)} docs "
          f"({sum(len(d['text']) for d in planted):,} chars), {sum(map(len, truth.values())):,} copies to remove")
    cores = os.cpu_count()
    print(f"cores: {cores} (Spark local[2]; datatrove: one process)\n")

    results = {}
    corpora = {"pages": pages, "mails": mails, "planted": planted}
    for name, names, run in systems:
        results[name] = {}
        for corpus_name in names:
            docs = corpora[corpus_name]
            outputs, seconds = run(docs, corpus_name)
            results[name][corpus_name] = (outputs, seconds, len(docs))
            print(f"  {name} on {corpus_name}: {seconds:.1f}s", flush=True)

    base = systems[0][0]
    print("\n### Web pages (trafilatura eval, 1033 pages, human-annotated snippets)\n")
    print("| system | main-content chars kept | boilerplate chars removed | all chars removed | docs rejected | "
          "docs/s | docs/s vs curator |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in results:
        outputs, seconds, n = results[name]["pages"]
        s = score_pages(pages, outputs)
        rate = n / seconds
        print(f"| {name} | {s['main_kept']:.2%} | {s['boiler_removed']:.2%} | {s['chars_removed']:.2%} | "
              f"{s['rejected']} | {rate:.0f} | {rate / (n / results[base]['pages'][1]):.2f} |")

    print("\n### Mails (SpamAssassin ham, regions by rule)\n")
    print("| system | prose chars kept | footer/signature chars removed | mails with footer fully removed | "
          "header chars removed | docs rejected | docs/s | docs/s vs curator |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in (n for n in results if "mails" in results[n]):
        outputs, seconds, n = results[name]["mails"]
        s = score_mails(mails, outputs)
        rate = n / seconds
        print(f"| {name} | {s['prose_kept']:.2%} | {s['footer_removed']:.2%} | {s['footers_cleared']:.2%} | "
              f"{s['header_removed']:.2%} | {s['rejected']} | {rate:.0f} | "
              f"{rate / (n / results[base]['mails'][1]):.2f} |")

    print(f"\n### Planted repeated lines ({len(planted)} generated docs)\n")
    print("| system | precision | recall | lines removed | planted copies | docs rejected | docs/s | "
          "docs/s vs curator |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in (n for n in results if "planted" in results[n]):
        outputs, seconds, n = results[name]["planted"]
        s = score_planted(planted, truth, outputs)
        rate = n / seconds
        print(f"| {name} | {s['precision']:.4f} | {s['recall']:.4f} | {s['removed']} | {s['planted_copies']} | "
              f"{s['rejected']} | {rate:.0f} | {rate / (n / results[base]['planted'][1]):.2f} |")
    shutil.rmtree(tmp, ignore_errors=True)
    spark.stop()


if __name__ == "__main__":
    main()
