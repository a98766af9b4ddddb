"""A cheap pre-screen that sends presidio only the parts of a document that can hold a configured entity.

presidio is slow per character: it tokenizes the whole document, runs the phone matcher once per region over all of
it, and scans all tokens again for context words around each match. Most web text holds no personal data, and what
it holds is short. So for each entity we keep a *candidate* pattern, a necessary condition that any match of that
entity's recognizer must contain (an ``@`` for e-mail; a run of at least 9 digits for an SSN; ...). Documents
without candidates skip the analyzer altogether; the others are analysed only in *windows*: each candidate plus
``margin`` characters on both sides, widened to the nearest whitespace so no word is cut, overlapping windows
merged. The analyzer then sees the same characters around every match as in the full document (and at least
``margin`` characters of context words), so the results are the same; ``tests/pii`` checks that on real text.

Each window also carries the entities whose candidates lie in it, and only their recognizers run there: a window
opened for an ``@`` runs the e-mail pattern, not the phone matcher, pyap and the secret patterns. Candidates are
found with regexes that start with a digit or a literal (``re`` skips ahead to those cheaply; a regex that starts
with a letter class is tried at every letter) or with ``str.find``.

Entities without a candidate pattern here (NER entities, URL, other presidio entities) turn the pre-screen off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

from curator.pii.recognizers import address_candidates, secret_candidates


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

# Candidate finders: text -> (start, end) spans, each a necessary condition for its entity's recognizer. Each is
# written so that ``re`` can skip ahead cheaply: a pattern that starts with a letter class is tried at every letter
# (slow on prose), one that starts with a digit or a literal is not; letter-led candidates are found with
# ``str.find`` (curator.pii.recognizers.literal_positions) or through a look-behind after their digits.
_EMAIL = re.compile(r"@")
# IPv4 (also inside IPv6-mapped forms) needs digit-dot-...-dot-digit; every IPv6 form has two colons with at most four
# hex digits between the first two ("::", "fe80::", "2001:db8:").
_IP = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d|:[0-9A-Fa-f]{0,4}:")
# Country code and check digits open every IBAN: two digits after two letters (the span includes the letters).
_IBAN = re.compile(r"\d\d(?<=[A-Za-z]{2}\d\d)")
# National ids with letters: ES DNI/NIE (7+ digits and a letter), FR NIR of Corsica ("2A"/"2B" department), and
# (after its digits) IT codice fiscale, whose span starts 6 letters earlier.
_NATIONAL_ID_DIGITS = re.compile(r"\d{7}-?[A-Za-z]\b|2[AB] ?\d{3} ?\d{3}")
_CODICE_FISCALE = re.compile(r"\d\d[A-Za-z]\d\d(?<=\b[A-Za-z]{6}\d\d[A-Za-z]\d\d)")


def _spans(pattern: re.Pattern, text: str, back: int = 0) -> Iterator[tuple[int, int]]:
    return ((m.start() - back, m.end()) for m in pattern.finditer(text))


def _national_id_candidates(text: str) -> Iterator[tuple[int, int]]:
    yield from _spans(_NATIONAL_ID_DIGITS, text)
    yield from _spans(_CODICE_FISCALE, text, back=6)


_CANDIDATES: dict[str, Callable[[str], Iterable[tuple[int, int]]]] = {
    "EMAIL_ADDRESS": lambda text: _spans(_EMAIL, text),
    "IP_ADDRESS": lambda text: _spans(_IP, text),
    "IBAN_CODE": lambda text: _spans(_IBAN, text, back=2),
    # The digit-only national ids come from the digit runs.
    "NATIONAL_ID": _national_id_candidates,
    "STREET_ADDRESS": address_candidates,
    # A private-key block is one candidate from BEGIN to END, so its window holds all of it; the rest are the
    # token prefixes, URL credentials and secret key names of curator.pii.recognizers.secret_spans.
    "SECRET": secret_candidates,
}

SCREENED_ENTITIES = frozenset(_CANDIDATES) | frozenset(_MIN_DIGITS)


def can_prescreen(entities: Iterable[str]) -> bool:
    """True when every entity has a candidate pattern (otherwise documents are analysed whole)."""
    return all(e in SCREENED_ENTITIES for e in entities)


class Window(NamedTuple):
    """A stretch of text to analyse and the entities whose candidates lie in it (only their recognizers run)."""

    start: int
    end: int
    entities: frozenset[str]


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
        entities = list(dict.fromkeys(entities))
        self.finders = [(frozenset([e]), _CANDIDATES[e]) for e in entities if e in _CANDIDATES]
        self.digit_needs = {e: _MIN_DIGITS[e] for e in entities if e in _MIN_DIGITS}
        self.min_digits = min(self.digit_needs.values()) if self.digit_needs else None
        # Entity sets of a digit run by its digit count, computed once per count.
        self._run_entities: dict[tuple[int, bool], frozenset[str]] = {}

    def _digit_run_entities(self, digits: int, phone: bool) -> frozenset[str]:
        key = (digits, phone)
        found = self._run_entities.get(key)
        if found is None:
            found = frozenset(
                e for e, need in self.digit_needs.items() if digits >= need and (e != "PHONE_NUMBER" or phone)
            )
            self._run_entities[key] = found
        return found

    def candidates(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        """Spans that may be (part of) an entity, each with the entities it may belong to; unsorted."""
        spans = []
        for entities, finder in self.finders:
            spans.extend((start, end, entities) for start, end in finder(text))
        if self.min_digits is not None:
            for m in DIGIT_RUN.finditer(text):
                run = m.group()
                if len(run) < self.min_digits:  # cheap length test before counting digits
                    continue
                n = digits_in(run)
                if n < self.min_digits:
                    continue
                entities = self._digit_run_entities(n, "PHONE_NUMBER" in self.digit_needs and phone_candidate(run))
                if entities:
                    spans.append((m.start(), m.end(), entities))
        return spans

    def windows(self, text: str) -> list[Window]:
        """Sorted, disjoint windows to analyse; empty when the text cannot hold an entity."""
        spans = self.candidates(text)
        if not spans:
            return []
        spans.sort(key=lambda span: span[0])
        windows: list[Window] = []
        for start, end, entities in spans:
            start = _word_start(text, max(0, start - self.margin)) if start > self.margin else 0
            end = _word_end(text, end + self.margin) if end + self.margin < len(text) else len(text)
            if windows and start <= windows[-1].end:
                last = windows[-1]
                windows[-1] = Window(last.start, max(last.end, end), last.entities | entities)
            else:
                windows.append(Window(start, end, entities))
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
