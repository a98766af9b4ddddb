"""Builds small WARC/WET files for tests, byte by byte, so the WARC path is tested on a fresh clone.

The pages are text written for these tests. Every record is its own gzip member, as in Common Crawl files.
"""

from __future__ import annotations

import gzip
import uuid


ARTICLE_PARAGRAPHS = [
    "The harbour town wakes before dawn, when the fishing boats slip past the breakwater one by one.",
    "By seven the market hall is full: traders call out the morning's catch while gulls wait on the roof.",
    "In the afternoon the tide turns, the quay empties, and the town settles into its long quiet evening.",
]


def article_html(title: str = "A day in the harbour town", paragraphs=ARTICLE_PARAGRAPHS, charset_meta: str = "",
                 extra_body: str = "") -> str:
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html><head>{meta}<title>{title}</title></head><body>"
            f"<nav><a href='/'>Home</a> | <a href='/news'>News</a> | <a href='/contact'>Contact</a></nav>"
            f"<article><h1>{title}</h1>\n{body}\n{extra_body}</article>"
            f"<footer>Copyright the harbour gazette. All rights reserved.</footer></body></html>")


def _record(warc_type: str, headers: dict[str, str], block: bytes, version: str = "1.1") -> bytes:
    record_id = uuid.uuid5(uuid.NAMESPACE_URL, warc_type + repr(headers) + str(len(block)))
    lines = [f"WARC/{version}", f"WARC-Type: {warc_type}", f"WARC-Record-ID: <urn:uuid:{record_id}>",
             "WARC-Date: 2024-05-18T01:58:10Z"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(block)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + block + b"\r\n\r\n"


def response(url: str, body: bytes, *, status: int = 200, content_type: str | None = "text/html; charset=utf-8",
             version: str = "1.1") -> bytes:
    reason = {200: "OK", 404: "Not Found", 301: "Moved Permanently"}.get(status, "Status")
    http = [f"HTTP/1.1 {status} {reason}"]
    if content_type is not None:
        http.append(f"Content-Type: {content_type}")
    http.append(f"Content-Length: {len(body)}")
    block = ("\r\n".join(http) + "\r\n\r\n").encode() + body
    return _record("response", {"WARC-Target-URI": url, "Content-Type": "application/http; msgtype=response"},
                   block, version)


def request(url: str) -> bytes:
    block = f"GET / HTTP/1.1\r\nHost: {url.split('/')[2]}\r\n\r\n".encode()
    return _record("request", {"WARC-Target-URI": url, "Content-Type": "application/http; msgtype=request"}, block)


def metadata(url: str) -> bytes:
    return _record("metadata", {"WARC-Target-URI": url, "Content-Type": "application/warc-fields"},
                   b"fetchTimeMs: 120\r\n")


def warcinfo() -> bytes:
    return _record("warcinfo", {"Content-Type": "application/warc-fields"}, b"software: curator tests\r\n")


def conversion(url: str, text: str) -> bytes:
    return _record("conversion", {"WARC-Target-URI": url, "Content-Type": "text/plain",
                                  "WARC-Identified-Content-Language": "eng"}, text.encode())


def write_warc(path, records: list[bytes], compress: bool = True) -> None:
    if compress:
        path.write_bytes(b"".join(gzip.compress(r) for r in records))
    else:
        path.write_bytes(b"".join(records))


def crawl_records() -> list[bytes]:
    """A crawl with one response per rejection reason, two good pages, and the non-document record types."""
    good = article_html().encode()
    cyrillic = article_html("Гавань", ["Утром рыбацкие лодки выходят в море одна за другой, и город просыпается.",
                                       "К семи часам рынок полон: торговцы выкладывают свежий улов на прилавки."])
    return [
        warcinfo(),
        request("https://harbour.example.org/day"), response("https://harbour.example.org/day", good),
        metadata("https://harbour.example.org/day"),
        response("https://harbour.example.ru/gavan", cyrillic.encode("cp1251"),
                 content_type="text/html; charset=windows-1251"),
        response("https://harbour.example.org/missing", b"<html><body>Not found</body></html>", status=404),
        response("https://harbour.example.org/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(200), content_type="image/png"),
        response("https://harbour.example.org/binary", b"<html>" + bytes(range(256)) * 8, content_type="text/html"),
        response("https://harbour.example.org/empty",
                 b"<html><head><script>var x = 1;</script></head><body></body></html>"),
    ]
