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
# Links first (leftmost alternative wins at a position). Only text holding one of LINK_MARKERS can match them, so
# other text uses the pattern without them: the same tokens, without trying three alternatives at every word.
_LINKS = (
    r"(?:(?:https?|ftp)://|mailto:)[^\s<>\"]+?(?=[.,;:!?)\]'\">]*(?:\s|$))"  # URL, trailing punctuation split off
    # e-mail address; possessive: "@" is not in the class, so giving characters back could never find it
    r"|[\w.+-]++@[\w-]+(?:\.[\w-]+)+"
    r"|www\.[^\s<>\"]+?(?=[.,;:!?)\]'\"]*(?:\s|$))"
)
LINK_MARKERS = ("://", "mailto:", "@", "www.")
_WORDS = (
    # Initials and abbreviations, behind a lookahead both imply: most words fail it at once instead of trying
    # forty abbreviations.  e.g.  U.S.  p.m.  initials: Howard L. Berman
    r"(?=[A-Za-z]{1,6}\.)(?:(?:[A-Za-z]\.){2,}|[A-Z]\.(?=\s|$)"
    rf"|(?:{_ABBREVIATIONS})\.(?=\s|$))"
    # Possessive quantifiers: joining characters are never word characters, so there is one way to match, and
    # runs like "=====" cannot make the alternatives (two may match the same character) backtrack exponentially.
    # A joiner is never whitespace: (?=\S) ends the word at a space without trying each joiner.
    rf"|(?:(?<!\S)[-+](?=\d)|(?<![^\W_])\.(?=[^\W_]))?[^\W_]++(?:(?=\S){_JOIN}++[^\W_]++)*+"  # words, -0400
    r"|['\u2019][^\W_]+"  # clitics: 's 're and the tail of don't
    r"|\.{2,}|-{2,}|~{2,}|/{2,}|\|{2,}|\\{2,}|'{2,}"  # runs that stay one token
    r"|[^\w\s]|_"  # any other symbol, one per token
)
WORD_SPLIT_RE = re.compile(f"{_LINKS}|{_WORDS}")
_WORD_SPLIT_NO_LINKS_RE = re.compile(_WORDS)


def split_words(text: str) -> list[str]:
    """Word and punctuation tokens of ``text`` (whitespace dropped): ``WORD_SPLIT_RE.findall(text)``, computed
    whitespace-separated chunk by chunk. That gives the same tokens because no token spans whitespace and every
    lookaround at a chunk's edge sees whitespace or the text's end, which it treats alike; ``str.split`` and the
    pattern's ``\\s`` are the same characters, and ``str.isalnum`` is the pattern's ``[^\\W_]``. A chunk of letters
    and digits only (most of them) is then one token with no regular expression run at all, and only chunks
    holding ``@``, ``:`` or ``www.`` (every link has one) try the link alternatives: half the time of one findall
    over the text on the bench corpus."""
    tokens: list[str] = []
    for chunk in text.split():
        if chunk.isalnum():
            tokens.append(chunk)
        elif "@" in chunk or ":" in chunk or "www." in chunk:
            tokens += WORD_SPLIT_RE.findall(chunk)
        else:
            tokens += _WORD_SPLIT_NO_LINKS_RE.findall(chunk)
    return tokens


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


def _first_appearance_codes(values):
    """(code per value numbered 0.. in order of first appearance, number of distinct values)."""
    import numpy as np
    import pandas as pd

    if not len(values):
        return np.zeros(0, np.int64), 0
    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64, copy=False), len(uniques)


def _first_positions(codes):
    """Position of each code's first appearance: where a code exceeds every earlier one (codes number values in
    order of first appearance)."""
    import numpy as np

    if not len(codes):
        return np.zeros(0, np.int64)
    new = np.empty(len(codes), bool)
    new[0] = True
    new[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    return np.flatnonzero(new).astype(np.int64, copy=False)


class WordNgrams:
    """One document's word n-grams as dense integer keys (numpy), for the repetition measures above at C speed.

    Keys are exact, never hashed: the key of n-gram i numbers the pair (key of (n-1)-gram i, word i+n-1) in order of
    first appearance among all such pairs of the document (``pandas.factorize``: a hash table, no sort), so two
    n-grams share a key exactly when their words are equal. The results equal :func:`top_ngram_chars` and
    :func:`duplicate_ngram_chars` (``tests/quality/test_heuristics.py`` compares them on repetitive random
    documents)."""

    def __init__(self, words: list[str]):
        import numpy as np

        self.n_words = len(words)
        self.word_keys, vocabulary_size = _first_appearance_codes(np.array(words, dtype=object))
        self.vocabulary_size = max(1, vocabulary_size)
        lengths = np.fromiter(map(len, words), np.int64, count=self.n_words)
        self.cumulative = np.concatenate((np.zeros(1, np.int64), np.cumsum(lengths)))
        self._keys: dict[int, tuple] = {}

    def keys(self, n: int):
        """(key per n-gram start, first start of each key); keys are 0..distinct-1."""
        if n not in self._keys:
            if n == 1:
                pairs = self.word_keys
            else:
                previous = self.keys(n - 1)[0]
                count = max(0, self.n_words - n + 1)
                pairs = previous[:count] * self.vocabulary_size + self.word_keys[n - 1:n - 1 + count]
            codes, _ = _first_appearance_codes(pairs)
            self._keys[n] = (codes, _first_positions(codes))
        return self._keys[n]

    def top_chars(self, n: int) -> int:
        """:func:`top_ngram_chars`: the most frequent n-gram (the first to appear among equals) x its count."""
        import numpy as np

        keys, first = self.keys(n)
        if not len(keys):
            return 0
        counts = np.bincount(keys, minlength=len(first))
        top = counts.max()
        start = int(first[counts == top].min())
        return int(self.cumulative[start + n] - self.cumulative[start] + n - 1) * int(top)

    def duplicate_chars(self, n: int) -> int:
        """:func:`duplicate_ngram_chars`: characters of n-grams repeating an earlier one, skipping past each repeat.

        The left-to-right scan only has decisions at positions whose n-gram occurred before; an n-gram counts as
        seen there when an earlier occurrence was visited, i.e. not inside the n - 1 positions skipped after a
        repeat."""
        from bisect import bisect_right

        import numpy as np

        keys, first = self.keys(n)
        total = len(keys)
        if len(first) == total:
            return 0
        later = np.flatnonzero(first[keys] != np.arange(total))  # positions repeating an earlier occurrence
        first_of = first.tolist()
        key_list = keys.tolist()
        cumulative = self.cumulative
        skipped_starts: list[int] = []  # skipped windows [r + 1, r + n) after each repeat at r, in order
        visited: set[int] = set()  # keys visited at a repeated position
        repeated, resume = 0, 0
        for position in later.tolist():
            if position < resume:
                continue  # inside a skipped window: never looked at
            key = key_list[position]
            seen = key in visited
            if not seen:
                start = first_of[key]
                w = bisect_right(skipped_starts, start) - 1
                seen = not (w >= 0 and start < skipped_starts[w] + n - 1)
            visited.add(key)
            if seen:
                repeated += int(cumulative[position + n] - cumulative[position])
                skipped_starts.append(position + 1)
                resume = position + n
        return repeated
