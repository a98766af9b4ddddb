"""A cheap pre-screen that sends presidio only the parts of a document that can hold a configured entity.

presidio is slow per character: it tokenizes the whole document, runs the phone matcher once per region over all of
it, and scans all tokens again for context words around each match. Most web text holds no personal data, and what
it holds is short. So for each entity we keep a *candidate* pattern, a necessary condition that any match of that
entity's recognizer must contain (an ``@`` for e-mail; a run of at least 9 digits for an SSN; ...). Documents
without candidates skip the analyzer altogether; the others are analysed only in *windows*: each candidate plus
``margin`` characters on both sides, widened to the nearest whitespace so no word is cut, overlapping windows
merged. The analyzer then sees the same characters around every match as in the full document (and at least
``margin`` characters of context words), so the results are the same; ``tests/pii`` checks that on real text.

Entities without a candidate pattern here (NER entities, URL, other presidio entities) turn the pre-screen off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from curator.pii.recognizers import ADDRESS_CANDIDATE


# phonenumbers' punctuation class (`phonenumberutil._VALID_PUNCTUATION`: dashes, spaces, dots, slashes, brackets,
# tildes and "x", with their full-width forms). Its matcher takes digit blocks separated by at most 4 of these, so a
# maximal run of that shape contains every phone candidate; it also contains presidio's card and SSN patterns,
# whose separators are spaces, dashes and dots. Commas, colons and newlines end a run.
PHONE_PUNCTUATION = (
    "\\-xX\u2010-\u2015\u2212\u30FC\uFF0D-\uFF0F \u00A0\u00AD\u200B\u2060\u3000()\uFF08\uFF09\uFF3B\uFF3D."
    "\\[\\]/~\u2053\u223C\uFF5E"
)
DIGIT_RUN = re.compile(f"\\d(?:[{PHONE_PUNCTUATION}]{{0,4}}\\d)*")
# Minimum digits in a run for a match to be possible: phonenumbers' shortest valid national numbers among the
# usual regions have 5 digits (DE and AT have 4-digit subscriber numbers, always written with an area code);
# SSN patterns have exactly 9 digits; card numbers at least 12.
_MIN_DIGITS = {"PHONE_NUMBER": 5, "US_SSN": 9, "CREDIT_CARD": 12, "NATIONAL_ID": 9}

# Dates ("19.10.2019", "2019-10-19", "10/19/19") and year ranges ("2011-2018") are the commonest digit runs in web
# text. phonenumbers accepts some of them as national numbers ("3.10.2000"), which are false positives; they are
# never taken for phone numbers here (TODO: a date-shaped phone number would be missed).
_DATE_RUN = re.compile(
    r"(?:(?:0?[1-9]|[12]\d|3[01])[./-](?:0?[1-9]|1[0-2])|(?:0?[1-9]|1[0-2])[./-](?:0?[1-9]|[12]\d|3[01]))"
    r"[./-](?:19|20)?\d\d"
    r"|(?:19|20)\d\d[./-](?:0?[1-9]|1[0-2])[./-](?:0?[1-9]|[12]\d|3[01])"
    r"|(?:19|20)\d\d ?[-/\u2013] ?(?:19|20)?\d\d"
)


def is_date_run(run: str) -> bool:
    """True for a digit run that is a calendar date or a year range.

    >>> [is_date_run(r) for r in ("19.10.2019", "2019-10-19", "2011-2018", "030 1234567", "3.10.2000")]
    [True, True, True, False, True]
    """
    return _DATE_RUN.fullmatch(run) is not None


def is_date_inside(value: str) -> bool:
    """True when a calendar date or a year range is part of ``value`` ("15 2006-03-07").

    >>> is_date_inside("15 2006-03-07"), is_date_inside("030 1234567"), is_date_inside("+61.7.4323.1948")
    (True, False, False)
    """
    return _DATE_INSIDE.search(value) is not None


_DATE_INSIDE = re.compile(f"(?<![\\d.])(?:{_DATE_RUN.pattern})(?![\\d])")


def digits_in(run: str) -> int:
    return sum(c.isdigit() for c in run)


def phone_candidate(run: str) -> bool:
    """A digit run (a ``DIGIT_RUN`` match) that may hold a phone number: 5+ digits and not a date."""
    return len(run) >= PHONE_MIN_DIGITS and digits_in(run) >= PHONE_MIN_DIGITS and not is_date_run(run)


PHONE_MIN_DIGITS = 5

_CANDIDATES: dict[str, re.Pattern] = {
    "EMAIL_ADDRESS": re.compile(r"@"),
    # IPv4 (also inside IPv6-mapped forms) needs digit-dot-...-dot-digit; every IPv6 form has two colons with at
    # most four hex digits between the first two ("::", "fe80::", "2001:db8:").
    "IP_ADDRESS": re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d|:[0-9A-Fa-f]{0,4}:"),
    # Country code and check digits open every IBAN.
    "IBAN_CODE": re.compile(r"[A-Za-z]{2}\d{2}"),
    # National ids with letters (ES DNI/NIE, IT codice fiscale); the digit-only ones come from the digit runs.
    "NATIONAL_ID": re.compile(r"\d{7}-?[A-Za-z]\b|\b[A-Za-z]{6}\d{2}[A-Za-z]\d{2}"),
    "STREET_ADDRESS": ADDRESS_CANDIDATE,
    # A private-key block is one candidate from BEGIN to END, so its window holds all of it; the rest are the
    # token prefixes, URL credentials and secret key names of curator.pii.recognizers.secret_spans.
    "SECRET": re.compile(
        r"-----BEGIN[^\n]*PRIVATE KEY[\s\S]*?(?:-----END[^\n]*|\n\s*\n|\Z)"
        r"|A[KSGIRNP][A-Z]A[A-Z0-9]{16}|\bgh[pousr]_|github_pat_|glpat-|xox[abposr]-|_(?:live|test)_|AIza|\bsk-"
        r"|npm_|pypi-|eyJ|://[^\s:/@]+:[^\s/@]+@"
        r"|(?i:passw|passphrase|pwd|secret|api[_\-]?key|access[_\-]?key|token)"
    ),
}

SCREENED_ENTITIES = frozenset(_CANDIDATES) | frozenset(_MIN_DIGITS)


def can_prescreen(entities: Iterable[str]) -> bool:
    """True when every entity has a candidate pattern (otherwise documents are analysed whole)."""
    return all(e in SCREENED_ENTITIES for e in entities)


class Prescreen:
    """Finds candidate spans for a fixed entity list and turns them into analysis windows.

    Args:
        entities: configured entity names, all in :data:`SCREENED_ENTITIES`.
        margin: characters of context kept on each side of a candidate (presidio looks at the 5 tokens before a
            match for context words such as "phone" or "ssn").
    """

    def __init__(self, entities: Sequence[str], margin: int = 60):
        unknown = [e for e in entities if e not in SCREENED_ENTITIES]
        if unknown:
            raise ValueError(f"no pre-screen pattern for {unknown}")
        self.margin = margin
        self.patterns = [_CANDIDATES[e] for e in dict.fromkeys(entities) if e in _CANDIDATES]
        digit_needs = [_MIN_DIGITS[e] for e in entities if e in _MIN_DIGITS]
        self.min_digits = min(digit_needs) if digit_needs else None
        # Runs this long qualify for an SSN or a card even when they look like a date (never, in practice).
        other_needs = [_MIN_DIGITS[e] for e in entities if e in _MIN_DIGITS and e != "PHONE_NUMBER"]
        self.min_non_phone_digits = min(other_needs) if other_needs else 10**9

    def candidates(self, text: str) -> list[tuple[int, int]]:
        """Spans that may be (part of) an entity, unsorted."""
        spans = []
        for pattern in self.patterns:
            spans.extend(m.span() for m in pattern.finditer(text))
        if self.min_digits is not None:
            for m in DIGIT_RUN.finditer(text):
                run = m.group()
                if len(run) < self.min_digits:  # cheap length test before counting digits
                    continue
                n = digits_in(run)
                if n >= self.min_digits and (n >= self.min_non_phone_digits or phone_candidate(run)):
                    spans.append(m.span())
        return spans

    def windows(self, text: str) -> list[tuple[int, int]]:
        """Sorted, disjoint ``(start, end)`` windows to analyse; empty when the text cannot hold an entity."""
        spans = self.candidates(text)
        if not spans:
            return []
        spans.sort()
        windows: list[tuple[int, int]] = []
        for start, end in spans:
            start = _word_start(text, max(0, start - self.margin)) if start > self.margin else 0
            end = _word_end(text, end + self.margin) if end + self.margin < len(text) else len(text)
            if windows and start <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(windows[-1][1], end))
            else:
                windows.append((start, end))
        return windows


# Bound on how far a window edge moves to reach whitespace: scripts written without spaces (Chinese, Japanese)
# would otherwise stretch a window over a whole paragraph. The candidate itself always stays `margin` inside.
_MAX_SNAP = 256


def _word_start(text: str, i: int) -> int:
    """Move ``i`` left to the start of the whitespace-delimited word it falls in (at most ``_MAX_SNAP`` chars)."""
    stop = max(0, i - _MAX_SNAP)
    while i > stop and not text[i - 1].isspace():
        i -= 1
    return i


def _word_end(text: str, i: int) -> int:
    """Move ``i`` right to the end of the whitespace-delimited word it falls in (at most ``_MAX_SNAP`` chars)."""
    stop = min(len(text), i + _MAX_SNAP)
    while i < stop and not text[i - 1].isspace() and not text[i].isspace():
        i += 1
    return i
