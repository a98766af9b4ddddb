"""Readers and writers: every format round-trips, folders and globs expand, compressed files cut short are reported."""

from __future__ import annotations

import gzip
import json

import pyarrow.parquet as pq
import pytest
import zstandard

from curator.document import DOCUMENT_SCHEMA
from curator.errors import CuratorError
from curator.io.readers import ReadOptions, expand_paths, read_file
from curator.io.writers import write_jsonl, write_parquet


INPUT_RECORDS = [
    {"id": "a1", "text": "Plain English text.", "url": "https://example.org/a", "year": 1999},
    {"text": "Ünïcödé: naïve café, 東京, Привет", "tags": ["x", "y"]},  # no id: one is generated
    {"id": 7, "text": "line one\nline two", "nested": {"k": [1, 2]}},  # an integer id is kept as "7"
]
DOCUMENT_COLUMNS = ["id", "text", "source", "url", "meta"]


def read_all(path, **options):
    files = expand_paths([str(path)])
    return [row for abs_path, rel in files for row in read_file(abs_path, rel, ReadOptions(**options))]


def documents(rows):
    return [{k: row[k] for k in DOCUMENT_COLUMNS} for row in rows]


@pytest.fixture
def input_docs(tmp_path):
    source = tmp_path / "input" / "docs.jsonl"
    source.parent.mkdir()
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in INPUT_RECORDS))
    rows = read_all(source)
    assert [r["reason"] for r in rows] == [None, None, None]
    return documents(rows)


def test_reader_maps_fields_to_the_document_schema(input_docs):
    first, generated, integer = input_docs
    assert first == {"id": "a1", "text": "Plain English text.", "source": "docs.jsonl",
                     "url": "https://example.org/a", "meta": json.dumps({"year": 1999})}
    assert len(generated["id"]) == 24 and generated["url"] is None
    assert json.loads(generated["meta"]) == {"tags": ["x", "y"]}
    assert integer["id"] == "7"


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.zst", "out.jsonl.gz", "out.parquet"])
def test_pure_writers_round_trip(tmp_path, input_docs, name):
    target = tmp_path / "written" / name
    if name.endswith(".parquet"):
        assert write_parquet(input_docs, target) == 3
        assert pq.read_schema(target).names == DOCUMENT_SCHEMA.names
    else:
        assert write_jsonl(input_docs, target) == 3
    if name.endswith(".zst"):
        assert target.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic: compressed by suffix
    if name.endswith(".gz"):
        assert gzip.decompress(target.read_bytes()).count(b"\n") == 3

    back = read_all(target)
    assert [r["reason"] for r in back] == [None, None, None]
    # Same ids, text, url, source and meta: meta is unpacked, not nested a JSON level deeper.
    assert documents(back) == input_docs
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")], "temporary file left behind"


def test_annotation_columns_read_back_into_meta(tmp_path, input_docs):
    annotated = [{**d, "lang": "en", "lang_score": 0.5} for d in input_docs]
    write_jsonl(annotated, tmp_path / "a.jsonl")
    back = documents(read_all(tmp_path / "a.jsonl"))
    assert [d["id"] for d in back] == [d["id"] for d in input_docs]
    assert json.loads(back[0]["meta"]) == {"lang": "en", "lang_score": 0.5, "year": 1999}


def test_write_jsonl_replaces_existing_file_only_when_complete(tmp_path):
    target = tmp_path / "x.jsonl.zst"
    write_jsonl([{"id": "old", "text": "old"}], target)

    def failing_rows():
        yield {"id": "new", "text": "new"}
        raise RuntimeError("upstream failed")

    with pytest.raises(RuntimeError):
        write_jsonl(failing_rows(), target)
    assert [r["id"] for r in read_all(target)] == ["old"]
    assert [p.name for p in tmp_path.iterdir()] == ["x.jsonl.zst"]


def test_expand_paths_folders_and_globs(tmp_path):
    root = tmp_path / "corpus"
    write_jsonl([{"text": "a"}], root / "a.jsonl")
    write_jsonl([{"text": "b"}], root / "sub" / "b.jsonl.zst")
    write_parquet([{"text": "c"}], root / "sub" / "c.parquet")
    (root / "notes.txt").write_text("not data")
    write_jsonl([{"text": "hidden"}], root / ".hidden.jsonl")
    write_jsonl([{"text": "in progress"}], root / "_temporary" / "0" / "part.jsonl")  # Spark work in progress
    write_jsonl([{"text": "success"}], root / "_SUCCESS.jsonl")

    folder = expand_paths([str(root)])
    assert [rel for _, rel in folder] == ["a.jsonl", "sub/b.jsonl.zst", "sub/c.parquet"]
    assert all(p.startswith("/") for p, _ in folder)
    assert [r["text"] for r in read_all(root)] == ["a", "b", "c"]

    globbed = expand_paths([str(root / "sub" / "*.jsonl.zst"), str(root / "**" / "*.parquet")])
    assert [rel for _, rel in globbed] == ["b.jsonl.zst", "sub/c.parquet"]

    # Relative names feed generated ids: the same corpus copied elsewhere keeps its ids.
    copy = tmp_path / "moved"
    copy.mkdir()
    (copy / "a.jsonl").write_bytes((root / "a.jsonl").read_bytes())
    assert read_all(copy)[0]["id"] == read_all(root)[0]["id"]

    with pytest.raises(CuratorError, match="input not found"):
        expand_paths([str(tmp_path / "missing.jsonl")])
    with pytest.raises(CuratorError, match="matched no readable files"):
        expand_paths([str(tmp_path / "*.nothing")])


def test_multi_frame_zstd_is_read_completely(tmp_path):
    lines = [json.dumps({"id": str(i), "text": f"document {i}"}).encode() + b"\n" for i in range(300)]
    compressor = zstandard.ZstdCompressor()
    path = tmp_path / "frames.jsonl.zst"
    # Three independently compressed frames, as produced by `cat a.zst b.zst c.zst` or chunked writers.
    path.write_bytes(b"".join(compressor.compress(b"".join(lines[i:i + 100])) for i in range(0, 300, 100)))
    rows = read_all(path)
    assert [r["id"] for r in rows] == [str(i) for i in range(300)]


def _real_text_records():
    # ~0.6 MB of distinct lines of real prose from the embedded sample: several 128 KB zstd blocks, so half the
    # file holds whole blocks.
    from tests.conftest import sample_texts

    lines = [line for text in sample_texts("sotu-")[:120] + sample_texts("leipzig-") for line in text.splitlines()]
    return [{"id": f"s{i}", "text": line} for i, line in enumerate(dict.fromkeys(filter(str.strip, lines)))]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("suffix", [".jsonl.zst", ".jsonl.gz"])
def test_compressed_file_cut_in_half_reads_prefix_and_reports_the_rest(tmp_path, suffix):
    records = _real_text_records()
    assert sum(len(r["text"]) for r in records) > 500_000
    whole = tmp_path / f"whole{suffix}"
    write_jsonl(records, whole)
    cut = tmp_path / f"cut{suffix}"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])

    rows = read_all(cut)
    kept, rejected = rows[:-1], rows[-1]
    # The readable part is ingested intact and in order ...
    assert 0 < len(kept) < len(records)
    assert [r["reason"] for r in kept] == [None] * len(kept)
    assert [(r["id"], r["text"]) for r in kept] == [(d["id"], d["text"]) for d in records[: len(kept)]]
    # ... and the loss is one recorded rejection that names the file, never a silent end of file.
    assert rejected["reason"] == "truncated_input"
    assert str(cut) in rejected["reason_detail"]
    assert f"after record {len(kept)}" in rejected["reason_detail"]


def test_corrupt_zstd_is_a_recorded_rejection(tmp_path):
    path = tmp_path / "garbage.jsonl.zst"
    path.write_bytes(b"this was never compressed\n")
    rows = read_all(path)
    assert [r["reason"] for r in rows] == ["truncated_input"]
    assert "garbage.jsonl.zst" in rows[0]["reason_detail"]


def test_unreadable_parquet_is_a_rejection_naming_the_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not really")
    rows = read_all(path)
    assert [r["reason"] for r in rows] == ["corrupt_file"] and "broken.parquet" in rows[0]["reason_detail"]
