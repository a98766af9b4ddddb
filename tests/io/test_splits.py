"""Large inputs read by several tasks: line-aligned byte ranges of uncompressed JSONL (a record belongs to the range
its first byte lies in) and groups of Parquet row groups. Every physical record comes out exactly once, with the
same id, reason and record number as a whole-file read, for every split size."""

from __future__ import annotations

import dataclasses
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.io.readers import FileSplit, ReadOptions, count_split_records, plan_splits, range_lines, read_file


LINES = [
    b"\xef\xbb\xbf" + json.dumps({"id": "a", "text": "first record after a byte-order mark"}).encode() + b"\n",
    json.dumps({"text": "no id: gets a stable one from its record number " * 3}).encode() + b"\r\n",
    b"\n",
    b"   \n",
    b'{"id": "bad", "text": \n',  # malformed_json
    json.dumps({"id": "long", "text": "a record much longer than the split size " * 20}).encode() + b"\n",
    b'{"id": "utf", "text": "\xff\xfe"}\n',  # invalid_utf8
    b"\r\n",
    json.dumps({"id": "empty", "text": "  "}).encode() + b"\n",
    json.dumps({"text": "another record without an id"}).encode() + b"\n",
    json.dumps({"id": "last", "text": "the last line has no newline"}).encode(),
]


def whole_and_split(path: str, split_bytes: int) -> tuple[list[dict], list[dict], list[FileSplit]]:
    options = ReadOptions()
    whole = list(read_file(path, "in.jsonl", options))
    splits = plan_splits([(path, "in.jsonl")], "auto", split_bytes)
    # What read_files does on Spark: count each range, then number the ranges in file order.
    counted, before = [], 0
    for split in splits:
        if split.kind != "bytes":  # whole files and Parquet row groups are numbered when planned
            counted.append(split)
            continue
        counted.append(dataclasses.replace(split, first_record=before))
        before += count_split_records(split)
    parts = [row for split in counted for row in read_file(path, "in.jsonl", options, split=split)]
    return whole, parts, counted


@pytest.mark.parametrize("split_bytes", [1, 2, 7, 16, 50, 64, 100, 333, 10_000])
def test_byte_ranges_yield_every_record_once_with_whole_file_ids_and_numbers(tmp_path, split_bytes):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(LINES))
    whole, parts, splits = whole_and_split(str(path), split_bytes)
    assert len(whole) == 8  # 11 physical lines, 3 of them blank
    assert parts == whole  # same rows, same order, same ids, reasons and "record N" details
    size = path.stat().st_size
    if split_bytes < size:
        assert len(splits) == -(-size // split_bytes) and all(s.kind == "bytes" for s in splits)
        assert [s.start for s in splits] == list(range(0, size, split_bytes)) and splits[-1].end == size
    else:
        assert [s.kind for s in splits] == ["whole"]
    reasons = {r["reason"] for r in parts}
    assert {"malformed_json", "invalid_utf8", "empty_text", None} <= reasons
    assert any("record 3:" in (r["reason_detail"] or "") for r in parts if r["reason"] == "malformed_json")


def test_a_record_straddling_a_boundary_belongs_to_the_range_it_starts_in(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"text": "x"}\n{"text": "yy"}\n')  # second line starts at byte 14
    assert list(range_lines(str(path), 0, 14)) == [b'{"text": "x"}\n']
    assert list(range_lines(str(path), 0, 15)) == [b'{"text": "x"}\n', b'{"text": "yy"}\n']
    assert list(range_lines(str(path), 14, 30)) == [b'{"text": "yy"}\n']  # starts exactly at a line
    assert list(range_lines(str(path), 15, 30)) == []  # inside the second line: it belongs to the range before


def test_compressed_and_small_files_stay_one_split(tmp_path):
    import gzip

    import zstandard

    data = b"".join(LINES)
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(data))
    (tmp_path / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    (tmp_path / "c.jsonl").write_bytes(data)
    files = [(str(tmp_path / n), n) for n in ("a.jsonl.gz", "b.jsonl.zst", "c.jsonl")]
    kinds = [s.kind for s in plan_splits(files, "auto", 8)]
    assert kinds[:2] == ["whole", "whole"] and set(kinds[2:]) == {"bytes"} and len(kinds) > 3
    assert [s.kind for s in plan_splits(files, "auto", 1 << 30)] == ["whole"] * 3


def test_parquet_is_split_by_row_groups_with_whole_file_numbering(tmp_path):
    path = tmp_path / "in.parquet"
    texts = [f"parquet document number {i} " * 5 if i % 7 else "" for i in range(100)]
    table = pa.table({"text": texts})
    pq.write_table(table, path, row_group_size=10)
    whole, parts, splits = whole_and_split(str(path), 1)
    assert len(splits) == 10 and all(s.kind == "row_groups" for s in splits)
    assert [s.first_record for s in splits] == list(range(0, 100, 10))
    assert parts == whole and len(parts) == 100
    assert sum(r["reason"] == "empty_text" for r in parts) == 15
    bigger = plan_splits([(str(path), "in.parquet")], "auto", path.stat().st_size // 3)
    assert 1 < len(bigger) < 10 and bigger[-1].end == 10
