"""HTML decoding and main-text extraction as pure functions (no WARC, no Spark)."""

from __future__ import annotations

import random

import pytest

from curator.extract.html import UndecodableError, decode_body, extract_resiliparse, extract_trafilatura
from tests.io import warc_fixture as wf


def test_decode_body_never_raises_anything_but_undecodable():
    rng = random.Random(7)
    for _ in range(300):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        declared = rng.choice([None, "utf-8", "no-such-charset", "shift_jis", "'utf-16'", ""])
        try:
            text, charset = decode_body(body, declared)
        except UndecodableError:
            continue
        assert isinstance(text, str) and charset


def test_trafilatura_output_does_not_depend_on_pages_seen_before():
    page = wf.article_html()
    first = extract_trafilatura(page)
    assert first and [extract_trafilatura(page) for _ in range(3)] == [first] * 3


def test_both_extractors_keep_paragraphs_as_lines():
    page = wf.article_html()
    for extract in (extract_trafilatura, extract_resiliparse):
        lines = [line for line in extract(page).split("\n") if line.strip()]
        assert lines[-3:] == wf.ARTICLE_PARAGRAPHS


def test_utf16_with_bom_decodes_and_nul_heavy_bytes_are_undecodable():
    text = "<html><body><p>Grüße aus dem Hafen</p></body></html>"
    assert decode_body(text.encode("utf-16")) == (text, "utf-16")
    with pytest.raises(UndecodableError, match="NUL bytes"):
        decode_body(b"<html>" + bytes(300))
