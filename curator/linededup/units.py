"""Pure per-document logic of line dedup: split a text into units, normalise and hash them, and rewrite a text
without the units at given positions. No Spark here; :mod:`curator.linededup.stage` runs these over Arrow batches.

A *unit* is a line, a paragraph (blocks separated by blank lines) or a sentence. Units are the non-blank pieces
between separators; a unit's *position* is its index in that list, so splitting the same text twice gives the same
positions (the stage relies on this: it hashes in one pass and removes positions in another). Whitespace-only
pieces are never units, and units whose normalised form is shorter than ``min_unit_chars`` are never hashed, so
they are never removed.

Rewriting keeps everything it does not remove byte for byte: the text before the first unit, every kept unit, and
the text after the last unit. Between two kept units it puts one of the original separators that lay between them
(the one with the most line breaks, so a paragraph break next to a removed line survives).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Literal

import xxhash


UnitKind = Literal["line", "paragraph", "sentence"]

# A line without its surrounding whitespace: it starts and ends with a non-space, so the scan never backtracks
# over long runs of spaces (a pattern that may start on whitespace is quadratic on a whitespace-only line).
_LINE = re.compile(r"\S(?:[^\n]*\S)?")
_PARAGRAPH_BREAK = re.compile(r"\n(?:[ \t\r\f\v]*\n)+")
# Sentences end at ., !, ?, … followed by whitespace, right after the CJK full stops (which take no space), or at a
# line break (sentences are split inside lines): a rule, not a model, so every language splits alike.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])\s*")
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_WORD = re.compile(r"[^\W_]+")
_DIGIT = re.compile(r"\d")

_SIGN_BIT = 1 << 63
_TWO_64 = 1 << 64


@dataclass(frozen=True)
class Normalisation:
    """How units are normalised before hashing (so "Share this!" and "share  this" can count as one unit)."""

    lowercase: bool = True
    digits: bool = True  # every digit becomes 0: "© 2019" and "© 2023" match
    punctuation: bool = True  # punctuation and symbols become spaces: "Home | News" matches "home news"
    whitespace: bool = True  # runs of whitespace become one space

    def apply(self, unit: str) -> str:
        if self.lowercase:
            unit = unit.lower()
        if self.punctuation and self.whitespace:
            unit = " ".join(_WORD.findall(unit))  # both in one scan
        elif self.punctuation:
            unit = _PUNCTUATION.sub(" ", unit).strip()
        elif self.whitespace:
            unit = " ".join(unit.split())
        else:
            unit = unit.strip()
        if self.digits:
            unit = _DIGIT.sub("0", unit)
        return unit


def unit_spans(text: str, kind: UnitKind) -> list[tuple[int, int]]:
    """(start, end) of every non-blank unit of ``text``, in order; spans exclude surrounding whitespace."""
    lines = [m.span() for m in _LINE.finditer(text)]
    if kind == "line":
        return lines
    spans: list[tuple[int, int]] = []
    if kind == "paragraph":
        _split(text, 0, len(text), _PARAGRAPH_BREAK, spans)
    else:
        for start, end in lines:
            _split(text, start, end, _SENTENCE_END, spans)
    return spans


def _split(text: str, start: int, end: int, separator: re.Pattern, spans: list[tuple[int, int]]) -> None:
    """Append the non-blank pieces of ``text[start:end]`` between matches of ``separator``."""
    for match in separator.finditer(text, start, end):
        _add_span(text, start, match.start(), spans)
        start = match.end()
    _add_span(text, start, end, spans)


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(stripped)))


def unit_hash(normalised: str) -> int:
    """64-bit xxh3 of the normalised unit, as a signed integer (Spark's LongType)."""
    value = xxhash.xxh3_64_intdigest(normalised.encode("utf-8"))
    return value - _TWO_64 if value >= _SIGN_BIT else value


def hashed_units(text: str | None, kind: UnitKind, norm: Normalisation, min_unit_chars: int) -> list[tuple[int, int]]:
    """(position, hash) of every unit long enough to be deduplicated, in order."""
    if not text:
        return []
    out = []
    for position, (start, end) in enumerate(unit_spans(text, kind)):
        normalised = norm.apply(text[start:end])
        if len(normalised) >= min_unit_chars:
            out.append((position, unit_hash(normalised)))
    return out


def distinct_units(text: str | None, kind: UnitKind, norm: Normalisation,
                   min_unit_chars: int) -> list[tuple[int, list[int]]]:
    """(hash, positions in this document) per distinct eligible unit: one row per (document, hash), which is what
    the corpus-wide count needs (documents per hash) and keeps the exploded table narrow."""
    positions: dict[int, list[int]] = {}
    for position, h in hashed_units(text, kind, norm, min_unit_chars):
        if h in positions:
            positions[h].append(position)
        else:
            positions[h] = [position]
    return list(positions.items())


@dataclass(frozen=True)
class Rewrite:
    text: str
    units_removed: int
    chars_removed: int


def remove_units(text: str, kind: UnitKind, drop: Iterable[int]) -> Rewrite:
    """``text`` without the units at positions ``drop`` (positions as :func:`unit_spans` numbers them)."""
    drop = set(drop)
    if not text or not drop:
        return Rewrite(text, 0, 0)
    spans = unit_spans(text, kind)
    drop.intersection_update(range(len(spans)))
    if not drop:
        return Rewrite(text, 0, 0)
    kept = [i for i in range(len(spans)) if i not in drop]
    if not kept:
        return Rewrite("", len(drop), len(text))
    pieces = [text[:spans[0][0]]]
    for n, i in enumerate(kept):
        start, end = spans[i]
        pieces.append(text[start:end])
        if n + 1 < len(kept):
            following = kept[n + 1]
            if following == i + 1:
                pieces.append(text[end:spans[following][0]])
            else:
                # Between two kept units lie several original separators; the one with the most line breaks
                # keeps a paragraph break that followed a removed line.
                gaps = [text[spans[j][1]:spans[j + 1][0]] for j in range(i, following)]
                pieces.append(max(gaps, key=lambda gap: gap.count("\n")))
    pieces.append(text[spans[-1][1]:])
    out = "".join(pieces)
    return Rewrite(out, len(drop), len(text) - len(out))
