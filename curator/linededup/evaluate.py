"""Scoring line dedup against annotations: used by the benchmark and by the tests on real data.

- :func:`snippet_chars`: how many characters of annotated snippets (main content, boilerplate) that occur in a
  page's original text still occur in its output text.
- :func:`line_fates`: which lines of a document were removed (a multiset difference, in order).
- :func:`mail_regions`: a mail split into header, prose and footer lines, the footer being everything from the
  signature delimiter ("-- ") or a mailing-list footer rule near the end onwards.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass


def snippet_chars(original: str, output: str | None, snippets: list[str] | None) -> tuple[int, int]:
    """(chars of the snippets present in ``original``, chars of those still present in ``output``).

    A snippet counts whole or not at all: one removed line inside it makes it lost. Rejected documents have
    ``output`` None, so all their snippets are lost.
    """
    present = survived = 0
    for snippet in snippets or []:
        snippet = snippet.strip()
        if not snippet or snippet not in original:
            continue  # ~1% of gold snippets are not verbatim in the extracted text: they say nothing here
        present += len(snippet)
        if output is not None and snippet in output:
            survived += len(snippet)
    return present, survived


def line_fates(original: str, output: str | None) -> list[tuple[str, bool]]:
    """Every line of ``original`` with True when it is gone from ``output`` (None: everything is gone)."""
    left = Counter(output.split("\n")) if output is not None else Counter()
    fates = []
    for line in original.split("\n"):
        if left[line] > 0:
            left[line] -= 1
            fates.append((line, False))
        else:
            fates.append((line, True))
    return fates


# A signature delimiter, a Mailman or SourceForge footer rule, or the head of a Yahoo! Groups / eGroups footer.
_FOOTER_START = re.compile(r"^(?:-- ?|_{30,}|-{30,}|-{5,} ?Yahoo! Groups Sponsor.*|Yahoo! Groups Sponsor.*)$")
_FOOTER_WINDOW = 30  # footers are short: a rule further up is a separator inside the message
_PROSE_WORDS = 5
_MARKUP = re.compile(r"<[^>]*>|=[0-9A-F]{2}|^[\w-]+: |^\s*\S+://\S+\s*$")


@dataclass(frozen=True)
class MailRegions:
    header: list[int]
    prose: list[int]  # body lines before the footer that read as prose (see mail_regions)
    footer: list[int]


def is_prose(line: str) -> bool:
    """At least five words, mostly letters, no markup, quoting, MIME header or bare URL."""
    stripped = line.strip()
    if stripped.startswith(">") or _MARKUP.search(stripped) or len(stripped.split()) < _PROSE_WORDS:
        return False
    visible = [c for c in stripped if not c.isspace()]
    return sum(c.isalpha() for c in visible) >= 0.7 * len(visible)


def mail_regions(text: str) -> MailRegions:
    """Line indices of a raw RFC-822 message by region (a rule of thumb, not an annotation): the header block; the
    footer, from the first signature delimiter or list-footer rule among the last 30 body lines to the end; the
    prose, body lines above the footer that read as prose (:func:`is_prose`). Other lines (quotes, HTML, MIME
    part headers, blank lines) belong to no region."""
    lines = text.split("\n")
    try:
        body_start = next(i for i, line in enumerate(lines) if not line.strip())
    except StopIteration:
        return MailRegions(list(range(len(lines))), [], [])
    window = max(body_start, len(lines) - _FOOTER_WINDOW)
    footer_start = next((i for i in range(window, len(lines)) if _FOOTER_START.match(lines[i].rstrip("\r"))),
                        len(lines))
    prose = [i for i in range(body_start, footer_start) if is_prose(lines[i])]
    footer = [i for i in range(footer_start, len(lines)) if lines[i].strip()]
    return MailRegions(list(range(body_start)), prose, footer)
