"""Readers for JSONL, JSONL.zst (and .gz) and Parquet inputs, as pure Python over one file.

Every physical record becomes exactly one row: a document, or a rejection with a reason (``malformed_json``,
``invalid_utf8``, ``missing_text``, ``non_string_text``, ``empty_text``, ``truncated_input``). Nothing is skipped
silently, so the run ledger can account for every input record.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from curator.errors import CuratorError


SAMPLE_PATH = Path(__file__).resolve().parent.parent / "data" / "sample.jsonl.zst"
FORMAT_SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".zst": "jsonl.zst", ".gz": "jsonl.gz", ".parquet": "parquet"}


@dataclass(frozen=True)
class ReadOptions:
    text_field: str = "text"
    id_field: str | None = "id"
    url_field: str | None = "url"
    source: str | None = None
    normalization: str | None = "NFC"


def expand_paths(paths: list[str]) -> list[tuple[str, str]]:
    """Files named by ``paths`` (files, folders, globs, ``builtin:sample``) as ``(absolute path, relative name)``.

    The relative name (path below the folder or glob root) feeds generated ids, so moving a corpus keeps its ids.
    """
    found: list[tuple[str, str]] = []
    for raw in paths:
        if raw == "builtin:sample":
            found.append((str(SAMPLE_PATH), "sample.jsonl.zst"))
            continue
        path = os.path.expanduser(raw)
        if os.path.isdir(path):
            root = path
            matches = [
                os.path.join(d, f) for d, _, files in os.walk(path) for f in files
                if not f.startswith((".", "_")) and detect_format(f, strict=False)
            ]
        elif glob.has_magic(path):
            root = path.split("*")[0].rsplit(os.sep, 1)[0] if os.sep in path.split("*")[0] else "."
            matches = [m for m in glob.glob(path, recursive=True) if os.path.isfile(m)]
        elif os.path.isfile(path):
            root, matches = os.path.dirname(path) or ".", [path]
        else:
            raise CuratorError(f"input not found: {raw}")
        if not matches:
            raise CuratorError(f"input {raw} matched no readable files (.jsonl, .jsonl.zst, .jsonl.gz, .parquet)")
        found.extend((os.path.abspath(m), os.path.relpath(m, root)) for m in sorted(matches))
    return found


def detect_format(path: str, strict: bool = True) -> str | None:
    for suffix, fmt in FORMAT_SUFFIXES.items():
        if path.endswith(suffix):
            return fmt
    if strict:
        raise CuratorError(f"cannot tell the format of {path}; use .jsonl, .jsonl.zst, .jsonl.gz or .parquet")
    return None


def stable_id(relative_name: str, ordinal: int) -> str:
    """Id for a record without one: a hash of where it came from, the same on every rerun."""
    return hashlib.sha1(f"{relative_name}\x00{ordinal}".encode()).hexdigest()[:24]


def normalize_text(text: str, form: str | None) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return unicodedata.normalize(form, text) if form else text


def read_file(path: str, relative_name: str, options: ReadOptions, fmt: str = "auto") -> Iterator[dict[str, Any]]:
    """Yield one row per physical record of ``path``: document columns plus ``reason``/``reason_detail``."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "parquet":
        yield from _read_parquet(path, relative_name, options)
    else:
        yield from _read_lines(path, relative_name, options, fmt)


def _open_lines(path: str, fmt: str):
    raw = open(path, "rb")
    if fmt == "jsonl.zst" or path.endswith(".zst"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
    if fmt == "jsonl.gz" or path.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw)
    return raw


def _read_lines(path: str, relative_name: str, options: ReadOptions, fmt: str) -> Iterator[dict[str, Any]]:
    ordinal = 0
    stream = io.BufferedReader(_open_lines(path, fmt), buffer_size=1 << 20)
    try:
        while True:
            try:
                line = stream.readline()
            except Exception as e:  # zstd/gzip raise their own types on a truncated or corrupt stream
                yield _rejection(relative_name, ordinal, b"", options, "truncated_input",
                                 f"{path}: compressed stream unreadable after record {ordinal}: {e}")
                return
            if not line:
                return
            if not line.strip():
                continue  # a blank line is not a JSONL record: it carries no document to account for
            ordinal += 1
            yield _parse_line(line, relative_name, ordinal, options, path)
    finally:
        stream.close()


def _parse_line(line: bytes, relative_name: str, ordinal: int, options: ReadOptions, path: str) -> dict[str, Any]:
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as e:
        return _rejection(relative_name, ordinal, line, options, "invalid_utf8", f"{path} record {ordinal}: {e}")
    try:
        record = json.loads(decoded)
    except json.JSONDecodeError as e:
        return _rejection(relative_name, ordinal, line, options, "malformed_json", f"{path} record {ordinal}: {e}")
    if not isinstance(record, dict):
        return _rejection(relative_name, ordinal, line, options, "malformed_json",
                          f"{path} record {ordinal}: expected a JSON object, got {type(record).__name__}")
    return _to_document(record, relative_name, ordinal, options, path)


def _read_parquet(path: str, relative_name: str, options: ReadOptions) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as e:
        raise CuratorError(f"{path}: not a readable Parquet file: {e}") from None
    ordinal = 0
    for batch in parquet.iter_batches(batch_size=4096):
        for record in batch.to_pylist():
            ordinal += 1
            yield _to_document(record, relative_name, ordinal, options, path)


def _to_document(record: dict, relative_name: str, ordinal: int, options: ReadOptions, path: str) -> dict[str, Any]:
    raw_id = record.get(options.id_field) if options.id_field else None
    doc_id = str(raw_id) if isinstance(raw_id, (str, int)) and str(raw_id) else stable_id(relative_name, ordinal)
    url = record.get(options.url_field) if options.url_field else None
    meta_fields = {k: v for k, v in record.items() if k not in (options.text_field, options.id_field, options.url_field)}
    row = {
        "id": doc_id,
        "text": None,
        "source": options.source or relative_name,
        "url": url if isinstance(url, str) else None,
        "meta": json.dumps(meta_fields, ensure_ascii=False, default=str) if meta_fields else None,
        "reason": None,
        "reason_detail": None,
    }
    text = record.get(options.text_field)
    where = f"{path} record {ordinal}"
    if options.text_field not in record:
        row.update(reason="missing_text", reason_detail=f"{where}: no field {options.text_field!r}")
    elif not isinstance(text, str):
        row.update(reason="non_string_text",
                   reason_detail=f"{where}: field {options.text_field!r} is {type(text).__name__}, not a string")
    else:
        text = normalize_text(text, options.normalization)
        row["text"] = text
        if not text.strip():
            row.update(reason="empty_text", reason_detail=f"{where}: text is empty or whitespace")
    return row


def _rejection(relative_name: str, ordinal: int, line: bytes, options: ReadOptions, reason: str, detail: str):
    return {
        "id": stable_id(relative_name, ordinal) + ("-truncated" if reason == "truncated_input" else ""),
        "text": line.decode("utf-8", errors="replace")[:10_000],
        "source": options.source or relative_name,
        "url": None,
        "meta": None,
        "reason": reason,
        "reason_detail": detail,
    }
