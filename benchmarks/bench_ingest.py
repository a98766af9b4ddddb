"""Ingest + langid throughput: curator's Spark pipeline on 2 cores vs a plain single-process Python loop.

Corpus: JSONL.zst files generated from real public text in ../shared/data (State of the Union addresses, Moby
Dick, lingua's test sentences in 75 languages), cut into ~3 KB documents and repeated until the uncompressed JSONL
reaches ``--mb`` (default 64 MB); cached under ``--work`` and reused.

- ours: ``PipelineRunner`` with ``local[2]`` running ``ingest`` then ``langid`` (no language filter), exactly as
  ``curator run`` does: files read by Spark tasks with ``curator.io.readers``, ids checked for duplicates, kept and
  rejected rows written as Parquet (zstd), counts taken from the written data, ledger checked. Per-stage seconds come
  from each stage's ``stats.json``. Before timing, the same pipeline runs once on 300 documents so fixed costs (JVM
  start and JIT, Python worker start, model load) are left out: the figures are steady-state throughput.
- peer: the loop anyone would write first, in one process on one core: ``zstandard`` stream reader, ``json.loads``
  per line, fastText lid.176 ``predict`` on batches of 2000 texts (same model, same 10,000-character cut, newlines
  joined). It writes nothing, checks nothing and keeps no rejected records, so it is a lower bound on the work.

MB/s is input JSONL (uncompressed) megabytes per second for every row, so rows compare directly.

CPU s: CPU seconds of the whole process tree (driver, Spark JVM, Python workers) for ours, of the one process for
the loop; on a shared machine they are steadier than wall seconds.

Run: .venv/bin/python benchmarks/bench_ingest.py [--mb 64] [--files 8] [--work /tmp/curator-bench-ingest]
Needs: psutil (the `bench` extra).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import time
from pathlib import Path

from curator.io.writers import write_jsonl


DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DOC_CHARS = 3000
PREDICT_BATCH = 2000


def _chunks(text: str, size: int = DOC_CHARS) -> list[str]:
    """Paragraph-aligned pieces of about ``size`` characters."""
    pieces, current = [], []
    length = 0
    for paragraph in text.split("\n"):
        current.append(paragraph)
        length += len(paragraph) + 1
        if length >= size:
            pieces.append("\n".join(current).strip())
            current, length = [], 0
    if current and "\n".join(current).strip():
        pieces.append("\n".join(current).strip())
    return [p for p in pieces if p]


def base_documents() -> list[dict]:
    docs = []
    books = (("sotu", DATA / "stdlib-sotu" / "sotu.jsonl"), ("moby", DATA / "stdlib-moby-dick" / "moby_dick.jsonl"))
    for name, path in books:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f):
                record = json.loads(line)
                # SOTU addresses are single-paragraph blobs: split on sentences there.
                text = record["text"] if "\n" in record["text"] else record["text"].replace(". ", ".\n")
                docs.extend({"collection": name, "record": n, "text": chunk} for chunk in _chunks(text))
    for path in sorted((DATA / "lingua-language-testdata" / "language-testdata" / "sentences").glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for start in range(0, len(lines), 20):  # ~20 sentences of one language per document
            docs.append({"collection": "lingua", "lang": path.stem, "text": " ".join(lines[start:start + 20])})
    return docs


def build_corpus(target_mb: int, files: int, work: Path) -> dict:
    folder = work / f"corpus-{target_mb}mb-{files}f"
    manifest_path = folder / "_manifest.json"  # underscore: not an input file for the reader
    if manifest_path.exists():
        return json.loads(manifest_path.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    base = base_documents()
    target = target_mb * 1_000_000
    rows, size, copy = [], 0, 0
    while size < target:
        for n, doc in enumerate(base):
            row = {"id": f"c{copy}-{n}", **doc}
            rows.append(row)
            size += len(json.dumps(row, ensure_ascii=False).encode()) + 1
            if size >= target:
                break
        copy += 1
    for i in range(files):
        write_jsonl(rows[i::files], folder / f"part-{i:03d}.jsonl.zst")
    manifest = {
        "folder": str(folder), "docs": len(rows), "jsonl_bytes": size,
        "zst_bytes": sum(p.stat().st_size for p in folder.glob("*.zst")), "files": files,
    }
    manifest_path.write_text(json.dumps(manifest))
    return manifest


def run_plain_loop(folder: str) -> dict:
    """Peer baseline: one process, zstandard + json + fastText, nothing written."""
    import zstandard

    from curator.langid.stage import load_lid_model

    started = time.perf_counter()
    model = load_lid_model()
    load_seconds = time.perf_counter() - started
    docs, predict_seconds, langs = 0, 0.0, {}
    started, cpu_started = time.perf_counter(), time.process_time()
    for path in sorted(Path(folder).glob("*.jsonl.zst")):
        with open(path, "rb") as raw:
            batch = []
            for line in io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw), 1 << 20):
                batch.append(json.loads(line)["text"])
                if len(batch) == PREDICT_BATCH:
                    predict_seconds += _predict(model, batch, langs)
                    docs += len(batch)
                    batch = []
            if batch:
                predict_seconds += _predict(model, batch, langs)
                docs += len(batch)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"docs": docs, "read_seconds": total - predict_seconds, "predict_seconds": predict_seconds,
            "total_seconds": total, "cpu_seconds": cpu, "load_seconds": load_seconds, "langs": len(langs)}


def _lines(path: Path):
    import zstandard

    with open(path, "rb") as raw:
        yield from io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw), 1 << 20)


def _predict(model, texts: list[str], langs: dict) -> float:
    started = time.perf_counter()
    labels, _ = model.predict([" ".join(t[:10_000].split()) for t in texts], k=1)
    elapsed = time.perf_counter() - started
    for label in labels:
        langs[label[0]] = langs.get(label[0], 0) + 1
    return elapsed


def run_curator(folder: str, work: Path, master: str) -> dict:
    from curator.spark.runner import PipelineRunner
    from curator.spark.session import get_session
    from curator.specs import PipelineSpec, SparkSpec

    spark_spec = SparkSpec(master=master, app_name="bench-ingest",
                           conf={"spark.driver.memory": "3g", "spark.ui.showConsoleProgress": False})
    spark = get_session(spark_spec)
    run_dir = work / "run"

    def runner_for(input_folder: str) -> PipelineRunner:
        shutil.rmtree(run_dir, ignore_errors=True)
        spec = PipelineSpec.model_validate({
            "name": "bench-ingest", "input": {"paths": [input_folder]}, "output": str(run_dir),
            "spark": spark_spec.model_dump(), "stages": [{"stage": "ingest"}, {"stage": "langid"}],
        })
        return PipelineRunner(spec, spark=spark)

    # Warm-up: the same pipeline on 300 documents, so JVM start-up, JIT compilation, Python worker start and the
    # fastText load (fixed costs, ~20 CPU-s here) are not charged to the measured run.
    warm = work / "warmup"
    lines = [line for _, line in zip(range(300), _lines(next(Path(folder).glob("*.jsonl.zst"))))]
    write_jsonl((json.loads(line) for line in lines), warm / "warm.jsonl.zst")
    runner_for(str(warm)).run_all(force=True)

    runner = runner_for(folder)
    stats, cpu = {}, {}
    started = time.perf_counter()
    for stage in ("ingest", "langid"):
        cpu_before = process_tree_cpu_seconds()
        stats[stage] = runner.run_stage(stage, force=True).stats
        cpu[stage] = process_tree_cpu_seconds() - cpu_before
    total = time.perf_counter() - started
    spark.stop()
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"stages": stats, "total_seconds": total, "cpu": cpu}


def process_tree_cpu_seconds() -> float:
    """CPU seconds used so far by this process and its descendants (the Spark JVM and its Python workers).

    Wall time on a shared 2-core machine depends on what else runs; CPU time much less so.
    """
    import psutil

    total = 0.0
    me = psutil.Process()
    for process in [me, *me.children(recursive=True)]:
        try:
            t = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=64, help="uncompressed JSONL size of the corpus in MB")
    parser.add_argument("--files", type=int, default=8, help="number of .jsonl.zst files")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--work", type=Path, default=Path("/tmp/curator-bench-ingest"))
    args = parser.parse_args()

    corpus = build_corpus(args.mb, args.files, args.work)
    mb = corpus["jsonl_bytes"] / 1e6
    print(f"corpus: {corpus['docs']} documents in {corpus['files']} files, {mb:.1f} MB JSONL, "
          f"{corpus['zst_bytes'] / 1e6:.1f} MB as .jsonl.zst ({corpus['folder']})")

    plain = run_plain_loop(corpus["folder"])
    ours = run_curator(corpus["folder"], args.work, args.master)
    ingest, langid = ours["stages"]["ingest"], ours["stages"]["langid"]
    assert plain["docs"] == corpus["docs"] == ingest["in"], (plain["docs"], corpus["docs"], ingest["in"])

    rows = [
        (f"curator ingest ({args.master})", ingest["in"], ingest["seconds"], ours["cpu"]["ingest"]),
        (f"curator langid ({args.master})", langid["in"], langid["seconds"], ours["cpu"]["langid"]),
        (f"curator ingest+langid ({args.master})", ingest["in"], ours["total_seconds"], sum(ours["cpu"].values())),
        ("plain loop: read (1 process)", plain["docs"], plain["read_seconds"], None),
        ("plain loop: predict (1 process)", plain["docs"], plain["predict_seconds"], None),
        ("plain loop: read+predict (1 process)", plain["docs"], plain["total_seconds"], plain["cpu_seconds"]),
    ]
    print(f"\n{'what':<40}{'docs':>8}{'wall s':>8}{'docs/s':>8}{'MB/s':>7}{'CPU s':>8}{'MB/CPU-s':>10}")
    for name, docs, seconds, cpu in rows:
        cpu_cols = f"{cpu:>8.1f}{mb / cpu:>10.2f}" if cpu else f"{'-':>8}{'-':>10}"
        print(f"{name:<40}{docs:>8}{seconds:>8.1f}{docs / seconds:>8.0f}{mb / seconds:>7.2f}{cpu_cols}")
    print(f"\ncurator rejected: ingest {ingest['rejected'] or 'none'}; langid {langid['rejected'] or 'none'}")
    print(f"end-to-end wall-clock ratio curator/plain: {plain['total_seconds'] / ours['total_seconds']:.2f}x; "
          f"CPU-seconds ratio plain/curator: {plain['cpu_seconds'] / sum(ours['cpu'].values()):.2f}x "
          f"(curator also writes kept+rejected Parquet, checks ids and counts from the written data)")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          f"(wall times are only comparable on an otherwise idle machine)")

if __name__ == "__main__":
    main()
