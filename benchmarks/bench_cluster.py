"""What the cluster path costs on one machine: the same pipeline through spark-submit on local[N] and on an N-worker
Spark standalone cluster (one core each) started from the installed pyspark, alternated, wall time side by side.

    python benchmarks/bench_cluster.py                       # demo spec, 2 workers, 2 rounds
    python benchmarks/bench_cluster.py --spec pipelines/demo.yaml --workers 2 --rounds 3

Prints a markdown table (median wall seconds per mode and the cluster/local ratio) and checks that both modes kept
the same documents.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]


def run(cluster, master: str | None, spec: Path, output: Path) -> float:
    command = cluster.submit_command(str(REPO / "pipelines" / "curate.py"), str(spec), "--output", str(output),
                                     master=master)
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=REPO, env=cluster.env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        sys.stderr.write(finished.stdout[-3000:] + finished.stderr[-3000:])
        raise SystemExit(f"spark-submit failed ({'local' if master else 'cluster'})")
    return seconds


def main(argv: list[str] | None = None) -> int:
    from curator.spark.standalone import StandaloneCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=REPO / "pipelines" / "demo.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)

    times: dict[str, list[float]] = {"local": [], "cluster": []}
    kept: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        with StandaloneCluster(root / "cluster", workers=args.workers, cores_per_worker=1,
                               memory_per_worker="1g") as cluster:
            for round_ in range(args.rounds):
                for mode, master in (("local", f"local[{args.workers}]"), ("cluster", None)):
                    out = root / f"{mode}-{round_}"
                    times[mode].append(run(cluster, master, args.spec, out))
                    kept[mode] = json.loads((out / "ledger.json").read_text())["kept"]
                    print(f"round {round_} {mode}: {times[mode][-1]:.1f} s", flush=True)
    if kept["local"] != kept["cluster"]:
        raise SystemExit(f"kept documents differ: {kept}")
    local, cluster = statistics.median(times["local"]), statistics.median(times["cluster"])
    print(f"\n| mode | wall s (median of {args.rounds}) | runs | kept docs |\n|---|---:|---|---:|")
    print(f"| spark-submit --master local[{args.workers}] | {local:.1f} | "
          f"{', '.join(f'{t:.1f}' for t in times['local'])} | {kept['local']} |")
    print(f"| standalone, {args.workers} workers x 1 core | {cluster:.1f} | "
          f"{', '.join(f'{t:.1f}' for t in times['cluster'])} | {kept['cluster']} |")
    print(f"\ncluster / local wall time: {cluster / local:.2f}x ({args.spec.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
