"""Readers on hostile input: lone surrogates, corrupt Parquet, byte-order marks, folder scans that meet non-data
files, and files whose content is not the format their name claims. Pure Python, no Spark."""

from __future__ import annotations

import gzip
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.errors import CuratorError
from curator.io.readers import ReadOptions, check_format, detect_format, expand_paths, read_file, record_batches


GOOD = b'{"id": "good", "text": "A perfectly fine document."}\n'


def read(path) -> list[dict]:
    return list(read_file(str(path), path.name, ReadOptions()))


def test_lone_surrogate_is_a_rejection_that_arrow_can_write(tmp_path):
    from curator.document import DECISION_FIELDS, DOCUMENT_FIELDS

    path = tmp_path / "s.jsonl"
    path.write_bytes(GOOD + b'{"id": "s", "text": "half a pair \\ud800 here"}\n'
                     + b'{"id": "m", "text": "fine text", "title": "\\udfff"}\n' + GOOD.replace(b"good", b"g2"))
    rows = read(path)
    assert [r["reason"] for r in rows] == [None, "invalid_unicode", "invalid_unicode", None]
    assert rows[1]["reason_detail"] == f"{path} record 2: lone surrogate in text at character 12"
    assert "meta" in rows[2]["reason_detail"] and "\\udfff" in rows[2]["meta"]
    # Before the fix this raised UnicodeEncodeError inside the Spark task and aborted the run.
    schema = pa.schema(DOCUMENT_FIELDS + DECISION_FIELDS)
    assert sum(b.num_rows for b in record_batches(rows, schema)) == 4


@pytest.mark.parametrize("damage", ["garbage", "cut_footer", "zeroed_middle"])
def test_corrupt_parquet_is_one_corrupt_file_rejection_naming_the_file(tmp_path, damage):
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"id": [f"d{i}" for i in range(2000)], "text": ["some words " * 20] * 2000}), good,
                   row_group_size=500, compression="none")
    data = bytearray(good.read_bytes())
    path = tmp_path / "bad.parquet"
    if damage == "garbage":
        data = b"this is not parquet at all"
    elif damage == "cut_footer":
        data = data[: len(data) - 20]
    else:  # a page in the middle overwritten: the footer is fine, decoding a later row group fails
        middle = len(data) // 2
        data[middle:middle + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(data))
    rows = read(path)
    corrupt = [r for r in rows if r["reason"] == "corrupt_file"]
    assert len(corrupt) == 1 and rows[-1] is corrupt[0]
    assert str(path) in corrupt[0]["reason_detail"]
    assert all(r["reason"] is None for r in rows[:-1])  # rows before the damage are kept


def test_utf8_byte_order_mark_is_stripped(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD + GOOD.replace(b"good", b"g2"))
    rows = read(path)
    assert [(r["id"], r["reason"]) for r in rows] == [("good", None), ("g2", None)]
    check_format(str(path))


def test_folder_scan_reads_only_data_extensions(tmp_path):
    (tmp_path / "part-0.jsonl").write_bytes(GOOD)
    (tmp_path / "part-1.jsonl.gz").write_bytes(gzip.compress(GOOD))
    (tmp_path / "part-2.ndjson").write_bytes(GOOD)
    (tmp_path / "dataset_info.json").write_text(json.dumps({"description": "x", "features": {}}, indent=2))
    (tmp_path / "crawl.warc.gz").write_bytes(gzip.compress(b"WARC/1.0\r\nWARC-Type: warcinfo\r\n\r\n"))
    (tmp_path / "notes.zst").write_bytes(b"\x28\xb5\x2f\xfd")
    (tmp_path / "README.md").write_text("# corpus")
    # WARC/WET names are data too (read by curator.io.warc); the card, the bare .zst and the README are not.
    assert [rel for _, rel in expand_paths([str(tmp_path)])] == [
        "crawl.warc.gz", "part-0.jsonl", "part-1.jsonl.gz", "part-2.ndjson"]
    # Named explicitly, the looser endings still work.
    assert detect_format(str(tmp_path / "x.json")) == "jsonl" and detect_format("x.JSONL.GZ") == "jsonl.gz"


def test_file_whose_content_is_not_its_format_is_an_error_naming_it(tmp_path):
    warc_named_gz = tmp_path / "warc.gz"  # an uncompressed WARC named .gz is read as WARC by its content
    warc_named_gz.write_bytes(b"WARC/1.0\r\nWARC-Type: response\r\n\r\n" * 20)
    check_format(str(warc_named_gz))
    cases = {
        "junk.jsonl": random.Random(0).randbytes(4096),
        "info.json": json.dumps({"description": "dataset card", "features": {"text": "string"}}, indent=2).encode(),
        "plain.jsonl.zst": b"plain text, not zstd\n" * 5,
        "html.jsonl.gz": gzip.compress(b"<html>\n<body>\n<p>hello</p>\n</body>\n</html>\n"),
        "lines.parquet": b'{"id": "a", "text": "JSON Lines, not Parquet"}\n',
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CuratorError, match=f"^{path}: named as"):
            check_format(str(path))


def test_format_check_leaves_ordinary_bad_records_to_rejections(tmp_path):
    one_bad = tmp_path / "one.jsonl"
    one_bad.write_bytes(b'{"id": "bad", "text": \n')  # a single malformed record: a rejection, not an error
    mostly_bad = tmp_path / "mostly.jsonl"
    mostly_bad.write_bytes(b"{oops\n" * 5 + GOOD)
    empty = tmp_path / "empty.jsonl.gz"
    empty.write_bytes(b"")
    long_second = tmp_path / "long.jsonl"  # the sniff window ends inside a long, valid second record
    long_second.write_bytes(b"{oops\n" + json.dumps({"id": "long", "text": "word " * 40_000}).encode() + b"\n")
    damaged_parquet = tmp_path / "damaged.parquet"  # starts like Parquet: a corrupt_file rejection when read
    damaged_parquet.write_bytes(b"PAR1" + b"\x00" * 100)
    for path in (one_bad, mostly_bad, empty, long_second, damaged_parquet):
        check_format(str(path))
    assert [r["reason"] for r in read(one_bad)] == ["malformed_json"]
    assert read(empty) == []
