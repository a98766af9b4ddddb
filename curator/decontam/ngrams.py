"""Normalisation and the n-gram index of benchmark items: pure NumPy/Python, no Spark.

Text is normalised the way n-gram decontamination is usually done (GPT-3, lm-eval-harness): lowercase, Unicode
punctuation removed, split on whitespace. Each normalised word becomes a stable 64-bit hash (pandas' keyed SipHash,
identical in every process), and a window of ``L`` words becomes one 64-bit polynomial hash of its word hashes, so a
document is scanned with a few vectorised NumPy passes instead of building n-gram strings.

Every benchmark item (one text field of one record) contributes all its ``n``-grams; an item shorter than ``n`` words
(but at least ``min_item_tokens``) contributes its whole word sequence as one shorter window.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, field

import numpy as np


_PUNCTUATION_TABLE: dict[int, None] | None = None
_WORD = re.compile(r"\S+")
# Odd 64-bit multipliers for the rolling window hash and the length salt (overflow wraps modulo 2**64 on purpose).
_WINDOW_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_LENGTH_SALT = np.uint64(0xC2B2AE3D27D4EB4F)


def punctuation_table() -> dict[int, None]:
    """``str.translate`` table deleting every Unicode punctuation character (categories P*), built once."""
    global _PUNCTUATION_TABLE
    if _PUNCTUATION_TABLE is None:
        _PUNCTUATION_TABLE = {c: None for c in range(sys.maxunicode + 1)
                              if unicodedata.category(chr(c)).startswith("P")}
    return _PUNCTUATION_TABLE


def normalize_words(text: str) -> list[str]:
    """Lowercased words with punctuation removed (``"Don't stop."`` -> ``["dont", "stop"]``)."""
    return text.lower().translate(punctuation_table()).split()


def words_with_spans(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Normalised words and the character span of each in ``text`` (same words as :func:`normalize_words`)."""
    table = punctuation_table()
    words, spans = [], []
    for match in _WORD.finditer(text):
        word = match.group().lower().translate(table)
        if word:
            words.append(word)
            spans.append(match.span())
    return words, spans


def hash_words(words: list[str]) -> np.ndarray:
    """Stable uint64 hash of each word (the same in every process and run)."""
    from pandas.util import hash_array

    if not words:
        return np.zeros(0, dtype=np.uint64)
    return hash_array(np.asarray(words, dtype=object), categorize=False)


def window_hashes(word_hashes: np.ndarray, length: int) -> np.ndarray:
    """Hash of every window of ``length`` consecutive words (``len - length + 1`` values, none if too short)."""
    count = word_hashes.size - length + 1
    if count <= 0 or length <= 0:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        acc = np.zeros(count, dtype=np.uint64)
        for k in range(length):
            acc = acc * _WINDOW_MULTIPLIER + word_hashes[k:k + count]
        return acc ^ (np.uint64(length) * _LENGTH_SALT)


def all_window_hashes(word_hashes: np.ndarray, lengths: tuple[int, ...]):
    """``(length, window_hashes(word_hashes, length))`` for each of the sorted ``lengths`` in one rolling pass."""
    size = word_hashes.size
    if not lengths or size < lengths[0]:
        return
    padded = np.concatenate([word_hashes, np.zeros(lengths[-1], dtype=np.uint64)])
    wanted = set(lengths)
    with np.errstate(over="ignore"):
        acc = np.zeros(size, dtype=np.uint64)
        for k in range(1, lengths[-1] + 1):
            if k > size:
                return
            acc = acc * _WINDOW_MULTIPLIER + padded[k - 1:k - 1 + size]
            if k in wanted:  # acc[i] now hashes words[i:i+k]; only the first size-k+1 windows are whole
                yield k, acc[:size - k + 1] ^ (np.uint64(k) * _LENGTH_SALT)


@dataclass(frozen=True)
class BenchmarkItem:
    benchmark: str
    item_id: str
    texts: tuple[str, ...]  # the configured fields of one record


@dataclass
class NgramIndex:
    """Sorted window hashes of all benchmark items and, for each, the item it came from.

    ``labels[i]`` is ``"<benchmark>:<item id>"``; ``lengths`` are the window lengths present (``n`` and the lengths of
    short items), each scanned separately.
    """

    n: int
    hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    item_of_hash: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    labels: list[str] = field(default_factory=list)
    lengths: tuple[int, ...] = ()
    # per benchmark: items read, items indexed, items too short to index
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def build(cls, items: list[BenchmarkItem], n: int = 13, min_item_tokens: int = 8) -> "NgramIndex":
        chunks, owners, lengths, labels = [], [], set(), []
        counts: dict[str, dict[str, int]] = {}
        for item in items:
            tally = counts.setdefault(item.benchmark, {"items": 0, "items_indexed": 0, "items_too_short": 0})
            tally["items"] += 1
            label_index = len(labels)
            indexed = False
            for text in item.texts:
                words = normalize_words(text)
                if len(words) < min_item_tokens:
                    continue
                length = min(n, len(words))
                windows = window_hashes(hash_words(words), length)
                chunks.append(windows)
                owners.append(np.full(windows.size, label_index, dtype=np.int32))
                lengths.add(length)
                indexed = True
            if indexed:
                labels.append(f"{item.benchmark}:{item.item_id}")
                tally["items_indexed"] += 1
            else:
                tally["items_too_short"] += 1
        if not chunks:
            return cls(n=n, labels=labels, counts=counts)
        hashes = np.concatenate(chunks)
        item_of_hash = np.concatenate(owners)
        order = np.argsort(hashes, kind="stable")
        return cls(n=n, hashes=hashes[order], item_of_hash=item_of_hash[order], labels=labels,
                   lengths=tuple(sorted(lengths)), counts=counts)

    def __len__(self) -> int:
        return int(self.hashes.size)

    def find(self, word_hashes: np.ndarray) -> list[tuple[int, int, int]]:
        """Matches in one document's word hashes: ``(start word, window length, item index)``, by start.

        A window shared by several items reports the first of them (one hit is enough to flag the document).
        """
        hits: list[tuple[int, int, int]] = []
        if not self.hashes.size:
            return hits
        for length, windows in all_window_hashes(word_hashes, self.lengths):
            slots = np.searchsorted(self.hashes, windows)
            slots[slots == self.hashes.size] = 0
            found = np.flatnonzero(self.hashes[slots] == windows)
            hits.extend((int(i), length, int(self.item_of_hash[slots[i]])) for i in found)
        hits.sort()
        return hits


def masked_text(text: str, spans: list[tuple[int, int]], word_ranges: list[tuple[int, int]], mask_with: str) -> str:
    """``text`` with the characters covered by the word ranges ``[start, end)`` replaced by ``mask_with``."""
    merged: list[list[int]] = []
    for start, end in sorted(word_ranges):
        char_start, char_end = spans[start][0], spans[end - 1][1]
        if merged and char_start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], char_end)
        else:
            merged.append([char_start, char_end])
    pieces, position = [], 0
    for char_start, char_end in merged:
        pieces.append(text[position:char_start])
        pieces.append(mask_with)
        position = char_end
    pieces.append(text[position:])
    return "".join(pieces)
