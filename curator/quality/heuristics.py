"""Text measures shared by the quality rule families (``curator.quality.filters``): words, sentences, duplicates.

Word splitting is done once per document (:class:`TextView`) and shared by the families. It is a single precompiled
regular expression that approximates spaCy's blank English tokenizer (the one datatrove uses): punctuation is split
off words, ``...`` and runs of ``-`` stay one token, ``it's`` gives ``it`` + ``'s``, URLs and ``e.g.`` stay whole.
"""

from __future__ import annotations

import re
from collections import Counter


# ----------------------------------------------------------------------------------------------------------- words

_ABBREVIATIONS = (
    "Mr|Mrs|Ms|Dr|Prof|St|Mt|Jr|Inc|Ltd|Co|Corp|vs|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|"
    "Gen|Gov|Sen|Rep|Rev|Capt|Lt|Sgt|Ave|Blvd|Dept|Univ|Fig|approx"
)
# Characters that join runs of letters/digits into one token. As in spaCy, a chunk between spaces is split inside
# only at "infixes": - / : < > = between a letter or digit and a letter, a hyphen between digits, a comma between
# letters, a period between a lowercase and an uppercase letter, "..." and the clitics 's 're 've 'll 'd 'm 't.
_JOIN = (
    r"(?:[^\s\w\-/:<>=,.'\u2019\u2026]|_"  # other punctuation inside a chunk stays: foo(bar  R&D  a@b  size="2
    r"|(?<![^\W_])[-/:<>=]"  # after punctuation: </B>  ="http
    r"|[/:<>=](?![^\W\d_])"  # before a non-letter: 12:30  50/50  size=3D
    r"|(?<=[^\W\d_])-(?![^\W\d_])|(?<=\d)-(?![^\W_])"  # COVID-19
    r"|(?<![^\W\d_]),|,(?![^\W\d_])"  # 1,000
    r"|(?<![a-z.])\.(?!\.)|(?<!\.)\.(?![A-Z.])"  # 3.5  v2.0  x.com  but ok.Next splits
    r"|['\u2019](?!(?:s|S|re|ve|ll|d|m|t)\b))"  # O'Brien  but it's splits
)
WORD_SPLIT_RE = re.compile(
    r"(?:(?:https?|ftp)://|mailto:)[^\s<>\"]+?(?=[.,;:!?)\]'\">]*(?:\s|$))"  # URL, trailing punctuation split off
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail address
    r"|www\.[^\s<>\"]+?(?=[.,;:!?)\]'\"]*(?:\s|$))"
    r"|(?:[A-Za-z]\.){2,}|[A-Z]\.(?=\s|$)"  # e.g.  U.S.  p.m.  initials: Howard L. Berman
    rf"|(?:{_ABBREVIATIONS})\.(?=\s|$)"
    # Possessive quantifiers: joining characters are never word characters, so there is one way to match, and
    # runs like "=====" cannot make the alternatives (two may match the same character) backtrack exponentially.
    rf"|(?:(?<!\S)[-+](?=\d)|(?<![^\W_])\.(?=[^\W_]))?[^\W_]++(?:{_JOIN}++[^\W_]++)*+"  # words, -0400, .profile
    r"|['\u2019][^\W_]+"  # clitics: 's 're and the tail of don't
    r"|\.{2,}|-{2,}|~{2,}|/{2,}|\|{2,}|\\{2,}|'{2,}"  # runs that stay one token
    r"|[^\w\s]|_"  # any other symbol, one per token
)


def split_words(text: str) -> list[str]:
    """Word and punctuation tokens of ``text`` (whitespace dropped)."""
    return WORD_SPLIT_RE.findall(text)


_HAS_ALNUM = re.compile(r"[^\W_]").search


def is_symbol_token(token: str) -> bool:
    """True for tokens made only of punctuation or symbols (our word tokens end in a letter or digit: fast path)."""
    return not (token[-1].isalnum() or _HAS_ALNUM(token))


# Unicode sentence terminators most often seen in web text (Latin, CJK, Arabic, Devanagari, Armenian, Ethiopic...).
TERMINAL_PUNCTUATION = frozenset(".!?\u3002\uff01\uff1f\uff0e\uff61\u061f\u06d4\u0964\u0965\u0589\u1362\u1367"
                                 "\u104b\u203c\u203d\u2047\u2048\u2049\ufe52\ufe56\ufe57")


def count_sentences(tokens: list[str]) -> int:
    """Sentences in a token list: a new one starts at the first word token after a terminal punctuation token."""
    if not tokens:
        return 0
    sentences, after_terminal = 1, False
    for token in tokens:
        if token in TERMINAL_PUNCTUATION:
            after_terminal = True
        elif after_terminal and not is_symbol_token(token):
            sentences += 1
            after_terminal = False
    return sentences


class TextView:
    """One document's text with lazily computed, shared splits (words, lines, paragraphs)."""

    __slots__ = ("text", "lang", "_words", "_lines")

    def __init__(self, text: str, lang: str | None = None):
        self.text = text
        self.lang = lang
        self._words: list[str] | None = None
        self._lines: list[str] | None = None

    @property
    def words(self) -> list[str]:
        if self._words is None:
            self._words = split_words(self.text)
        return self._words

    @property
    def lines(self) -> list[str]:
        """``str.splitlines()`` of the text (Gopher's line definition)."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines


# ------------------------------------------------------------------------------------------------ duplicates

def duplicate_stats(elements: list) -> tuple[int, int]:
    """(number of elements equal to an earlier one, their total length)."""
    seen: set = set()
    dup_count = dup_chars = 0
    for element in elements:
        if element in seen:
            dup_count += 1
            dup_chars += len(element)
        else:
            seen.add(element)
    return dup_count, dup_chars


def top_ngram_chars(words: list[str], n: int) -> int:
    """Characters covered by the most frequent n-gram: len(n-gram joined by spaces) x its count (0 if none)."""
    if len(words) < n:
        return 0
    counts = Counter(zip(*(words[i:] for i in range(n))))
    gram, count = max(counts.items(), key=lambda kv: kv[1])
    return (sum(map(len, gram)) + n - 1) * count


def duplicate_ngram_chars(words: list[str], n: int, cumulative: list[int]) -> int:
    """Characters in n-grams that repeat an earlier n-gram, skipping past each repeat so no word counts twice."""
    grams = list(zip(*(words[i:] for i in range(n))))
    if len(set(grams)) == len(grams):
        return 0
    seen: set = set()
    repeated, idx, total = 0, 0, len(grams)
    while idx < total:
        gram = grams[idx]
        if gram in seen:
            repeated += cumulative[idx + n] - cumulative[idx]
            idx += n
        else:
            seen.add(gram)
            idx += 1
    return repeated
