"""How much Spark work the dedup stage does on a pipeline's input: Spark jobs and wall time of the stage alone.

Runs the spec's stages before ``dedup`` once (untimed), then the dedup stage ``--repeats`` times (forced) under a
Spark job group, and prints one markdown row per run with the number of Spark jobs the stage started and its
seconds (the runner's reading, writing of kept/rejected parquet and stats included). ``--code DIR`` puts another
checkout of curator first on the path, so the same script measures an older commit (e.g. ``git archive`` of main).

    .venv/bin/python benchmarks/dedup_jobs.py [--spec pipelines/demo.yaml] [--repeats 3] [--code DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=str(REPO / "pipelines" / "demo.yaml"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--code", default=None, help="a curator checkout to measure instead of this one")
    parser.add_argument("--stage", default="dedup")
    args = parser.parse_args()
    code = str(Path(args.code).resolve() if args.code else REPO)
    sys.path.insert(0, code)
    # Spark's Python workers import curator too: they must see the same checkout.
    os.environ["PYTHONPATH"] = os.pathsep.join([code, *filter(None, [os.environ.get("PYTHONPATH")])])

    import curator
    from curator.spark.runner import PipelineRunner
    from curator.specs import load_pipeline

    spec_path = Path(args.spec).resolve()
    pipeline = load_pipeline(spec_path)
    out = Path(tempfile.mkdtemp(prefix="dedup_jobs_"))
    runner = PipelineRunner(pipeline, output=str(out))
    names = [s.name for s in pipeline.stages]
    for name in names[:names.index(args.stage)]:
        runner.run_stage(name)
    sc = runner.spark.sparkContext
    print(f"code: {Path(curator.__file__).parent.parent}; spec: {spec_path.name}; stage: {args.stage}")
    print("| run | Spark jobs | seconds | in process | removed |\n|---:|---:|---:|---|---:|")
    for repeat in range(args.repeats):
        group = f"{args.stage}-{repeat}"
        sc.setJobGroup(group, f"{args.stage} run {repeat}")
        started = time.perf_counter()
        result = runner.run_stage(args.stage, force=True)
        seconds = time.perf_counter() - started
        jobs = len(sc.statusTracker().getJobIdsForGroup(group))
        extra = result.stats.get("extra", {})
        print(f"| {repeat + 1} | {jobs} | {seconds:.2f} | {extra.get('in_process', '-')} | "
              f"{extra.get('duplicates_removed')} |")
    print(f"stage stats: {json.dumps(result.stats.get('extra', {}), default=str)}")
    runner.spark.stop()
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
