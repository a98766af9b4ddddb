"""Writers for document-schema rows: JSONL, JSONL.zst (or .gz) and Parquet (zstd).

Rows are written column for column (``id``, ``text``, ``source``, ``url``, ``meta`` plus any annotation columns),
so :func:`curator.io.readers.read_file` reads them back as the same documents. Every file is written under a
temporary name in its target folder and renamed when complete: a crash never leaves a file that looks finished.
Pure Python, one file each, for tools, benchmarks and tests (stage outputs are written by the runner).
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa


ZSTD_LEVEL = 3  # zstd's default: near-gzip-9 ratio at several hundred MB/s


def _temp_name(path: Path) -> Path:
    # A leading dot hides the partial file from readers listing the folder (curator.io.readers skips dot files).
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def _open_compressed(path: Path, final_name: str):
    raw = open(path, "wb")
    if final_name.endswith(".zst"):
        import zstandard

        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(raw, closefd=True)
    if final_name.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0)  # mtime=0: same bytes on every rerun
    return raw


def _json_line(row: dict[str, Any]) -> bytes:
    # ensure_ascii=False keeps text readable and ~2x smaller for non-Latin scripts; default=str covers dates.
    return json.dumps(row, ensure_ascii=False, default=str).encode("utf-8") + b"\n"


def _write_jsonl_rows(rows: Iterable[dict[str, Any]], final: Path) -> tuple[int, int]:
    """Write ``rows`` to ``final`` through a temporary file; return (rows, bytes on disk)."""
    temp = _temp_name(final)
    count = 0
    try:
        with _open_compressed(temp, final.name) as out:
            for row in rows:
                out.write(_json_line(row))
                count += 1
        os.replace(temp, final)
    finally:
        if temp.exists():
            temp.unlink()
    return count, final.stat().st_size


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write ``rows`` (dicts) as JSON lines to ``path``; a ``.zst`` or ``.gz`` suffix compresses the file.

    Args:
        rows: documents (or any JSON-serialisable dicts), one per line, in order.
        path: the target file; its folder is created. An existing file is replaced only once the new one is complete.

    Returns:
        The number of rows written.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    return _write_jsonl_rows(rows, final)[0]


def write_parquet(table: pa.Table | pa.RecordBatch | list[dict[str, Any]], path: str | Path,
                  schema: pa.Schema | None = None) -> int:
    """Write ``table`` to one zstd-compressed Parquet file at ``path``.

    Args:
        table: an Arrow table or batch, or a list of dicts (converted with ``schema``, default
            :data:`curator.document.DOCUMENT_SCHEMA` when the rows have exactly the document columns).
        path: the target file; its folder is created. An existing file is replaced only once the new one is complete.
        schema: Arrow schema for a list of dicts.

    Returns:
        The number of rows written.
    """
    import pyarrow.parquet as pq

    from curator.document import DOCUMENT_SCHEMA

    if isinstance(table, list):
        if schema is None and table and set(table[0]) == set(DOCUMENT_SCHEMA.names):
            schema = DOCUMENT_SCHEMA
        table = pa.Table.from_pylist(table, schema=schema)
    elif isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(final)
    try:
        pq.write_table(table, temp, compression="zstd")
        os.replace(temp, final)
    finally:
        if temp.exists():
            temp.unlink()
    return table.num_rows


__all__ = ["write_jsonl", "write_parquet"]
