"""Stage fusion A/B: the same per-document stages fused into one Spark pass and run one by one, alternated.

One Spark session (``local[2]``, already started), the bench_e2e corpus written as two JSONL files, the spec
``ingest → langid (en) → quality (4 rule families) → pii (EMAIL_ADDRESS, IP_ADDRESS)``: with fusion, langid, quality
and pii are one pass. Each repetition runs both variants into fresh folders (order alternating); the table reports
the per-document stages' seconds (from ``stats.json``; ingest is the same code in both and left out) and checks
that both variants kept the same documents.

    nice .venv/bin/python benchmarks/bench_fusion.py [--docs 4000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def spec(inputs: Path, out: Path, fuse: bool):
    from curator.specs import PipelineSpec

    return PipelineSpec.model_validate({
        "name": "bench_fusion", "input": {"paths": [str(inputs)]}, "output": str(out), "allow_empty_output": True,
        "spark": {"master": "local[2]", "fuse_stages": fuse},
        "stages": [
            {"stage": "ingest"},
            {"stage": "langid", "languages": ["en"]},
            {"stage": "quality", "filters": ["gopher_repetition", "gopher_quality",
                                             {"use": "c4", "drop_lines_without_terminal_punct": False}, "fineweb"]},
            {"stage": "pii", "entities": ["EMAIL_ADDRESS", "IP_ADDRESS"]},
        ],
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    from bench_e2e import build_corpus, write_jsonl

    from curator.spark.runner import PipelineRunner
    from curator.spark.session import get_session
    from curator.specs import SparkSpec

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    work = Path(tempfile.mkdtemp(prefix="bench_fusion_"))
    try:
        docs = build_corpus(args.docs, seed=3)
        megabytes = write_jsonl(docs, work / "input") / 1e6
        spark = get_session(SparkSpec(master="local[2]", app_name="bench-fusion",
                                      conf={"spark.sql.shuffle.partitions": 4, "spark.driver.memory": "3g"}))
        seconds: dict[bool, list[float]] = {True: [], False: []}
        kept: dict[bool, set] = {}
        for repeat in range(args.repeats + 1):  # repeat 0 warms the Python workers and models up; not counted
            for fuse in ((True, False) if repeat % 2 else (False, True)):
                out = work / f"run_{repeat}_{fuse}"
                runner = PipelineRunner(spec(work / "input", out, fuse), spark=spark)
                runner.run_all()
                stats = {n: json.loads((out / n / "stats.json").read_text()) for n in ("langid", "quality", "pii")}
                # A fused segment's members all carry the segment's wall time: count it once.
                took = stats["pii"]["seconds"] if fuse else sum(s["seconds"] for s in stats.values())
                if repeat:
                    seconds[fuse].append(took)
                kept[fuse] = {r["id"] for r in spark.read.parquet(str(out / "pii" / "data")).select("id").collect()}
                shutil.rmtree(out, ignore_errors=True)
        assert kept[True] == kept[False], "fused and one-by-one runs kept different documents"
        print(f"{len(docs)} documents, {megabytes:.1f} MB; langid + quality + pii after ingest; local[2]; "
              f"{args.repeats} alternated repetitions after a warm-up; load average {os.getloadavg()[0]:.1f}\n")
        print("| variant | seconds (each run) | median s | docs/s | MB/s |\n|---|---|---:|---:|---:|")
        for fuse, label in ((True, "fused (one pass)"), (False, "one stage at a time")):
            median = statistics.median(seconds[fuse])
            print(f"| {label} | {', '.join(f'{s:.1f}' for s in seconds[fuse])} | {median:.1f} | "
                  f"{len(docs) / median:,.0f} | {megabytes / median:.2f} |")
        ratio = statistics.median(seconds[False]) / statistics.median(seconds[True])
        print(f"\nfused / one at a time docs/s: {ratio:.2f}x; kept {len(kept[True])} documents in both")
        spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)



if __name__ == "__main__":
    main()
