"""Near-duplicate detection: curator's dedup stage vs datatrove's 4-stage MinHash pipeline, same data, same cores.

Corpus: passages cut from public texts in ../shared/data (State of the Union addresses, Moby-Dick, Python docs,
WikiText), plus copies with random word edits at controlled rates (so their 5-gram Jaccard to the original spans
roughly 0.5-1.0) and a few exact copies. Ground truth: every pair with exact 5-gram Jaccard >= the threshold, found
by an exact all-pairs similarity join (prefix filtering, which is lossless; checked against plain brute force on a
sample); true groups are the connected components of those pairs.

Metric: pair precision / recall / F1 over "same group" pairs (a predicted pair = two documents a system puts in one
duplicate group; a true pair = two documents in one true group). Throughput: documents per second of wall time for
the whole dedup (curator: the dedup stage through the runner, reading parquet and writing kept + rejected parquet,
Spark session already running; by default in the driver process, also as Spark jobs; datatrove: its 4 stages from
JSONL to kept + removed JSONL, local executor).

    .venv/bin/python benchmarks/bench_dedup.py [--bases 6000] [--threshold 0.8]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import struct
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))


# -- corpus ------------------------------------------------------------------------------------------------------


def source_texts() -> list[str]:
    texts = [json.loads(line)["text"] for line in (DATA / "stdlib-sotu" / "sotu.jsonl").open()]
    texts += [json.loads(line)["text"] for line in (DATA / "stdlib-moby-dick" / "moby_dick.jsonl").open()]
    with gzip.open(DATA / "python-3.11-docs-rst" / "python-3.11-docs.jsonl.gz", "rt") as f:
        texts += [json.loads(line)["text"] for line in f]
    for name in ("valid.txt", "test.txt"):
        path = next((DATA / "wikitext-2-partial").rglob(name), None)
        if path:
            texts.append(path.read_text())
    return texts


def build_corpus(n_bases: int, seed: int = 0) -> list[tuple[str, str]]:
    """(id, text) pairs: passages of 150-400 words, ~35% of them with 1-3 edited copies, some exact copies."""
    rng = random.Random(seed)
    passages = []
    for text in source_texts():
        words = text.split()
        i = 0
        while i + 150 <= len(words):
            length = rng.randint(150, 400)
            passages.append(words[i:i + length])
            i += length
    rng.shuffle(passages)
    passages = passages[:n_bases]
    vocabulary = [w for p in passages[:500] for w in p]
    docs = []
    for b, words in enumerate(passages):
        docs.append((f"b{b:06d}", " ".join(words)))
        if rng.random() < 0.35:
            for c in range(rng.randint(1, 3)):
                rate = rng.choice([0.0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.06, 0.1])
                docs.append((f"b{b:06d}c{c}", " ".join(perturb(words, rate, vocabulary, rng))))
    rng.shuffle(docs)
    return docs


def perturb(words: list[str], rate: float, vocabulary: list[str], rng: random.Random) -> list[str]:
    out = []
    for w in words:
        r = rng.random()
        if r < rate / 3:
            continue  # delete
        if r < 2 * rate / 3:
            out.append(rng.choice(vocabulary))  # substitute
            continue
        out.append(w)
        if r < rate:
            out.append(rng.choice(vocabulary))  # insert
    return out


# -- ground truth ------------------------------------------------------------------------------------------------


def shingle_sets(docs, shingle_size: int = 5) -> list[frozenset]:
    from curator.dedup.minhash import MinHasher, MinHashParams

    hasher = MinHasher(MinHashParams(shingle_size=shingle_size))
    return [frozenset(hasher.shingles(text).tolist()) for _, text in docs]


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def similar_pairs(sets: list[frozenset], threshold: float) -> set[tuple[int, int]]:
    """Every pair (i, j), i < j, with Jaccard >= threshold: an exact all-pairs join with prefix filtering.

    Sort each set's elements by global frequency (rarest first); two sets with Jaccard >= t must share an element
    within the first |x| - ceil(t*|x|) + 1 elements of each (Chaudhuri et al. 2006), and |y| >= t*|x|. Candidates are
    then checked exactly, so the result equals brute force.
    """
    import math

    freq = defaultdict(int)
    for s in sets:
        for e in s:
            freq[e] += 1
    index = defaultdict(list)
    pairs = set()
    order = sorted(range(len(sets)), key=lambda i: len(sets[i]))
    for i in order:
        s = sets[i]
        if not s:
            continue
        ranked = sorted(s, key=lambda e: (freq[e], e))
        prefix = ranked[: len(s) - math.ceil(threshold * len(s)) + 1]
        candidates = set()
        for e in prefix:
            candidates.update(index[e])
        for j in candidates:
            if len(sets[j]) >= threshold * len(s) and jaccard(s, sets[j]) >= threshold:
                pairs.add((min(i, j), max(i, j)))
        for e in prefix:
            index[e].append(i)
    return pairs


def brute_force_pairs(sets, threshold, limit):
    return {(i, j) for i, j in combinations(range(min(limit, len(sets))), 2) if jaccard(sets[i], sets[j]) >= threshold}


def groups_from_pairs(n: int, pairs) -> list[int]:
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


def same_group_pairs(labels: list) -> set[tuple[int, int]]:
    members = defaultdict(list)
    for i, label in enumerate(labels):
        if label is not None:
            members[label].append(i)
    return {(a, b) for group in members.values() if len(group) > 1 for a, b in combinations(sorted(group), 2)}


def scores(predicted: set, truth: set) -> tuple[float, float, float]:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# -- systems -----------------------------------------------------------------------------------------------------


def run_curator(docs, workdir: Path, spark, threshold: float, spark_only: bool = False,
                **config) -> tuple[float, list, dict]:
    """Ingest (untimed) then the dedup stage (timed); returns (seconds, group label per doc, stage stats).
    ``spark_only``: the stage as Spark jobs even where the runner would compute it in the driver process."""
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    path = workdir / "input.jsonl"
    if not path.exists():
        path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in docs))
    out = workdir / "curator_out"
    shutil.rmtree(out, ignore_errors=True)
    spec = PipelineSpec.model_validate({
        "name": "bench_dedup", "input": {"paths": [str(path)]}, "output": str(out),
        "stages": [{"stage": "ingest"}, {"stage": "dedup", "threshold": threshold, **config}],
    })
    if spark_only:
        spec = spec.model_copy(update={"spark": spec.spark.spark_only()})
    runner = PipelineRunner(spec, spark=spark)
    runner.run_stage("ingest")
    started = time.perf_counter()
    result = runner.run_stage("dedup")
    seconds = time.perf_counter() - started
    label = {}
    for row in spark.read.parquet(str(out / "dedup" / "data")).select("id", "dup_cluster").collect():
        label[row["id"]] = row["dup_cluster"]
    for row in spark.read.parquet(str(out / "dedup" / "rejected")).select("id", "reason_detail").collect():
        label[row["id"]] = row["reason_detail"]
    return seconds, [label[i] for i, _ in docs], result.stats


def run_datatrove(docs, workdir: Path, buckets: int, hashes: int, workers: int = 2) -> tuple[float, list]:
    """datatrove 0.10.1: signatures -> buckets -> cluster -> filter, LocalPipelineExecutor on `workers` cores."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    base = workdir / f"datatrove_{buckets}x{hashes}"
    shutil.rmtree(base, ignore_errors=True)
    inputs = base / "input"
    inputs.mkdir(parents=True)
    # One input file per task, so each task's document index is the line number in its file.
    shards = [docs[i::workers] for i in range(workers)]
    for rank, shard in enumerate(shards):
        (inputs / f"{rank:05d}.jsonl").write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in shard))
    config = MinhashConfig(num_buckets=buckets, hashes_per_bucket=hashes,
                           hash_config=HashConfig(precision=64, hash_fc="sha1"))
    logs = str(base / "logs")
    started = time.perf_counter()
    LocalPipelineExecutor(
        pipeline=[JsonlReader(str(inputs)), MinhashDedupSignature(output_folder=str(base / "sigs"), config=config)],
        tasks=workers, workers=workers, logging_dir=f"{logs}/1").run()
    LocalPipelineExecutor(
        pipeline=[MinhashDedupBuckets(input_folder=str(base / "sigs"), output_folder=str(base / "buckets"),
                                      config=config)],
        tasks=buckets, workers=workers, logging_dir=f"{logs}/2").run()
    LocalPipelineExecutor(
        pipeline=[MinhashDedupCluster(input_folder=str(base / "buckets"), output_folder=str(base / "remove"),
                                      config=config, save_cluster_id=True)],
        tasks=1, workers=1, logging_dir=f"{logs}/3").run()
    LocalPipelineExecutor(
        pipeline=[JsonlReader(str(inputs)),
                  MinhashDedupFilter(input_folder=str(base / "remove"), load_cluster_ids=True,
                                     exclusion_writer=JsonlWriter(str(base / "removed"))),
                  JsonlWriter(str(base / "kept"))],
        tasks=workers, workers=workers, logging_dir=f"{logs}/4").run()
    seconds = time.perf_counter() - started
    # Group labels: (rank, cluster id) from the cluster files; documents without one are alone.
    labels_by_id = {}
    for rank, shard in enumerate(shards):
        path = base / "remove" / f"{rank:06d}.clusters"
        raw = path.read_bytes() if path.exists() else b""
        for doc_index, cluster in struct.iter_unpack("<2I", raw):
            labels_by_id[shard[doc_index][0]] = cluster
    return seconds, [labels_by_id.get(i) for i, _ in docs]


# -- main --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bases", type=int, default=6000, help="original passages (copies come on top)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--skip-datatrove", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_dedup_"))
    workdir.mkdir(parents=True, exist_ok=True)
    docs = build_corpus(args.bases)
    sets = shingle_sets(docs)
    t = time.perf_counter()
    truth_edges = similar_pairs(sets, args.threshold)
    sample = 1500
    assert {p for p in truth_edges if p[1] < sample} == brute_force_pairs(sets, args.threshold, sample), \
        "prefix-filter join disagrees with brute force"
    truth = same_group_pairs(groups_from_pairs(len(docs), truth_edges))
    print(f"corpus: {len(docs)} documents, {len(truth_edges)} pairs with J >= {args.threshold}, "
          f"{len(truth)} same-group pairs (ground truth in {time.perf_counter() - t:.1f} s; "
          f"checked against brute force on the first {sample} documents)")

    from curator.spark.session import get_session
    from curator.specs import SparkSpec

    t = time.perf_counter()
    spark = get_session(SparkSpec(master="local[2]", app_name="bench-dedup", conf={
        "spark.sql.shuffle.partitions": 8, "spark.driver.memory": "4g", "spark.ui.showConsoleProgress": "false"}))
    startup = time.perf_counter() - t

    rows = []
    # By default an input this small is deduplicated in the driver process with no Spark job (curator/spark/
    # in_driver.py, up to spark.driver_max_documents_global); on Spark it is grouped in the driver from one collect
    # of the fingerprints (up to in_process_max_documents), and the distributed path is what a corpus above both
    # gets: all three measured here on the same documents.
    for name, config in (("curator dedup (21x9 of 256, verified; driver process, the default here)", {}),
                         ("curator dedup (same, as Spark jobs grouped in the driver)", {"spark_only": True}),
                         ("curator dedup (same, distributed Spark path)",
                          {"spark_only": True, "in_process_max_documents": 0})):
        seconds, labels, stats = run_curator(docs, workdir, spark, args.threshold, **config)
        rows.append((name, seconds, *scores(same_group_pairs(labels), truth)))
        print(f"{name} stage stats: {json.dumps(stats.get('extra', {}))}")
    if not args.skip_datatrove:
        for buckets, hashes in ((14, 8), (21, 9)):
            seconds, labels = run_datatrove(docs, workdir, buckets, hashes)
            rows.append((f"datatrove MinHash {buckets}x{hashes} (sha1, 64-bit)", seconds,
                         *scores(same_group_pairs(labels), truth)))

    print(f"\nthreshold {args.threshold}; {len(docs)} documents; 2 cores (local[2] / 2 workers); "
          f"Spark session start-up {startup:.1f} s not included")
    print("| system | seconds | docs/s | precision | recall | F1 |\n|---|---:|---:|---:|---:|---:|")
    for name, seconds, p, r, f1 in rows:
        print(f"| {name} | {seconds:.1f} | {len(docs) / seconds:.0f} | {p:.4f} | {r:.4f} | {f1:.4f} |")
    for ours_name, ours, *_ in rows[:3]:
        for name, seconds, *_ in rows[3:]:
            print(f"speed-up of {ours_name} over {name}: {seconds / ours:.2f}x")
    spark.stop()
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
