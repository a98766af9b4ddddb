"""HTML bytes to main text: charset decoding that never raises, and two main-content extractors behind one switch.

- ``trafilatura``: precision-favouring settings as FineWeb used them (``favor_precision``, no comments), without
  trafilatura's cross-page deduplication (see :func:`extract_trafilatura`). Slower; the default.
- ``resiliparse``: Resiliparse's main-content heuristics over its lexbor DOM; several times faster.

Both keep paragraph structure as newlines (one block per line). The extractors are plain functions of
``(html, url)`` so they are tested and benchmarked with no Spark.
"""

from __future__ import annotations

import codecs
import re
from typing import Callable, Iterator, Literal


Extractor = Literal["trafilatura", "resiliparse"]
EXTRACTORS: tuple[str, ...] = ("trafilatura", "resiliparse")

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


class UndecodableError(ValueError):
    """The body is not text in any charset it declares or that detection suggests (binary served as text)."""


def _codec_name(label: str | None) -> str | None:
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().strip("'\"").lower()).name
    except (LookupError, ValueError):
        return None


def meta_charset(body: bytes) -> str | None:
    """The charset an HTML ``<meta>`` tag declares in the first 4 KiB, if it names a known codec."""
    found = _META_CHARSET.search(body[:4096])
    return _codec_name(found.group(1).decode("ascii", "ignore")) if found else None


def decode_body(body: bytes, declared: str | None = None, *, max_nul_ratio: float = 0.01) -> tuple[str, str]:
    """Decode an HTTP/WET body to text; return ``(text, charset used)``.

    Candidates in order: the HTTP-declared charset, the HTML meta charset, uchardet's guess (Resiliparse), UTF-8,
    then Windows-1252. The first that decodes strictly wins. Raises :class:`UndecodableError` (never anything else)
    when none does or the bytes are mostly NULs (binary).
    """
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # UTF-16 is full of NULs: trust its BOM
        try:
            return body.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    nuls = body.count(b"\x00")
    if nuls > max_nul_ratio * max(len(body), 1):
        raise UndecodableError(f"{nuls} NUL bytes in {len(body)}: binary, not text")
    tried = []
    for charset in _candidate_charsets(body, declared):
        if charset is None or charset in tried:
            continue
        tried.append(charset)
        try:
            text = body.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.lstrip("\ufeff"), charset
    raise UndecodableError(f"no charset decodes the body (tried {', '.join(tried)})")


def _candidate_charsets(body: bytes, declared: str | None) -> Iterator[str | None]:
    # Lazily: uchardet only runs when neither the HTTP header nor the page names a charset that decodes.
    yield _codec_name(declared)
    yield meta_charset(body)
    try:
        from resiliparse.parse.encoding import detect_encoding

        yield _codec_name(detect_encoding(body))
    except Exception:  # detection is a hint; a failing detector must not lose the page
        pass
    yield "utf-8"
    yield "cp1252"


def clean_text(text: str | None) -> str:
    """Trim trailing spaces and collapse runs of blank lines so paragraphs are separated by one empty line."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def extract_trafilatura(html: str, url: str | None = None) -> str:
    import trafilatura

    # FineWeb's settings (favour precision, no comments) except deduplicate: trafilatura's deduplication keeps a
    # process-wide cache of text segments seen on earlier pages, so a page's text would depend on which pages the
    # same Spark worker read before it. curator's output must not depend on partitioning; the dedup stage removes
    # repeated documents instead.
    text = trafilatura.extract(
        html, url=url, favor_precision=True, include_comments=False, deduplicate=False, output_format="txt",
    )
    return clean_text(text)


def extract_resiliparse(html: str, url: str | None = None) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    text = extract_plain_text(
        html, preserve_formatting=True, main_content=True, list_bullets=False, alt_texts=False, links=False,
        form_fields=False, noscript=False, comments=False,
    )
    return clean_text(text)


_EXTRACTOR_FUNCTIONS: dict[str, Callable[[str, str | None], str]] = {
    "trafilatura": extract_trafilatura,
    "resiliparse": extract_resiliparse,
}


def extractor_function(name: str) -> Callable[[str, str | None], str]:
    try:
        return _EXTRACTOR_FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown extractor {name!r}; choose one of {', '.join(EXTRACTORS)}") from None
