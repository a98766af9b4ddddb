"""Readers for JSONL, JSONL.zst (and .gz) and Parquet inputs, as pure Python over one file.

Every physical record becomes exactly one row: a document, or a rejection with a reason (``malformed_json``,
``invalid_utf8``, ``missing_text``, ``non_string_text``, ``empty_text``, ``truncated_input``). Nothing is skipped
silently, so the run ledger can account for every input record.
"""

from __future__ import annotations

import functools
import glob
import gzip
import hashlib
import io
import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

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
            matches = _data_files_below(path)
        elif glob.has_magic(path):
            root = path.split("*")[0].rsplit(os.sep, 1)[0] if os.sep in path.split("*")[0] else "."
            matches = [m for m in glob.glob(path, recursive=True) if os.path.isfile(m)]
        elif os.path.isfile(path):
            root, matches = os.path.dirname(path) or ".", [path]
        else:
            raise CuratorError(f"input not found: {raw}")
        if not matches:
            raise CuratorError(f"input {raw} matched no readable files (.jsonl, .jsonl.zst, .jsonl.gz, .parquet, "
                              ".warc, .warc.gz, .warc.wet.gz)")
        found.extend((os.path.abspath(m), os.path.relpath(m, root)) for m in sorted(matches))
    return found


def _data_files_below(folder: str) -> list[str]:
    found = []
    for directory, subdirs, files in os.walk(folder):
        # Hidden and underscore folders hold work in progress (Spark's _temporary, writers' temp files), not data.
        subdirs[:] = [d for d in subdirs if not d.startswith((".", "_"))]
        found.extend(os.path.join(directory, f) for f in files
                     if not f.startswith((".", "_")) and detect_format(f, strict=False))
    return found


def detect_format(path: str, strict: bool = True) -> str | None:
    from curator.io.warc import is_warc_name

    if is_warc_name(path):  # before the suffix table: .warc.gz must not read as jsonl.gz
        return "warc"
    for suffix, fmt in FORMAT_SUFFIXES.items():
        if path.endswith(suffix):
            return fmt
    if strict:
        raise CuratorError(f"cannot tell the format of {path}; "
                           "use .jsonl, .jsonl.zst, .jsonl.gz, .parquet or .warc[.gz]")
    return None


def stable_id(relative_name: str, ordinal: int) -> str:
    """Id for a record without one: a hash of where it came from, the same on every rerun."""
    return hashlib.sha1(f"{relative_name}\x00{ordinal}".encode()).hexdigest()[:24]


def normalize_text(text: str, form: str | None) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return unicodedata.normalize(form, text) if form else text


def read_file(path: str, relative_name: str, options: ReadOptions, fmt: str = "auto",
              html=None) -> Iterator[dict[str, Any]]:
    """Yield one row per physical record of ``path``: document columns plus ``reason``/``reason_detail``.

    WARC/WET files (by name, or by content whatever the name) go to :mod:`curator.io.warc`; ``html`` is its
    ``HtmlOptions`` (extractor choice).
    """
    from curator.io.warc import HtmlOptions, read_warc, sniff_warc

    if fmt == "warc" or sniff_warc(path):  # content wins: a WARC read as JSONL would reject every line
        yield from read_warc(path, relative_name, options, html or HtmlOptions())
        return
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "parquet":
        yield from _read_parquet(path, relative_name, options)
    else:
        yield from _read_lines(path, relative_name, options, fmt)


class TruncatedInputError(CuratorError):
    """A compressed file ends in the middle of a frame."""


class _ZstdFrames(io.RawIOBase):
    """Decompressed bytes of a file of one or more zstd frames; raises if the file ends inside a frame.

    zstandard's ``stream_reader`` reports a plain end of file when the input stops mid-frame, which would drop the
    tail of a cut file without a trace, so frames are decoded here one ``decompressobj`` at a time.
    """

    def __init__(self, path: str, chunk_size: int = 1 << 14):
        import zstandard

        # Small input chunks with a large output buffer decode fastest (output of a chunk is joined in one go).
        self._new_decompressor = functools.partial(zstandard.ZstdDecompressor().decompressobj, write_size=1 << 20)
        self._file = open(path, "rb")
        self._path = path
        self._chunk_size = chunk_size
        self._frame = None  # the decompressor of the frame being read; None between frames
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = self._file.read(self._chunk_size)
            if not chunk:
                if self._frame is not None:
                    raise TruncatedInputError("file ends inside a zstd frame (cut short or partly copied)")
                return 0
            self._pending = memoryview(self._decompress(chunk))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            if self._frame is None:
                self._frame = self._new_decompressor()
            out.append(self._frame.decompress(data))
            if not self._frame.eof:
                break
            data, self._frame = self._frame.unused_data, None  # the next frame starts in the same chunk
        return b"".join(out)

    def close(self) -> None:
        self._file.close()
        super().close()


class _SmallReads(io.RawIOBase):
    """Feeds a line buffer from ``read1`` of a decompressing stream.

    ``GzipFile.read(n)`` raises on a cut file without returning the bytes it had already decoded, so a 1 MB buffer
    fill would lose up to 1 MB of readable records; ``read1`` returns after each decoded chunk.
    """

    def __init__(self, stream):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def _open_lines(path: str, fmt: str):
    if fmt == "jsonl.zst" or path.endswith(".zst"):
        return _ZstdFrames(path)
    if fmt == "jsonl.gz" or path.endswith(".gz"):
        return _SmallReads(gzip.open(path, "rb"))  # gzip.open closes the file it opened
    return open(path, "rb")


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
    source = _unpack_document_schema(meta_fields)
    row = {
        "id": doc_id,
        "text": None,
        "source": options.source or source or relative_name,
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


def _unpack_document_schema(fields: dict[str, Any]) -> str | None:
    """If ``fields`` are the ``source``/``meta`` columns of a curator document (a previous run's output, or a file
    from ``curator.io.writers``), merge the JSON-encoded ``meta`` into ``fields`` in place and return the source.

    Without this, reading curator's own output would nest ``meta`` one JSON level deeper on every pass.
    """
    if "source" not in fields or "meta" not in fields:
        return None
    meta = fields["meta"]
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            return None
    if not isinstance(meta, (dict, type(None))) or not isinstance(fields["source"], (str, type(None))):
        return None
    source = fields.pop("source")
    del fields["meta"]
    for key, value in (meta or {}).items():
        fields.setdefault(key, value)  # a top-level annotation column (lang, ...) wins over a stale meta copy
    return source


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


def record_batches(rows: Iterable[dict[str, Any]], schema, batch_size: int = 2000) -> Iterator[Any]:
    """Group row dicts into Arrow record batches of at most ``batch_size`` rows (what Spark's mapInArrow yields)."""
    import pyarrow as pa

    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == batch_size:
            yield pa.RecordBatch.from_pylist(chunk, schema=schema)
            chunk = []
    if chunk:
        yield pa.RecordBatch.from_pylist(chunk, schema=schema)
