"""Benchmark decontamination: curator's decontaminate stage vs datatrove's n-gram decontamination filter.

Benchmark items: the real GSM8K, AQuA-RAT and HumanEval test sets in ../shared/data/decontamination-benchmarks.
Clean documents: passages cut from State of the Union addresses, Moby-Dick, the Python 3.11 docs and DCLM's
human-judged web pages (../shared/data). Planted documents, built from sampled benchmark items in three ways:

- ``verbatim``: the item's text (question + answer, or prompt + solution) as a document of its own;
- ``edited``: the same with light edits: case changes, punctuation dropped or added, line breaks, one word typo;
- ``embedded``: the item placed in the middle of a long passage (at least 1,500 words) from the clean sources.

Recall = planted documents flagged / planted documents; false-positive rate = clean documents flagged / clean
documents. Throughput: documents per second of one process (one core) checking every document against the index of
all three benchmarks, index build excluded (reported separately). The two systems take turns on blocks of 250
documents, so load from other work on the machine falls on both alike.

datatrove's index builder (``NGramsDecontIndexer``) requires lighteval and downloads task data, so it cannot run
offline. Its filter (``NGramsDecontFilter``) only reads ``*.index.hashes`` files, so this script writes that index
from the same benchmark files with datatrove's own normalisation, word tokenizer and hash function (the indexer's
``compute_hashes`` logic: answer n-grams, question n-grams, and n-grams spanning both) and runs the filter on the
same documents. Both use n = 13. datatrove hashes with sha1 here: its default xxhash function passes str to xxhash,
which xxhash 4.x refuses.

    nice .venv/bin/python benchmarks/bench_decontam.py [--items-per-benchmark 150] [--clean 4000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA_CANDIDATES = [REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"]
N = 13


def data_root() -> Path:
    for candidate in DATA_CANDIDATES:
        if (candidate / "decontamination-benchmarks").is_dir():
            return candidate
    sys.exit("../shared/data/decontamination-benchmarks not found")


# -- data --------------------------------------------------------------------------------------------------------

def benchmark_records(root: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Per benchmark: (item id, query text, gold text)."""
    bench = root / "decontamination-benchmarks"
    gsm = [json.loads(x) for x in (bench / "gsm8k/test.jsonl").read_text().splitlines() if x.strip()]
    aqua = [json.loads(x) for x in (bench / "aqua-rat/test.json").read_text().splitlines() if x.strip()]
    human = [json.loads(x) for x in gzip.decompress((bench / "humaneval/HumanEval.jsonl.gz").read_bytes())
             .decode().splitlines() if x.strip()]
    return {
        "gsm8k": [(str(i), r["question"], r["answer"]) for i, r in enumerate(gsm)],
        "aqua_rat": [(str(i), r["question"], r["rationale"]) for i, r in enumerate(aqua)],
        "humaneval": [(r["task_id"], r["prompt"], r["canonical_solution"]) for r in human],
    }


def passages(root: Path, words_per_doc: int, limit: int, rng: random.Random) -> list[str]:
    texts = [json.loads(x)["text"] for x in (root / "stdlib-sotu/sotu.jsonl").read_text().splitlines()]
    texts += [json.loads(x)["text"] for x in (root / "stdlib-moby-dick/moby_dick.jsonl").read_text().splitlines()]
    texts += [json.loads(x)["text"] for x in gzip.decompress(
        (root / "python-3.11-docs-rst/python-3.11-docs.jsonl.gz").read_bytes()).decode().splitlines()]
    texts += [json.loads(x)["text"] for x in (root / "dclm-quality-dev/majority_data.jsonl").read_text().splitlines()]
    out = []
    for text in texts:
        # keep line structure: cut at line boundaries near words_per_doc words
        lines, chunk, count = text.splitlines(keepends=True), [], 0
        for line in lines:
            chunk.append(line)
            count += len(line.split())
            if count >= words_per_doc:
                out.append("".join(chunk))
                chunk, count = [], 0
        if count >= 50:
            out.append("".join(chunk))
    rng.shuffle(out)
    return out[:limit]


def light_edit(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for i in range(len(words)):
        r = rng.random()
        if r < 0.15:
            words[i] = words[i].upper()
        elif r < 0.25:
            words[i] = words[i].capitalize()
    text = " ".join(words)
    text = re.sub(r"[,;]", lambda m: "" if rng.random() < 0.5 else m.group(), text)
    text = re.sub(r"\. ", lambda m: ".\n" if rng.random() < 0.3 else ". ", text)
    text = text.replace("?", " ?!")
    words = text.split(" ")
    target = rng.randrange(len(words))
    if len(words[target]) > 3:  # one typo
        w = words[target]
        words[target] = w[:1] + w[2] + w[1] + w[3:]
    return " ".join(words)


def build_corpus(root: Path, items_per_benchmark: int, clean_count: int, seed: int):
    rng = random.Random(seed)
    records = benchmark_records(root)
    long_passages = passages(root, 1500, 10_000, rng)
    clean = passages(root, 400, clean_count, random.Random(seed + 1))
    docs = [(f"clean-{i}", text, "clean") for i, text in enumerate(clean)]
    for name, items in records.items():
        for item_id, query, gold in rng.sample(items, min(items_per_benchmark, len(items))):
            item_text = query.rstrip() + "\n" + gold
            host = rng.choice(long_passages)
            cut = host.find("\n", len(host) // 2)
            cut = cut if cut > 0 else len(host) // 2
            docs.append((f"{name}:{item_id}:verbatim", item_text, "verbatim"))
            docs.append((f"{name}:{item_id}:edited", light_edit(item_text, rng), "edited"))
            docs.append((f"{name}:{item_id}:embedded", host[:cut] + "\n" + item_text + "\n" + host[cut:], "embedded"))
    rng.shuffle(docs)
    return records, docs


# -- systems -----------------------------------------------------------------------------------------------------

def curator_checker(root: Path):
    """curator's index over the three benchmarks, and a function flagging a list of texts."""
    from curator.decontam.stage import DecontaminateConfig, build_index, decide

    bench = root / "decontamination-benchmarks"
    config = DecontaminateConfig(n=N, benchmarks=[
        {"name": "gsm8k", "path": str(bench / "gsm8k/test.jsonl"), "fields": ["question", "answer"]},
        {"name": "aqua_rat", "path": str(bench / "aqua-rat/test.json"), "fields": ["question", "rationale"]},
        {"name": "humaneval", "path": str(bench / "humaneval/HumanEval.jsonl.gz"),
         "fields": ["prompt", "canonical_solution"], "id_field": "task_id"},
    ])
    start = time.perf_counter()
    index, _ = build_index(config)
    built = time.perf_counter() - start

    def check(texts: list[str]) -> list[bool]:
        _, _, reasons, _ = decide(index, texts, "remove", "")
        return [r is not None for r in reasons]

    return check, built, len(index)


def datatrove_checker(records, folder: Path):
    """datatrove's filter over an index written from the same benchmark records, and a flagging function."""
    from datatrove.data import Document
    from datatrove.pipeline.decont import NGramsDecontConfig, NGramsDecontFilter
    from datatrove.utils.hashing import HashConfig, create_hash_func
    from datatrove.utils.text import ngrams, simplify_text
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    # The default xxhash function passes str to xxhash, which xxhash 4.x (installed here) refuses; sha1 is datatrove's
    # other built-in choice.
    config = NGramsDecontConfig(n_grams=N, find_query_ngrams=True, find_overlap_ngrams=True,
                                hash_config=HashConfig(precision=64, hash_fc="sha1"))
    start = time.perf_counter()
    tokenizer, hash_func = load_word_tokenizer("eng"), create_hash_func(config.hash_config)
    for name, items in records.items():
        hashes = set()
        for _, query, gold in items:
            # NGramsDecontIndexer.compute_hashes, reproduced because the indexer itself needs lighteval
            label = tokenizer.word_tokenize(simplify_text(gold, config.norm_config))
            q = tokenizer.word_tokenize(simplify_text(query, config.norm_config))
            grams = list(ngrams(label, N)) + list(ngrams(q, N))
            grams += [q[-N + 1 + i:] + label[:i + 1] for i in range(N - 1)
                      if len(q) >= N - 1 - i and len(label) >= i + 1]
            hashes.update(hash_func(" ".join(g)) for g in grams)
        np.array(sorted(hashes), dtype=config.hash_config.np_descr).tofile(folder / f"{name}.index.hashes")
    step = NGramsDecontFilter(index_folder=str(folder), config=config)
    step.load_index_hashes()
    built = time.perf_counter() - start

    def check(texts: list[str]) -> list[bool]:
        return [step.filter(Document(text=text, id=str(i))) is not True for i, text in enumerate(texts)]

    return check, built


def timed_alternating(checkers: dict, texts: list[str], block: int = 250):
    """Flags and seconds per system, running the systems in turn on each block of documents, so that a change in
    machine load during the run hits both alike."""
    flagged = {name: [] for name in checkers}
    seconds = dict.fromkeys(checkers, 0.0)
    for offset in range(0, len(texts), block):
        chunk = texts[offset:offset + block]
        for name, check in checkers.items():
            start = time.perf_counter()
            flagged[name] += check(chunk)
            seconds[name] += time.perf_counter() - start
    return flagged, seconds


def score(docs, flagged):
    rows = {}
    for kind in ("verbatim", "edited", "embedded", "clean"):
        marks = [f for (_, _, k), f in zip(docs, flagged) if k == kind]
        rows[kind] = (sum(marks), len(marks))
    planted = [f for (_, _, k), f in zip(docs, flagged) if k != "clean"]
    rows["planted"] = (sum(planted), len(planted))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items-per-benchmark", type=int, default=150)
    parser.add_argument("--clean", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--skip-datatrove", action="store_true")
    args = parser.parse_args()
    root = data_root()
    records, docs = build_corpus(root, args.items_per_benchmark, args.clean, args.seed)
    words = sum(len(t.split()) for _, t, _ in docs)
    print(f"{len(docs)} documents ({words:,} words): {sum(k == 'clean' for *_, k in docs)} clean, "
          f"{sum(k != 'clean' for *_, k in docs)} planted; n = {N}\n")
    texts = [text for _, text, _ in docs]
    check, built_curator, size = curator_checker(root)
    checkers, built = {"curator decontaminate": check}, {"curator decontaminate": built_curator}
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_datatrove:
            check, built["datatrove NGramsDecontFilter"] = datatrove_checker(records, Path(folder))
            checkers["datatrove NGramsDecontFilter"] = check
        flagged, seconds = timed_alternating(checkers, texts)
    results = {name: (score(docs, flagged[name]), seconds[name], built[name]) for name in checkers}
    base = results.get("datatrove NGramsDecontFilter", (None, None))[1]
    print("| system | recall planted | verbatim | edited | embedded | false positives (clean) | docs/s (1 core) "
          "| vs datatrove | index build s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (rows, seconds, built) in results.items():
        def frac(key):
            hit, total = rows[key]
            return f"{hit / total:.4f} ({hit}/{total})"
        ratio = f"{base / seconds:.2f}x" if base else "-"
        print(f"| {name} | {frac('planted')} | {frac('verbatim')} | {frac('edited')} | {frac('embedded')} | "
              f"{frac('clean')} | {len(docs) / seconds:,.0f} | {ratio} | {built:.1f} |")
    print(f"\ncurator index: {size:,} window hashes")


if __name__ == "__main__":
    main()
