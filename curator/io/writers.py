"""Writers for document-schema rows: JSONL, JSONL.zst (or .gz) and Parquet (zstd).

Rows are written column for column (``id``, ``text``, ``source``, ``url``, ``meta`` plus any annotation columns),
so :func:`curator.io.readers.read_file` reads them back as the same documents. Every file is written under a
temporary name in its target folder and renamed when complete: a crash never leaves a file that looks finished.

Two flavours:

- pure Python, for tools and tests: :func:`write_jsonl` and :func:`write_parquet` write one file;
- Spark: :func:`write_documents` writes a DataFrame as a folder of Parquet (zstd) or JSONL/JSONL.zst part files.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal

import pyarrow as pa

from curator.errors import CuratorError


if TYPE_CHECKING:
    from pyspark.sql import DataFrame


OutputFormat = Literal["parquet", "jsonl", "jsonl.zst"]
JSONL_SUFFIX = {"jsonl": ".jsonl", "jsonl.zst": ".jsonl.zst"}
SUCCESS = "_SUCCESS"
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


def write_documents(df: "DataFrame", path: str | Path, fmt: OutputFormat = "parquet") -> dict[str, Any]:
    """Write a DataFrame of documents to the folder ``path`` as Parquet (zstd), JSONL or JSONL.zst part files.

    The folder is built under a temporary sibling name and renamed into place at the end, replacing an older
    folder of the same name, so readers see either the old data or the complete new data. For JSONL each Spark
    task writes one ``part-<partition>`` file under a hidden temporary name and renames it when complete (a retried
    task overwrites its own part with the same rows). No data passes through the driver: tasks return only their
    file name and counts.

    TODO: the JSONL path writes with plain file operations, so ``path`` must be on a filesystem every executor
    shares with the driver (local mode, NFS); object stores need Spark's own text writer.

    Args:
        df: documents (document schema plus any annotation columns).
        path: the output folder.
        fmt: ``parquet``, ``jsonl`` or ``jsonl.zst``.

    Returns:
        ``{"format", "path", "files", "rows"}``; ``rows`` is counted from the written files for Parquet and from
        the tasks' reports for JSONL.
    """
    if fmt not in ("parquet", "jsonl", "jsonl.zst"):
        raise CuratorError(f"unknown output format {fmt!r}; use parquet, jsonl or jsonl.zst")
    final = Path(path).resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        if fmt == "parquet":
            df.write.mode("overwrite").option("compression", "zstd").parquet(str(temp))
            files = sorted(p.name for p in temp.glob("part-*"))
            rows = df.sparkSession.read.parquet(str(temp)).count()
        else:
            temp.mkdir()
            reports = _write_jsonl_parts(df, temp, JSONL_SUFFIX[fmt])
            files = sorted(r["file"] for r in reports if r["rows"])
            rows = sum(r["rows"] for r in reports)
            (temp / SUCCESS).write_text("")
        if final.exists():
            shutil.rmtree(final)
        os.replace(temp, final)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return {"format": fmt, "path": str(final), "files": len(files), "rows": rows}


def _write_jsonl_parts(df: "DataFrame", folder: Path, suffix: str) -> list[dict[str, Any]]:
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    report_schema = StructType([
        StructField("file", StringType()), StructField("rows", LongType()), StructField("bytes", LongType()),
    ])
    folder_name = str(folder)

    def write_partition(batches):
        from pyspark import TaskContext

        part = Path(folder_name) / f"part-{TaskContext.get().partitionId():05d}{suffix}"
        rows = (row for batch in batches for row in batch.to_pylist())
        count, size = _write_jsonl_rows(rows, part)
        if count == 0:
            part.unlink()  # an empty partition leaves no file
        yield pa.RecordBatch.from_pydict(
            {"file": [part.name], "rows": [count], "bytes": [size if count else 0]},
            schema=pa.schema([("file", pa.string()), ("rows", pa.int64()), ("bytes", pa.int64())]),
        )

    # One small report row per task comes back to the driver, never the documents.
    return [row.asDict() for row in df.mapInArrow(write_partition, report_schema).collect()]


__all__ = ["write_documents", "write_jsonl", "write_parquet"]
