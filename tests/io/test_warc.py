"""WARC/WET reading: one test per rejection reason, charset handling, content detection, record accounting."""

from __future__ import annotations

import gzip
import json

import pytest

from curator.io.readers import ReadOptions, detect_format, read_file
from curator.io.warc import WARC_REASONS, HtmlOptions, count_record_types, read_warc, sniff_warc
from tests.io import warc_fixture as wf


def read(path, **html):
    return list(read_warc(str(path), path.name, ReadOptions(), HtmlOptions(**html)))


@pytest.fixture
def crawl(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    wf.write_warc(path, wf.crawl_records())
    return path


@pytest.mark.parametrize("extractor", ["trafilatura", "resiliparse"])
def test_each_response_gets_one_row_with_its_reason(crawl, extractor):
    rows = read(crawl, extractor=extractor)
    assert [r["reason"] for r in rows] == [None, None, "http_status", "non_html", "undecodable", "empty_extraction"]
    good, cyrillic = rows[0], rows[1]
    assert good["url"] == "https://harbour.example.org/day"
    assert good["id"].startswith("urn:uuid:")
    assert [line for line in good["text"].split("\n") if line][-3:] == wf.ARTICLE_PARAGRAPHS  # one per line
    assert "Copyright" not in good["text"] and "Contact" not in good["text"]  # boilerplate dropped
    assert "Утром рыбацкие лодки" in cyrillic["text"]
    meta = json.loads(cyrillic["meta"])
    assert meta["charset"] == "cp1251" and meta["http_status"] == 200 and meta["warc_type"] == "response"
    assert meta["warc_date"] == "2024-05-18T01:58:10Z" and meta["content_type"] == "text/html"
    assert "HTTP status 404" in rows[2]["reason_detail"] and "image/png" in rows[3]["reason_detail"]
    assert all(r["reason_detail"].startswith(f"{crawl} record ") for r in rows[2:])


def test_non_document_records_are_counted_by_type(crawl):
    assert count_record_types(str(crawl)) == {"warcinfo": 1, "request": 1, "response": 6, "metadata": 1}


def test_oversized_html(crawl):
    rows = read(crawl, extractor="resiliparse", max_html_bytes=300)
    assert rows[0]["reason"] == "oversized_html" and "max_html_bytes 300" in rows[0]["reason_detail"]


def test_truncated_file_keeps_its_readable_head(tmp_path):
    records = [wf.response(f"https://harbour.example.org/{i}", wf.article_html(f"Page {i}").encode())
               for i in range(6)]
    data = b"".join(gzip.compress(r) for r in records)
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) - 400])
    rows = read(cut, extractor="resiliparse")
    assert [r["reason"] for r in rows] == [None] * 5 + ["truncated_input"]


@pytest.mark.parametrize("compress", [True, False])
def test_cut_inside_a_record_that_is_not_a_document_adds_a_truncated_row(tmp_path, compress):
    records = [wf.response("https://harbour.example.org/day", wf.article_html().encode()),
               wf.metadata("https://harbour.example.org/day")]
    whole = tmp_path / ("whole.warc.gz" if compress else "whole.warc")
    wf.write_warc(whole, records, compress=compress)
    cut = tmp_path / ("cut.warc.gz" if compress else "cut.warc")
    cut.write_bytes(whole.read_bytes()[:-12])
    assert [r["reason"] for r in read(whole, extractor="resiliparse")] == [None]
    rows = read(cut, extractor="resiliparse")
    assert [r["reason"] for r in rows] == [None, "truncated_input"]
    assert rows[1]["id"].endswith("-truncated") and "file ends inside a record" in rows[1]["reason_detail"]


def test_wet_conversion_records_and_empty_text(tmp_path):
    path = tmp_path / "crawl.warc.wet.gz"
    wf.write_warc(path, [wf.warcinfo(), wf.conversion("https://harbour.example.org/day", "Line one\nLine two"),
                         wf.conversion("https://harbour.example.org/blank", " \n ")])
    rows = read(path)
    assert [(r["url"], r["reason"]) for r in rows] == [
        ("https://harbour.example.org/day", None), ("https://harbour.example.org/blank", "empty_text")]
    assert rows[0]["text"] == "Line one\nLine two"
    assert json.loads(rows[0]["meta"])["language"] == "eng"
    assert count_record_types(str(path)) == {"warcinfo": 1, "conversion": 2}


def test_undecodable_wet_body(tmp_path):
    path = tmp_path / "binary.warc.wet.gz"
    wf.write_warc(path, [wf.conversion("https://harbour.example.org/x", "text")[:0] or
                         wf._record("conversion", {"WARC-Target-URI": "https://harbour.example.org/x",
                                                   "Content-Type": "text/plain"}, bytes(500))])
    assert [r["reason"] for r in read(path)] == ["undecodable"]


def test_every_warc_reason_has_a_test():
    tested = {"http_status", "non_html", "undecodable", "empty_extraction", "oversized_html", "truncated_input",
              "empty_text"}
    assert set(WARC_REASONS) == tested


@pytest.mark.parametrize("version", ["1.0", "1.1", "0.18"])
def test_plain_uncompressed_warc_versions(tmp_path, version):
    path = tmp_path / "plain.warc"
    wf.write_warc(path, [wf.response("https://harbour.example.org/day", wf.article_html().encode(),
                                     version=version)], compress=False)
    assert sniff_warc(str(path))
    rows = read(path, extractor="resiliparse")
    assert rows[0]["reason"] is None and wf.ARTICLE_PARAGRAPHS[0] in rows[0]["text"]


def test_warc_is_detected_by_content_whatever_its_name(tmp_path):
    path = tmp_path / "misnamed.jsonl.gz"
    wf.write_warc(path, wf.crawl_records())
    assert detect_format(str(path)) == "jsonl.gz" and sniff_warc(str(path))
    rows = list(read_file(str(path), path.name, ReadOptions(), html=HtmlOptions(extractor="resiliparse")))
    assert len(rows) == 6 and rows[0]["url"] == "https://harbour.example.org/day"
    bare = tmp_path / "crawl-without-extension"
    bare.write_bytes(path.read_bytes())
    assert len(list(read_file(str(bare), bare.name, ReadOptions(), html=HtmlOptions(extractor="resiliparse")))) == 6
    for name in ("a.warc", "a.warc.gz", "a.warc.wet.gz", "a.warc.zst"):
        assert detect_format(name) == "warc"
    jsonl = tmp_path / "real.jsonl.gz"
    jsonl.write_bytes(gzip.compress(b'{"text": "WARC/1.0 is not at the start of this file"}\n'))
    assert not sniff_warc(str(jsonl))


def test_charset_from_meta_tag_when_http_header_has_none(tmp_path):
    page = wf.article_html("Café", ["Le café du port ouvre à l'aube, quand les bateaux rentrent au quai.",
                                   "Les pêcheurs y boivent un café noir avant de décharger leurs filets."],
                           charset_meta="iso-8859-1")
    path = tmp_path / "latin.warc.gz"
    wf.write_warc(path, [wf.response("https://port.example.fr/", page.encode("latin-1"), content_type="text/html")])
    rows = read(path, extractor="resiliparse")
    assert "Le café du port ouvre à l'aube" in rows[0]["text"]
    assert json.loads(rows[0]["meta"])["charset"] == "iso8859-1"


# -- real crawl files (../shared/data); an extra layer over the generated ones above ---------------------------


def test_common_crawl_warc_head(shared_data):
    path = shared_data / "resiliparse-cc-warc" / "warcfile.warc.gz"
    assert count_record_types(str(path)) == {"warcinfo": 1, "request": 17, "response": 16, "metadata": 16}
    rows = list(read_warc(str(path), path.name, ReadOptions(), HtmlOptions(extractor="resiliparse")))
    assert len(rows) == 16 and len({r["id"] for r in rows}) == 16
    assert all(r["url"].startswith("http") and r["reason"] is None and r["text"].strip() for r in rows)
    by_url = {r["url"]: r for r in rows}
    assert json.loads(by_url["http://01spb.ru/company/"]["meta"])["charset"] == "cp1251"
    assert any("\u0400" <= c <= "\u04ff" for c in by_url["http://01spb.ru/company/"]["text"])  # Cyrillic text


def test_clueweb_quirks_and_euc_jp(shared_data):
    path = shared_data / "resiliparse-cc-warc" / "clueweb-quirk.warc.gz"
    rows = list(read_warc(str(path), path.name, ReadOptions(), HtmlOptions(extractor="resiliparse")))
    assert len(rows) == 29 and all(r["reason"] is None for r in rows)
    assert all(json.loads(r["meta"])["charset"] == "euc_jp" for r in rows)
    assert all(any("\u3040" <= c <= "\u30ff" for c in r["text"]) for r in rows)  # kana, not mojibake


def test_whirlwind_warc_and_wet(shared_data):
    folder = shared_data / "commoncrawl-whirlwind"
    warc = read(folder / "whirlwind.warc.gz")
    wet = read(folder / "whirlwind.warc.wet.gz")
    assert [r["url"] for r in warc] == [r["url"] for r in wet] == ["https://an.wikipedia.org/wiki/Escopete"]
    assert "Escopete ye un municipio" in warc[0]["text"] and "Escopete ye un municipio" in wet[0]["text"]
    assert len(warc[0]["text"]) < len(wet[0]["text"])  # main text only; WET keeps the menus
    assert count_record_types(str(folder / "whirlwind.warc.wat.gz")) == {"warcinfo": 1, "metadata": 1}
