"""Run a command and report its wall time and the peak resident memory of its whole process tree.

`/usr/bin/time -v` only sees the direct child; a Spark job's memory lives in the JVM and the Python workers it
starts, so this samples every descendant's RSS (psutil) and reports the peak of their sum.

    python benchmarks/peak_memory.py -- .venv/bin/python benchmarks/scale_dedup.py --docs 1000000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import psutil


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    started = time.time()
    child = subprocess.Popen(command)
    root = psutil.Process(child.pid)
    peak_total, peak_by_kind = 0, {}
    while child.poll() is None:
        total, by_kind = 0, {}
        try:
            for proc in [root, *root.children(recursive=True)]:
                try:
                    rss = proc.memory_info().rss
                    kind = "java" if "java" in proc.name() else "python" if "python" in proc.name() else "other"
                except psutil.Error:
                    continue
                total += rss
                by_kind[kind] = by_kind.get(kind, 0) + rss
        except psutil.Error:
            pass
        if total > peak_total:
            peak_total, peak_by_kind = total, by_kind
        time.sleep(args.interval)
    wall = time.time() - started
    parts = ", ".join(f"{k} {v / 2**30:.2f} GiB" for k, v in sorted(peak_by_kind.items()))
    print(f"\n| command | exit | wall s | peak RSS of process tree | at the peak |\n|---|---:|---:|---:|---|\n"
          f"| `{' '.join(command)}` | {child.returncode} | {wall:.0f} | {peak_total / 2**30:.2f} GiB | {parts} |")
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
