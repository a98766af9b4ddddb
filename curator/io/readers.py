"""Readers for JSONL, JSONL.zst (and .gz) and Parquet inputs, as pure Python over one file (WARC/WET files are
handed to :mod:`curator.io.warc`).

Every physical record becomes exactly one row: a document, or a rejection with a reason (``malformed_json``,
``invalid_utf8``, ``invalid_unicode``, ``missing_text``, ``non_string_text``, ``empty_text``, ``truncated_input``,
``corrupt_file``). Nothing is skipped silently, so the run ledger can account for every input record.

A file whose content is not the format its name claims (binary junk named ``.jsonl``, HTML named ``.gz``) is a
user error raised on the driver by :func:`check_formats`, not thousands of rejections; a WARC is read as WARC
whatever its name.
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
# (name ending, format, read by a folder scan). Longest endings first; WARC/WET names are recognised before these
# (``curator.io.warc.is_warc_name``). Folders often hold non-data files next to the data (``dataset_info.json``, a
# README), so a scan takes only unambiguous data endings; a file named explicitly may use the looser ones.
FORMAT_SUFFIXES: tuple[tuple[str, str, bool], ...] = (
    (".jsonl.zst", "jsonl.zst", True),
    (".jsonl.gz", "jsonl.gz", True),
    (".jsonl", "jsonl", True),
    (".ndjson", "jsonl", True),
    (".parquet", "parquet", True),
    (".json.zst", "jsonl.zst", False),
    (".json.gz", "jsonl.gz", False),
    (".json", "jsonl", False),
    (".zst", "jsonl.zst", False),
    (".gz", "jsonl.gz", False),
)
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ReadOptions:
    text_field: str = "text"
    id_field: str | None = "id"
    url_field: str | None = "url"
    source: str | None = None
    normalization: str | None = "NFC"


DEFAULT_SPLIT_BYTES = 128 * 1024 * 1024
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileSplit:
    """The part of one input file that one Spark task reads.

    ``kind``: ``whole`` (the file), ``bytes`` (uncompressed JSONL: the records whose first byte lies in
    ``[start, end)``, the Hadoop rule, so a record straddling a boundary belongs to the range it starts in) or
    ``row_groups`` (Parquet row groups ``[start, end)``). ``first_record``: records of the file before this split, so
    generated ids and reported record numbers are the same as a whole-file read; None until counted.
    """

    path: str
    relative: str
    file_index: int
    kind: str = "whole"
    start: int = 0
    end: int | None = None
    first_record: int | None = 0


def plan_splits(files: list[tuple[str, str]], fmt: str = "auto",
                split_bytes: int | None = DEFAULT_SPLIT_BYTES) -> list[FileSplit]:
    """One split per file, except uncompressed JSONL and Parquet files larger than ``split_bytes``: line-aligned
    byte ranges, and groups of row groups. Compressed streams (``.gz``, ``.zst``) and WARC cannot be entered in the
    middle and stay one split each. Runs on the driver; reads nothing but sizes (and Parquet footers)."""
    from curator.io.warc import sniff_warc

    splits: list[FileSplit] = []
    for index, (path, relative) in enumerate(files):
        kind = detect_format(path, strict=False) if fmt == "auto" else fmt
        size = file_size(path) if split_bytes else 0
        if not split_bytes or size <= split_bytes or kind not in ("jsonl", "parquet") or sniff_warc(path):
            splits.append(FileSplit(path, relative, index))
        elif kind == "jsonl":
            splits.extend(FileSplit(path, relative, index, "bytes", start, min(start + split_bytes, size),
                                    0 if start == 0 else None) for start in range(0, size, split_bytes))
        else:
            splits.extend(_row_group_splits(path, relative, index, split_bytes))
    return splits


def _row_group_splits(path: str, relative: str, index: int, split_bytes: int) -> list[FileSplit]:
    import pyarrow.parquet as pq

    try:
        metadata = pq.ParquetFile(path if is_local_path(path) else open_binary(path)).metadata
    except Exception:  # an unreadable footer: one task reads it and rejects it as corrupt_file
        return [FileSplit(path, relative, index)]
    splits, start, size, rows_before, rows = [], 0, 0, 0, 0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        size += sum(row_group.column(c).total_compressed_size for c in range(row_group.num_columns))
        rows += row_group.num_rows
        if size >= split_bytes or group == metadata.num_row_groups - 1:
            splits.append(FileSplit(path, relative, index, "row_groups", start, group + 1, rows_before))
            start, size, rows_before = group + 1, 0, rows_before + rows
            rows = 0
    return splits or [FileSplit(path, relative, index)]


def _lines_from(handle, offset: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` for every line of a binary file from ``offset`` on; lines keep their ``\n``."""
    handle.seek(offset)
    position, parts = offset, []
    while True:
        chunk = handle.read(_CHUNK)
        if not chunk:
            tail = b"".join(parts)
            if tail:
                yield position, tail  # a last line without a newline
            return
        if b"\n" not in chunk:
            parts.append(chunk)
            continue
        pieces = chunk.split(b"\n")
        pieces[0] = b"".join(parts) + pieces[0]
        parts = [pieces.pop()]
        for piece in pieces:
            line = piece + b"\n"
            yield position, line
            position += len(line)


def range_lines(path: str, start: int, end: int | None) -> Iterator[bytes]:
    """The lines of ``path`` whose first byte lies in ``[start, end)``. A range after the first skips the line
    running through ``start - 1``: it began earlier (or ended exactly there) and belongs to the range before."""
    with open_binary(path) as handle:
        lines = _lines_from(handle, max(0, start - 1))
        if start > 0:
            next(lines, None)
        for position, line in lines:
            if end is not None and position >= end:
                return
            yield line[len(UTF8_BOM):] if position == 0 and line.startswith(UTF8_BOM) else line


def count_split_records(split: FileSplit) -> int:
    """Records (non-blank lines) in a byte-range split: what the reader of that split yields."""
    return sum(1 for line in range_lines(split.path, split.start, split.end) if line.strip())


def expand_paths(paths: list[str]) -> list[tuple[str, str]]:
    """Files named by ``paths`` (files, folders, globs, ``builtin:sample``) as ``(absolute path, relative name)``.

    The relative name (path below the folder or glob root) feeds generated ids, so moving a corpus keeps its ids.
    """
    found: list[tuple[str, str]] = []
    for raw in paths:
        if raw == "builtin:sample":
            found.append((str(SAMPLE_PATH), "sample.jsonl.zst"))
            continue
        from curator.io.filesystem import is_local, local_path

        if not is_local(raw):
            found.extend(_expand_remote(raw))
            continue
        path = local_path(raw) if raw.startswith("file:") else os.path.expanduser(raw)
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
            raise CuratorError(f"input {raw} matched no readable files (a folder is scanned for .warc, .warc.gz, "
                               f".warc.wet.gz, {', '.join(s for s, _, scanned in FORMAT_SUFFIXES if scanned)})")
        found.extend((os.path.abspath(m), os.path.relpath(m, root)) for m in sorted(matches))
    return found


def _expand_remote(raw: str) -> list[tuple[str, str]]:
    """A remote folder (scanned like a local one) or file, listed through :mod:`curator.io.filesystem`. Globs are
    local-only: object stores list by prefix, so name the folder instead."""
    from curator.io.filesystem import Location

    if glob.has_magic(raw):
        raise CuratorError(f"input {raw}: globs are supported on local paths only; name the folder instead")
    where = Location(raw)
    if where.is_file():
        return [(where.uri, where.name)]
    if not where.is_dir():
        raise CuratorError(f"input not found: {raw}")
    matches = [f for f in where.walk_files() if detect_format(f.name, strict=False, scanning=True)]
    if not matches:
        raise CuratorError(f"input {raw} matched no readable files")
    return [(f.uri, f.uri[len(where.uri):].lstrip("/")) for f in matches]


def _data_files_below(folder: str) -> list[str]:
    found = []
    for directory, subdirs, files in os.walk(folder):
        # Hidden and underscore folders hold work in progress (Spark's _temporary, writers' temp files), not data.
        subdirs[:] = [d for d in subdirs if not d.startswith((".", "_"))]
        found.extend(os.path.join(directory, f) for f in files
                     if not f.startswith((".", "_")) and detect_format(f, strict=False, scanning=True))
    return found


def detect_format(path: str, strict: bool = True, scanning: bool = False) -> str | None:
    """The format a file name claims (``warc``, ``jsonl``, ``jsonl.zst``, ``jsonl.gz``, ``parquet``); the one place
    that maps names to formats. ``scanning``: only the endings a folder scan picks up."""
    from curator.io.warc import is_warc_name

    if is_warc_name(path):  # before the suffix table: .warc.gz must not read as jsonl.gz
        return "warc"
    lowered = path.lower()
    for suffix, fmt, scanned in FORMAT_SUFFIXES:
        if lowered.endswith(suffix) and (scanned or not scanning):
            return fmt
    if strict:
        raise CuratorError(f"cannot tell the format of {path}; "
                           "use .jsonl, .jsonl.zst, .jsonl.gz, .parquet or .warc[.gz]")
    return None


_MAGIC = {"jsonl.gz": b"\x1f\x8b", "jsonl.zst": b"\x28\xb5\x2f\xfd", "parquet": b"PAR1"}
_SNIFF_BYTES = 1 << 16
_SNIFF_LINES = 8


def open_binary(path: str):
    """A seekable binary file for a local path or a remote URI (executors read remote inputs directly)."""
    from curator.io.filesystem import Location, is_local

    return open(path, "rb") if is_local(path) else Location(path).open_input()


def is_local_path(path: str) -> bool:
    from curator.io.filesystem import is_local

    return is_local(path)


def file_size(path: str) -> int:
    from curator.io.filesystem import Location, is_local

    return os.path.getsize(path) if is_local(path) else Location(path).size()


def check_format(path: str, fmt: str = "auto") -> None:
    """Raise :class:`CuratorError` naming ``path`` when its first bytes are not the format its name claims.

    Cheap (the first 64 KB), run on the driver before any task starts. Compressed files must start with their
    magic number; a JSONL file must have at least one JSON object among its first lines unless it has a single line
    (that one bad record is then a ``malformed_json`` rejection like any other). A Parquet file that starts like
    one but cannot be read is damaged, not misnamed: it becomes a ``corrupt_file`` rejection. Empty files pass (they
    hold no records).
    """
    from curator.io.warc import sniff_warc

    fmt = detect_format(path) if fmt == "auto" else fmt
    if file_size(path) == 0 or fmt == "warc" or sniff_warc(path):  # WARC content is read as WARC, any name
        return
    with open_binary(path) as handle:
        head = handle.read(_SNIFF_BYTES)
    magic = _MAGIC.get(fmt)
    if magic is not None and not head.startswith(magic):
        kind = "a Parquet file" if fmt == "parquet" else f"{fmt.split('.')[-1]}-compressed"
        raise CuratorError(f"{path}: named as {fmt} but is not {kind} (starts with {head[:8]!r}); rename it or "
                           "move it out of the input")
    if not fmt.startswith("jsonl"):  # Parquet (and any later format) is checked by its own reader
        return
    if magic is not None:
        try:
            stream = io.BufferedReader(_open_lines(path, fmt), buffer_size=_SNIFF_BYTES)
            head = stream.read(_SNIFF_BYTES)
            stream.close()
        except Exception:  # a cut or corrupt stream is reported per record as truncated_input
            return
    segments = head.removeprefix(UTF8_BOM).split(b"\n")
    if len(head) >= _SNIFF_BYTES and len(segments) > 1:
        segments.pop()  # cut off by the sniff window: a long valid record must not count as a bad one
    lines = [line for line in segments[:_SNIFF_LINES] if line.strip()]
    if len(lines) < 2 and b"\x00" not in head:
        return
    if not any(_is_json_object(line) for line in lines):
        raise CuratorError(f"{path}: named as {fmt} but its first lines are not JSON objects (is it a "
                           f"{_guess_content(head)}?); fix the file, rename it, or move it out of the input")


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return False


def _guess_content(head: bytes) -> str:
    if head.startswith(b"WARC/"):
        return "WARC file"
    if head.lstrip().startswith((b"{", b"[")):
        return "single JSON document rather than JSON Lines"
    if b"\x00" in head:
        return "binary file"
    return "text file of another format"


def check_formats(files: list[tuple[str, str]], fmt: str = "auto") -> None:
    """:func:`check_format` over an :func:`expand_paths` listing."""
    for path, _ in files:
        check_format(path, fmt)


def stable_id(relative_name: str, ordinal: int) -> str:
    """Id for a record without one: a hash of where it came from, the same on every rerun."""
    return hashlib.sha1(f"{relative_name}\x00{ordinal}".encode()).hexdigest()[:24]


def normalize_text(text: str, form: str | None) -> str:
    if "\r" in text:  # a membership test is one fast scan; most texts have neither character
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return unicodedata.normalize(form, text) if form and not text.isascii() else text  # ASCII is in every form


def read_file(path: str, relative_name: str, options: ReadOptions, fmt: str = "auto",
              html=None, split: FileSplit | None = None) -> Iterator[dict[str, Any]]:
    """Yield one row per physical record of ``path`` (of ``split`` when given): document columns plus
    ``reason``/``reason_detail``.

    WARC/WET files (by name, or by content whatever the name) go to :mod:`curator.io.warc`; ``html`` is its
    ``HtmlOptions`` (extractor choice).
    """
    from curator.io.warc import HtmlOptions, read_warc, sniff_warc

    if split is not None and split.kind == "bytes":
        yield from _read_range(split, options)
        return
    if split is not None and split.kind == "row_groups":
        yield from _read_parquet(path, relative_name, options, split)
        return

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
        self._file = open_binary(path)
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
        return _SmallReads(gzip.open(path if is_local_path(path) else open_binary(path), "rb"))
    return open_binary(path)


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
            if ordinal == 0 and line.startswith(UTF8_BOM):
                line = line[len(UTF8_BOM):]  # editors on Windows start UTF-8 files with a byte-order mark
            if not line.strip():
                continue  # a blank line is not a JSONL record: it carries no document to account for
            ordinal += 1
            yield _parse_line(line, relative_name, ordinal, options, path)
    finally:
        stream.close()


def _read_range(split: FileSplit, options: ReadOptions) -> Iterator[dict[str, Any]]:
    if split.first_record is None:
        raise CuratorError(f"{split.path}: byte range {split.start}-{split.end} read before its records were counted")
    ordinal = split.first_record
    for line in range_lines(split.path, split.start, split.end):
        if line.strip():
            ordinal += 1
            yield _parse_line(line, split.relative, ordinal, options, split.path)


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


def _read_parquet(path: str, relative_name: str, options: ReadOptions,
                  split: FileSplit | None = None) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    ordinal = split.first_record if split is not None else 0
    try:
        parquet = pq.ParquetFile(path if is_local_path(path) else open_binary(path))
        groups = list(range(split.start, split.end)) if split is not None else None
        for batch in parquet.iter_batches(batch_size=4096, row_groups=groups):
            for record in batch.to_pylist():
                ordinal += 1
                yield _to_document(record, relative_name, ordinal, options, path)
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... on a corrupt footer, page or column chunk
        # The rows after a corrupt page cannot be counted, so the rest of the file is one rejection.
        rest = "the file" if split is None else f"row groups {split.start}-{split.end - 1} of the file"
        where = rest if ordinal == (split.first_record if split else 0) else f"the rest of {rest} after record {ordinal}"
        yield _rejection(relative_name, ordinal, b"", options, "corrupt_file",
                         f"{path}: not a readable Parquet file; {where} was rejected: {str(e)[:300]}")


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
    return _reject_unencodable(row, where)


def _reject_unencodable(row: dict[str, Any], where: str) -> dict[str, Any]:
    """JSON may escape lone surrogates (``"\\ud800"``) that no UTF-8 writer accepts; reject such a record instead
    of letting the Arrow conversion abort the task. Offending fields are replaced so the rejection can be written."""
    bad = []
    for name in ("id", "text", "source", "url", "meta"):
        value = row[name]
        if isinstance(value, str) and not value.isascii():  # isascii is O(1); only non-ASCII can hold a surrogate
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:
                bad.append(f"{name} at character {e.start}")
                row[name] = value.encode("utf-8", errors="backslashreplace").decode("utf-8")
    if bad and row["reason"] is None:
        row.update(reason="invalid_unicode", reason_detail=f"{where}: lone surrogate in {', '.join(bad)}")
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


# A file-level rejection takes the ordinal of the last good record; the suffix keeps its id distinct from it.
_REJECTION_ID_SUFFIX = {"truncated_input": "-truncated", "corrupt_file": "-corrupt"}


def _rejection(relative_name: str, ordinal: int, line: bytes, options: ReadOptions, reason: str, detail: str):
    return {
        "id": stable_id(relative_name, ordinal) + _REJECTION_ID_SUFFIX.get(reason, ""),
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

    def batch(chunk: list[dict[str, Any]]):
        # Column by column: what from_pylist does, without its per-row key checks.
        return pa.RecordBatch.from_arrays([pa.array([row.get(f.name) for row in chunk], f.type) for f in schema],
                                          schema=schema)

    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == batch_size:
            yield batch(chunk)
            chunk = []
    if chunk:
        yield batch(chunk)
