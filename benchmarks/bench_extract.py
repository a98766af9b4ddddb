"""HTML main-text extraction quality and speed, and WARC read throughput, beside peers run in the same script.

Part 1, extraction: the 181 real article pages of ../shared/data/article-extraction-benchmark (scrapinghub, with
hand-made ground-truth article bodies). Every extractor gets the same decoded HTML string (curator's
``decode_body``). Rows:

- curator trafilatura: ``curator.extract.html.extract_trafilatura`` (the default extractor);
- curator resiliparse: ``curator.extract.html.extract_resiliparse``;
- datatrove Trafilatura: ``datatrove.pipeline.extractors.Trafilatura().extract`` (its per-document function,
  without the sandbox process its ``run`` wraps around it, so its speed is an upper bound);
- plain trafilatura: ``trafilatura.extract(html)`` with the library's defaults.

Quality is token-level precision, recall and F1 of the extracted text against the ground truth (lower-cased ``\\w+``
tokens as multisets), computed per page and averaged over pages; an empty extraction scores 0. Speed is pages per
second in one process on one core: wall clock, and CPU time of the process (steadier on a shared machine).

Part 2, WARC reading: the Common Crawl WARC head in ../shared/data/resiliparse-cc-warc repeated ``--copies`` times
(gzip members concatenate into one valid file). Rows:

- bare FastWARC loop: ``ArchiveIterator`` over response records, reading each body (what curator builds on);
- bare warcio loop: ``warcio.ArchiveIterator`` doing the same (the other common library; how FastWARC was chosen);
- curator record tally: ``curator.io.warc.count_record_types`` (header pass, all records);
- bare FastWARC + Resiliparse: the loop above plus ``bytes_to_str`` and ``extract_plain_text(main_content=True)``;
- curator read_warc (resiliparse): ``curator.io.warc.read_warc``, charset detection, extraction and a row per
  record with its reason.

Records/s and MB/s (compressed input megabytes) are per CPU second of the process, steadier than wall time on a
shared machine; wall seconds are shown too. Ratios compare each curator row with the bare loop doing the same work.

Run: nice .venv/bin/python benchmarks/bench_extract.py [--copies 100] [--repeat 1]
Needs: datatrove, warcio (the `bench` extra), trafilatura and resiliparse (the `warc` extra).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from curator.extract.html import decode_body, extract_resiliparse, extract_trafilatura


DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
_TOKEN = re.compile(r"\w+")


def tokens(text: str | None) -> Counter:
    return Counter(_TOKEN.findall((text or "").lower()))


def prf(predicted: str | None, truth: str) -> tuple[float, float, float]:
    pred, gold = tokens(predicted), tokens(truth)
    overlap = sum((pred & gold).values())
    if not overlap:
        return 0.0, 0.0, 0.0
    p, r = overlap / sum(pred.values()), overlap / sum(gold.values())
    return p, r, 2 * p * r / (p + r)


def load_pages() -> list[tuple[str, str, str]]:
    """(html, url, ground-truth body) for every benchmark page."""
    folder = DATA / "article-extraction-benchmark"
    truth = json.loads((folder / "ground-truth.json").read_text())
    pages = []
    for key, item in sorted(truth.items()):
        raw = gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes())
        html, _ = decode_body(raw)
        pages.append((html, item.get("url"), item["articleBody"]))
    return pages


def extractors() -> dict:
    import trafilatura
    from datatrove.pipeline.extractors import Trafilatura as DatatroveTrafilatura

    datatrove = DatatroveTrafilatura()
    return {
        "curator trafilatura (default)": lambda html, url: extract_trafilatura(html, url),
        "curator resiliparse": lambda html, url: extract_resiliparse(html, url),
        "datatrove Trafilatura": lambda html, url: datatrove.extract(html),
        "plain trafilatura.extract": lambda html, url: trafilatura.extract(html),
    }


def bench_extraction(repeat: int) -> list[dict]:
    pages = load_pages()
    rows = []
    for name, extract in extractors().items():
        extract(pages[0][0], pages[0][1])  # warm-up: imports and lazily built tables are not per-page costs
        best_wall, best_cpu, outputs = None, None, None
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            outputs = [extract(html, url) for html, url, _ in pages]
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best_wall = wall if best_wall is None else min(best_wall, wall)
            best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
        scores = [prf(out, truth) for out, (_, _, truth) in zip(outputs, pages)]
        n = len(pages)
        rows.append({
            "extractor": name, "pages": n, "empty": sum(1 for o in outputs if not (o or "").strip()),
            "precision": sum(s[0] for s in scores) / n, "recall": sum(s[1] for s in scores) / n,
            "f1": sum(s[2] for s in scores) / n, "pages_s_wall": n / best_wall, "pages_s_cpu": n / best_cpu,
        })
    return rows


def build_warc(copies: int, folder: str) -> str:
    source = (DATA / "resiliparse-cc-warc" / "warcfile.warc.gz").read_bytes()
    path = os.path.join(folder, "cc-head-x%d.warc.gz" % copies)
    with open(path, "wb") as f:
        for _ in range(copies):
            f.write(source)
    return path


def _fastwarc_bodies(path: str):
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    for record in ArchiveIterator(path, record_types=WarcRecordType.response, parse_http=True, quirks_mode=True,
                                  fsspec_args=False):
        yield record, record.reader.read()


def bare_fastwarc(path: str) -> int:
    return sum(1 for _ in _fastwarc_bodies(path))


def bare_warcio(path: str) -> int:
    from warcio.archiveiterator import ArchiveIterator

    n = 0
    with open(path, "rb") as f:
        for record in ArchiveIterator(f):
            if record.rec_type == "response":
                record.content_stream().read()
                n += 1
    return n


def bare_fastwarc_resiliparse(path: str) -> int:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    n = 0
    for record, body in _fastwarc_bodies(path):
        html = bytes_to_str(body, record.http_charset or detect_encoding(body))
        extract_plain_text(html, main_content=True, preserve_formatting=True)
        n += 1
    return n


def curator_tally(path: str) -> int:
    from curator.io.warc import count_record_types

    return count_record_types(path)["response"]


def curator_read(path: str) -> int:
    from curator.io.readers import ReadOptions
    from curator.io.warc import HtmlOptions, read_warc

    return sum(1 for _ in read_warc(path, "bench", ReadOptions(), HtmlOptions(extractor="resiliparse")))


def bench_warc(copies: int, repeat: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = build_warc(copies, folder)
        mb = os.path.getsize(path) / 1e6
        for name, fn in (("bare FastWARC loop", bare_fastwarc), ("bare warcio loop", bare_warcio),
                         ("curator record tally (headers, all types)", curator_tally),
                         ("bare FastWARC + Resiliparse", bare_fastwarc_resiliparse),
                         ("curator read_warc (resiliparse)", curator_read)):
            best, best_cpu, records = None, None, 0
            for _ in range(repeat):
                start, cpu = time.perf_counter(), time.process_time()
                records = fn(path)
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                best = elapsed if best is None else min(best, elapsed)
                best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
            rows.append({"reader": name, "records": records, "seconds": best, "cpu_seconds": best_cpu,
                         "records_s": records / best_cpu, "mb_s": mb / best_cpu, "mb": mb})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=100, help="copies of the CC WARC head in the read test")
    parser.add_argument("--repeat", type=int, default=1, help="timed repetitions; the best is reported")
    args = parser.parse_args()

    extraction = bench_extraction(args.repeat)
    datatrove = next(r for r in extraction if r["extractor"].startswith("datatrove"))
    print(f"## Extraction: article-extraction-benchmark, {extraction[0]['pages']} pages, one process\n")
    print("| extractor | precision | recall | F1 | F1 vs datatrove | empty | pages/s (wall) | pages/s (CPU) "
          "| speed vs datatrove (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in extraction:
        print(f"| {r['extractor']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
              f"{r['f1'] / datatrove['f1']:.3f}x | {r['empty']} | {r['pages_s_wall']:.1f} | {r['pages_s_cpu']:.1f} | "
              f"{r['pages_s_cpu'] / datatrove['pages_s_cpu']:.2f}x |")

    reading = bench_warc(args.copies, args.repeat)
    bare = {r["reader"]: r for r in reading}
    peer_of = {"curator record tally (headers, all types)": "bare FastWARC loop",
               "curator read_warc (resiliparse)": "bare FastWARC + Resiliparse",
               "bare warcio loop": "bare FastWARC loop"}
    print(f"\n## WARC reading: CC WARC head x{args.copies} ({reading[0]['mb']:.1f} MB gzip, "
          f"{reading[0]['records']} responses), one process\n")
    print("| reader | response records | wall s | CPU s | records/s (CPU) | MB/s (CPU) | vs bare loop (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in reading:
        peer = bare.get(peer_of.get(r["reader"], ""))
        ratio = f"{r['records_s'] / peer['records_s']:.2f}x {peer['reader']}" if peer else "-"
        print(f"| {r['reader']} | {r['records']} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | "
              f"{r['records_s']:.0f} | {r['mb_s']:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
