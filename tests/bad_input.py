"""Generator of a hostile input corpus, with its own hand count of what ingest must make of every physical record.

``write_bad_corpus(folder)`` writes a folder a new user might point curator at: good records mixed with every kind
of damage ingest must survive (lone surrogates, corrupt and wrongly typed Parquet, a byte-order mark, cut .zst and
.gz files, an empty file, empty/whitespace/NUL text, CRLF line ends, nested-object and integer text, duplicate ids,
a missing final newline, malformed JSON, bad UTF-8), plus non-data files a folder scan must leave alone
(``dataset_info.json``, a WARC, a README). The returned :class:`BadCorpus` says, counted by hand while writing, how
many records there are, how many ingest keeps and how many it rejects for each reason.

``write_fatal_files(folder)`` writes files whose content is not the format their name claims; each must stop the
run with an error naming the file, before any Spark work.

All text is written here (no third-party text). Used by tests/test_bad_input_e2e.py.
"""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard


# Distinct, plainly English, long enough to pass the quality rules: one topic per document so dedup keeps them all.
TOPICS = [
    "the river flooded the lower fields after three days of heavy rain in the valley",
    "the library opened a new reading room for students who study late into the evening",
    "a small bakery on the corner sells fresh bread every morning before the market opens",
    "the city council voted to repair the old bridge over the canal before the winter",
    "our neighbours planted apple trees along the fence and shared the first harvest with us",
    "the museum moved its collection of maps to a larger hall on the second floor",
    "the school choir practised twice a week for the concert at the end of the term",
    "a group of volunteers cleaned the beach and collected bags of plastic from the sand",
    "the train to the coast was delayed because a fallen tree blocked the line near the station",
    "the farmers met in the village hall to discuss the price of grain and the dry summer",
    "my grandmother kept a notebook of recipes that she had collected from friends over the years",
    "the hospital hired more nurses to shorten the waiting times in the emergency department",
    "the bicycle shop repairs punctures quickly and lends a spare bike while you wait",
    "the weather station on the hill records wind speed and temperature every ten minutes",
    "the theatre company toured the northern towns with a new play about a lighthouse keeper",
    "the post office will close early on Friday because of the public holiday on Monday",
    "the children built a tree house in the garden with wood left over from the new shed",
    "the football club raised money for new floodlights by selling tickets to a summer fair",
    "a storm damaged the roof of the church and the parish started a fund to repair it",
    "the ferry crosses the bay every hour in summer and twice a day during the winter months",
    "the night market sells grilled fish, noodles and sweet rice cakes until midnight",
    "the engineers tested the new pump at the water works before connecting it to the network",
    "the village shop now stocks local honey, cheese and eggs from the farms nearby",
    "the orchestra announced a free concert in the park to celebrate its fiftieth season",
    "the students measured the height of the tower with a long rope and a simple protractor",
    "the harbour master warned the fishing boats to stay in port until the wind dropped",
    "the old mill by the stream has been turned into a cafe with a small art gallery upstairs",
    "the gardeners covered the young plants with straw to protect them from the early frost",
    "the new bus route links the hospital, the university and the railway station every half hour",
    "a family of foxes has made a den under the shed at the bottom of the allotments",
]


def english(i: int) -> str:
    topic = TOPICS[i % len(TOPICS)]
    assert i < len(TOPICS), "add topics: repeated text would be deduplicated"
    return (f"In the news this week, {topic}. People who live nearby said they were pleased with the work. "
            "Several of them wrote to the local paper to thank everyone who helped. The plans for next year will be "
            "discussed at a public meeting. Anyone may come along to ask questions and offer ideas. The meeting "
            "starts at seven in the evening, and tea will be served afterwards.")


@dataclass
class BadCorpus:
    folder: Path
    records: int = 0  # physical records: what ingest's `in` must be
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    ignored_files: list[str] = field(default_factory=list)  # non-data files a folder scan must not read
    _next_topic: int = 0

    def good(self, doc_id: str | None = None, **extra) -> dict:
        text = english(self._next_topic)
        self._next_topic += 1
        self.records += 1
        self.kept += 1
        return {**({"id": doc_id} if doc_id is not None else {}), "text": text, **extra}

    def bad(self, reason: str, count: int = 1) -> None:
        self.records += count
        self.rejected[reason] += count


def _jsonl(records: list[dict | bytes], newline: bytes = b"\n", final_newline: bool = True) -> bytes:
    lines = [r if isinstance(r, bytes) else json.dumps(r).encode() for r in records]
    return newline.join(lines) + (newline if final_newline else b"")


def write_bad_corpus(folder: Path, *, huge_document_mb: int = 0) -> BadCorpus:
    """Write the corpus under ``folder`` and return its hand count. ``huge_document_mb`` adds one document of
    that size (the 50 MB case; slow)."""
    folder.mkdir(parents=True, exist_ok=True)
    c = BadCorpus(folder)

    # Plain good records, and the same with a BOM, CRLF line ends and no final newline.
    (folder / "good.jsonl").write_bytes(_jsonl([c.good(f"good-{i}") for i in range(3)]))
    (folder / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + _jsonl([c.good("bom-1"), c.good("bom-2")]))
    (folder / "crlf.jsonl").write_bytes(_jsonl([c.good("crlf-1"), c.good("crlf-2")], newline=b"\r\n"))
    (folder / "no_final_newline.jsonl").write_bytes(_jsonl([c.good("nfn-1"), c.good("nfn-2")], final_newline=False))

    # Record-level damage, one reason each, between good records; blank lines are not records.
    bad_records: list[tuple[dict | bytes, str]] = [
        (b'{"id": "bad-json", "text": "unterminated', "malformed_json"),
        (b'{"id": "raw-nul", "text": "a raw \x00 byte is not valid JSON"}', "malformed_json"),
        (b'["a", "list", "not", "an", "object"]', "malformed_json"),
        (b'{"id": "latin1", "text": "caf\xe9 au lait"}', "invalid_utf8"),
        (b'{"id": "surrogate", "text": "half a pair \\ud800 of surrogates"}', "invalid_unicode"),
        (b'{"id": "meta-surrogate", "text": "fine", "title": "\\udfff"}', "invalid_unicode"),
        ({"id": "no-text", "body": "the text is under another key"}, "missing_text"),
        ({"id": "nested", "text": {"en": "nested object"}}, "non_string_text"),
        ({"id": "int-text", "text": 42}, "non_string_text"),
        ({"id": "empty", "text": ""}, "empty_text"),
        ({"id": "blank", "text": " \n\t  "}, "empty_text"),
        ({"id": "only-nul", "text": "\u0000\u0000"}, "empty_text"),
    ]
    damaged: list[dict | bytes] = [c.good("mixed-1"), b"", b"   "]
    for record, reason in bad_records:
        damaged.append(record)
        c.bad(reason)
    damaged.append(c.good("nul-inside"))
    damaged[-1]["text"] = damaged[-1]["text"].replace("news", "n\u0000ews")  # NUL is stripped, the record kept
    damaged.append({"id": "good-0", "text": english(len(TOPICS) - 1)})  # good.jsonl's first id again
    c.bad("duplicate_id")
    damaged.append(c.good(None))  # no id: one is generated from the file and position
    (folder / "mixed.jsonl").write_bytes(_jsonl(damaged))

    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "empty.jsonl.zst").write_bytes(b"")

    # Cut compressed files: the complete first frame / member is read, the cut second one is one truncated_input.
    first = _jsonl([c.good(f"zst-{i}") for i in range(2)])
    second = zstandard.ZstdCompressor().compress(_jsonl([{"id": "zst-cut", "text": "lost " * 500}]))
    (folder / "cut.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(first) + second[: len(second) // 2])
    c.bad("truncated_input")
    first = gzip.compress(_jsonl([c.good(f"gz-{i}") for i in range(2)]))
    second = gzip.compress(_jsonl([{"id": "gz-cut", "text": "lost " * 500}]))
    (folder / "cut.jsonl.gz").write_bytes(first + second[:12])
    c.bad("truncated_input")

    # Parquet: a good file, one whose text column is an integer column, and a corrupt one.
    good_rows = [c.good(f"pq-{i}") for i in range(2)]
    pq.write_table(pa.Table.from_pylist(good_rows), folder / "good.parquet")
    pq.write_table(pa.table({"id": ["int-1", "int-2"], "text": pa.array([1, 2], pa.int64())}),
                   folder / "int_text.parquet")
    c.bad("non_string_text", 2)
    (folder / "corrupt.parquet").write_bytes(b"PAR1" + bytes(random.Random(1).randbytes(300)) + b"PAR1")
    c.bad("corrupt_file")

    if huge_document_mb:
        sentence = english(len(TOPICS) - 2) + " "
        text = sentence * (huge_document_mb * 1_000_000 // len(sentence) + 1)
        (folder / "huge.jsonl").write_text(json.dumps({"id": "huge", "text": text}) + "\n")
        c.records += 1
        c.kept += 1

    # Files a folder scan must ignore: a dataset card, a WARC, notes.
    (folder / "dataset_info.json").write_text(json.dumps({"description": "bad-input corpus", "features": {}},
                                                         indent=2))
    (folder / "crawl.warc.gz").write_bytes(gzip.compress(b"WARC/1.0\r\nWARC-Type: warcinfo\r\n\r\n"))
    (folder / "README.md").write_text("Generated by tests/bad_input.py.\n")
    c.ignored_files = ["dataset_info.json", "crawl.warc.gz", "README.md"]
    return c


def write_fatal_files(folder: Path) -> dict[Path, str]:
    """Files whose content is not their format, each in its own folder: path -> what the error must say."""
    cases = {
        "junk/binary.jsonl": (random.Random(0).randbytes(4096), "binary file"),
        "plain/not_gzip.jsonl.gz": (_jsonl([{"id": "x", "text": "plain text"}] * 3), "not gz-compressed"),
        "html/page.jsonl.gz": (gzip.compress(b"<html>\n<body>\n<p>a web page</p>\n</body>\n</html>\n"),
                               "first lines are not JSON objects"),
        "lines/data.parquet": (_jsonl([{"id": "x", "text": "JSON Lines, not Parquet"}]), "is not a Parquet file"),
    }
    written = {}
    for name, (content, message) in cases.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written[path] = message
    return written
