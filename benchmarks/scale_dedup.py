"""Scale run: >= 1M generated documents through ingest + the dedup stage on this machine (local[2]).

Documents are generated inside Spark tasks (nothing is built on the driver) and written as parquet input. In every
block of 10 consecutive ids, ids 0-7 are unrelated random-word documents, id 8 is a formatting variant of id 0
(upper case, extra punctuation) and id 9 is a near copy of id 1 (one word replaced: 5-gram Jaccard 0.87-0.93).
Expected: N/5 documents removed. The exact key keeps case and punctuation (they are content for code and
mathematics), so the formatting variants are found by the MinHash step, not the exact one. Measure it with:

    /usr/bin/time -v .venv/bin/python benchmarks/scale_dedup.py --docs 1000000 --workdir /tmp/scale_dedup

The working folder is deleted at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def generate(spark, n_docs: int, path: Path, files: int) -> None:
    import numpy as np
    import pyarrow as pa

    vocabulary = np.array([f"w{i}" for i in range(50_000)])
    schema = pa.schema([pa.field("id", pa.string()), pa.field("text", pa.string())])

    def words_of(doc: int) -> list[str]:
        rng = np.random.default_rng(doc)
        n = 80 + doc % 71
        # Zipf-like word choice: squared uniform indexes favour small ones.
        return vocabulary[(rng.random(n) ** 2 * len(vocabulary)).astype(np.int64)].tolist()

    def run(batches):
        for batch in batches:
            ids, texts = [], []
            for i in batch.column("id").to_pylist():
                block, offset = divmod(i, 10)
                if offset == 8:  # exact duplicate of block+0, formatting changed
                    text = " ".join(words_of(block * 10)).upper().replace(" ", ", ") + "."
                elif offset == 9:  # near duplicate of block+1: one word replaced (Jaccard >= 0.87)
                    words = words_of(block * 10 + 1)
                    words[len(words) // 2] = "replaced"
                    text = " ".join(words)
                else:
                    text = " ".join(words_of(i))
                ids.append(f"doc{i:09d}")
                texts.append(text)
            yield pa.RecordBatch.from_arrays([pa.array(ids), pa.array(texts)], schema=schema)

    from curator.document import spark_schema

    (spark.range(0, n_docs, numPartitions=files).mapInArrow(run, spark_schema(schema))
     .write.mode("overwrite").parquet(str(path)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--workdir", default="/tmp/scale_dedup")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--partitions", type=int, default=32)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from curator.spark.runner import PipelineRunner
    from curator.spark.session import get_session
    from curator.specs import PipelineSpec, SparkSpec

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    workdir = Path(args.workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    spark = get_session(SparkSpec(master="local[2]", app_name="scale-dedup", conf={
        "spark.driver.memory": args.driver_memory, "spark.sql.shuffle.partitions": args.partitions,
        "spark.ui.showConsoleProgress": "false", "spark.local.dir": str(workdir / "spark-local")}))
    try:
        t = time.perf_counter()
        generate(spark, args.docs, workdir / "input", files=16)
        print(f"generated {args.docs} documents in {time.perf_counter() - t:.0f} s", flush=True)
        spec = PipelineSpec.model_validate({
            "name": "scale_dedup", "input": {"paths": [str(workdir / "input")], "format": "parquet"},
            "output": str(workdir / "run"), "stages": [{"stage": "ingest"}, {"stage": "dedup"}],
        })
        runner = PipelineRunner(spec, spark=spark)
        for name in ("ingest", "dedup"):
            result = runner.run_stage(name)
            print(f"stage {name}: {result.stats['seconds']} s", flush=True)
        stats = result.stats
        print(json.dumps(stats, indent=1))
        expected = args.docs // 10
        removed = stats['extra']['exact_duplicates'] + stats['extra']['minhash_duplicates']
        print(f"removed {removed} of {2 * expected} planted copies (exact {stats['extra']['exact_duplicates']}, "
              f"minhash {stats['extra']['minhash_duplicates']}); ledger balanced: {runner.ledger()['balanced']}")
    finally:
        spark.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
