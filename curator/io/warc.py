"""WARC and WET input (plain, gzip or zstd; WARC/1.0, 1.1 and older 0.x crawls) read with FastWARC.

Only ``response`` records (WARC) and ``conversion`` records (WET) are documents. Each becomes exactly one row: a
document with its main text, or a rejection with a stable reason (``http_status``, ``non_html``, ``oversized_html``,
``undecodable``, ``empty_extraction``, ``empty_text``, ``truncated_input``). Every other record (warcinfo, request,
metadata, revisit, resource) is not a document; :func:`count_record_types` counts them by type from the file so the
ingest stats say how many physical records were passed over and why.

FastWARC was chosen over warcio on speed (``benchmarks/bench_extract.py`` measures both loops); it also parses
ClueWeb-era 0.18 files in its ``quirks_mode``.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from curator.extract.html import UndecodableError, decode_body, extractor_function
from curator.io.readers import open_binary


DOCUMENT_RECORD_TYPES = ("response", "conversion")
WARC_REASONS = (
    "http_status", "non_html", "oversized_html", "undecodable", "empty_extraction", "empty_text", "truncated_input",
)
HTML_TYPES = ("text/html", "application/xhtml+xml")
_GZIP_MAGIC, _ZSTD_MAGIC = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class HtmlOptions:
    extractor: str = "trafilatura"
    max_html_bytes: int = 5_000_000


def is_warc_name(path: str) -> bool:
    """True for ``.warc``, ``.warc.gz``, ``.warc.zst`` and the Common Crawl ``.warc.wet.gz`` names."""
    name = path.lower()
    return name.endswith((".warc", ".warc.gz", ".warc.zst", ".wet", ".wet.gz", ".wet.zst"))


def sniff_warc(path: str) -> bool:
    """True if the file's content starts with a WARC version line (after gzip or zstd decompression if any).

    A WARC named ``.jsonl.gz`` (or with no extension) is still read as WARC, rather than every line rejected.
    """
    try:
        with open_binary(path) as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    try:
        if head.startswith(_GZIP_MAGIC):
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
        elif head.startswith(_ZSTD_MAGIC):
            import zstandard

            head = zstandard.ZstdDecompressor().decompressobj().decompress(head)[:64]
    except Exception:  # a corrupt head is for the format's own reader to report
        return False
    return head.lstrip(b"\r\n").startswith(b"WARC/")


@contextmanager
def _archive(path: str, record_types, parse_http: bool):
    from fastwarc.warc import ArchiveIterator

    # quirks_mode: lenient header parsing for real crawls (ClueWeb09's WARC/0.18 fails the strict parser).
    options = dict(record_types=record_types, parse_http=parse_http, quirks_mode=True, fsspec_args=False)
    with open_binary(path) as f:
        magic = f.read(4)
        codec_suffix = ".gz" if magic.startswith(_GZIP_MAGIC) else ".zst" if magic == _ZSTD_MAGIC else None
        if codec_suffix is None or path.lower().endswith(codec_suffix):
            yield ArchiveIterator(path, **options)  # FastWARC's own file reader: fastest, picks the codec by name
        else:
            # A compressed file whose name hides it (FastWARC would read zero records from the bare path): let it
            # detect the codec on the stream instead.
            f.seek(0)
            yield ArchiveIterator(f, stream_detect=True, **options)


def count_record_types(path: str) -> dict[str, int]:
    """Records per WARC-Type in ``path`` (headers only, bodies are skipped): the physical-record tally."""
    from fastwarc.warc import WarcRecordType

    counts: Counter[str] = Counter()
    try:
        with _archive(path, WarcRecordType.any_type, parse_http=False) as records:
            for record in records:
                counts[record.headers.get("WARC-Type", "unknown").lower()] += 1
    except Exception:  # the reading pass records the unreadable tail as truncated_input
        pass
    return dict(counts)


def read_warc(path: str, relative_name: str, options, html: HtmlOptions = HtmlOptions()) -> Iterator[dict[str, Any]]:
    """Yield one row per response/conversion record of ``path`` (document columns + ``reason``/``reason_detail``).

    ``options`` is the readers' ``ReadOptions`` (source, normalisation); ``html`` picks the extractor.
    """
    from fastwarc.warc import WarcRecordType

    from curator.io.readers import normalize_text, stable_id

    extract = extractor_function(html.extractor)
    ordinal, pending, last = 0, None, None

    def truncated_row(detail: str) -> dict[str, Any]:
        return {"id": stable_id(relative_name, ordinal + 1) + "-truncated", "text": None,
                "source": options.source or relative_name, "url": None, "meta": None, "reason": "truncated_input",
                "reason_detail": f"{path}: {detail}"}

    try:
        # All record types are walked (headers only for non-documents) to know where the last record starts.
        with _archive(path, WarcRecordType.any_type, parse_http=True) as records:
            for record in records:
                last = (record.stream_pos, int(record.headers.get("Content-Length") or 0), False)
                if record.record_type not in (WarcRecordType.response, WarcRecordType.conversion):
                    continue
                ordinal += 1
                row = _record_row(record, path, relative_name, ordinal, options, html, extract)
                if row["text"] is not None:
                    row["text"] = normalize_text(row["text"], options.normalization)
                if row["id"] is None:
                    row["id"] = stable_id(relative_name, ordinal)
                last = (*last[:2], True)
                if pending is not None:
                    yield pending
                pending = row  # held back one record: only after the end is known can the last one be judged whole
    except Exception as e:  # FastWARC raises OSError on a corrupt stream; the file's readable head is kept
        if pending is not None:
            yield pending
        yield truncated_row(f"WARC stream unreadable after record {ordinal}: {e}")
        return
    cut = last is not None and _tail_is_cut(path, last[0], last[1])
    if pending is not None:
        if cut and last[2] and pending["reason"] != "truncated_input":
            pending.update(text=None, reason="truncated_input",
                           reason_detail=f"{path} record {ordinal} ({pending['url']}): file ends inside this record")
        yield pending
    if cut and not last[2]:
        yield truncated_row(f"file ends inside a record after document record {ordinal} (cut short or partly copied)")


def _tail_is_cut(path: str, last_offset: int, declared_length: int) -> bool:
    """True if the file ends inside its last record (FastWARC stops quietly at a cut).

    For gzip, the member holding the last record must end cleanly and nothing may follow it (a partial member
    FastWARC could not parse at all); for plain WARC, the declared Content-Length must fit in the file.
    """
    with open_binary(path) as f:
        head = f.read(2)
        f.seek(last_offset)
        tail = f.read()
    if head == _GZIP_MAGIC:
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            member.decompress(tail)
        except zlib.error:
            return True
        return not member.eof or bool(member.unused_data.strip(b"\x00"))
    if head[:2] == _ZSTD_MAGIC[:2]:
        return False  # TODO: zstd tail check; FastWARC's length check on the last body still applies
    header_end = tail.find(b"\r\n\r\n")
    return header_end < 0 or len(tail) - (header_end + 4) < declared_length


def _record_row(record, path, relative_name, ordinal, options, html: HtmlOptions, extract) -> dict[str, Any]:
    warc_type = record.headers.get("WARC-Type", "").lower()
    url = record.headers.get("WARC-Target-URI") or None
    record_id = (record.headers.get("WARC-Record-ID") or "").strip().strip("<>") or None
    meta: dict[str, Any] = {"warc_type": warc_type, "warc_record_id": record_id,
                            "warc_date": record.headers.get("WARC-Date"), "warc_file": relative_name}
    row = {"id": record_id, "text": None, "source": options.source or relative_name, "url": url, "meta": None,
           "reason": None, "reason_detail": None}
    where = f"{path} record {ordinal} ({url or 'no url'})"

    def finish(reason: str | None = None, detail: str | None = None) -> dict[str, Any]:
        row["meta"] = json.dumps({k: v for k, v in meta.items() if v is not None}, ensure_ascii=False)
        row["reason"], row["reason_detail"] = reason, f"{where}: {detail}" if reason else None
        return row

    if warc_type == "conversion":  # WET: the body already is the page's plain text
        meta["content_type"] = record.headers.get("Content-Type")
        meta["language"] = record.headers.get("WARC-Identified-Content-Language")
        body = record.reader.read()
        if len(body) < record.content_length:
            return finish("truncated_input", f"body has {len(body)} of {record.content_length} bytes")
        try:
            text, meta["charset"] = decode_body(body, "utf-8")
        except UndecodableError as e:
            return finish("undecodable", str(e))
        row["text"] = text
        return finish() if text.strip() else finish("empty_text", "conversion record has no text")

    status = record.http_headers.status_code if record.http_headers is not None else None
    meta["http_status"] = status
    content_type = (record.http_content_type or "").lower() or None
    meta["content_type"] = content_type
    if record.content_length > html.max_html_bytes:
        return finish("oversized_html", f"{record.content_length} bytes > max_html_bytes {html.max_html_bytes}")
    # Read before judging the status: a record cut inside its HTTP headers must read as truncated, not as a 404.
    body = record.reader.read()
    if len(body) < record.content_length:
        return finish("truncated_input", f"body has {len(body)} of {record.content_length} bytes")
    if status != 200:
        return finish("http_status", f"HTTP status {status}" if status else "no HTTP status line")
    if content_type is None and _looks_like_html(body):
        content_type = "text/html (sniffed)"
    elif content_type not in HTML_TYPES:
        return finish("non_html", f"content type {content_type or 'missing'}")
    try:
        page, meta["charset"] = decode_body(body, record.http_charset)
    except UndecodableError as e:
        return finish("undecodable", str(e))
    try:
        text = extract(page, url)
    except Exception as e:  # an extractor crash on one page is that page's empty extraction, not the task's end
        return finish("empty_extraction", f"{type(e).__name__} in extraction: {e}")
    if not text.strip():
        return finish("empty_extraction", "no main text found")
    row["text"] = text
    return finish()


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) and b"<html" in body[:4096].lower()
