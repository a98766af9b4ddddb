"""Gopher quality, Gopher repetition, C4 and FineWeb rules as pure functions over one document.

Defaults are the published ones (Gopher: Rae et al. 2021, table A1 and section A.1.1; C4: Raffel et al. 2020,
section 2.2; FineWeb: Penedo et al. 2024), as collected in ``reference/peer-pipelines.md`` section 2. Every threshold
is a ``min_*``/``max_*`` field of a frozen config; ``None`` (``null`` in YAML) switches that rule off. Every rule has
one stable, family-prefixed rejection reason, listed in :data:`REASONS`.

Word splitting is done once per document (:class:`TextView`) and shared by the families. It is a single precompiled
regular expression that approximates spaCy's blank English tokenizer (the one datatrove uses): punctuation is split
off words, ``...`` and runs of ``-`` stay one token, ``it's`` gives ``it`` + ``'s``, URLs and ``e.g.`` stay whole.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import accumulate
from typing import Annotated, Iterator, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
_HAS_ALPHA = re.compile(r"[^\W\d_]").search


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
_TERMINAL_TUPLE = tuple(TERMINAL_PUNCTUATION)


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


# --------------------------------------------------------------------------------------------------------- configs

NO_SPACE_LANGUAGES = ("zh", "ja", "th", "lo", "km", "my", "bo", "wuu", "yue")


class _FamilyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    skip_languages: tuple[str, ...] = Field(
        (), description="documents whose `lang` is listed skip this family (recorded in quality_skipped)")


GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


class GopherQualityConfig(_FamilyConfig):
    """Gopher quality rules (Rae et al. 2021, A.1.1). Word counts exclude pure-punctuation tokens."""

    family: Literal["gopher_quality"] = "gopher_quality"
    min_doc_words: int | None = 50
    max_doc_words: int | None = 100_000
    min_mean_word_length: float | None = 3
    max_mean_word_length: float | None = 10
    max_symbol_word_ratio: float | None = Field(0.1, description="'#' and '...' counts per word, each")
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2
    stop_words: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {"en": GOPHER_STOP_WORDS},
        description="per-language stop words; languages without a list skip the stop-word rule")
    default_language: str = Field("en", description="language assumed when the document has no `lang`")


class GopherRepetitionConfig(_FamilyConfig):
    """Gopher repetition rules (Rae et al. 2021, table A1)."""

    family: Literal["gopher_repetition"] = "gopher_repetition"
    max_dup_para_frac: float | None = 0.3
    max_dup_para_char_frac: float | None = 0.2
    max_dup_line_frac: float | None = 0.3
    max_dup_line_char_frac: float | None = 0.2
    max_top_ngram_char_frac: dict[int, float | None] = Field(default_factory=lambda: {2: 0.2, 3: 0.18, 4: 0.16})
    max_dup_ngram_char_frac: dict[int, float | None] = Field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10})

    @field_validator("max_top_ngram_char_frac", "max_dup_ngram_char_frac")
    @classmethod
    def _positive_n(cls, v):
        if any(n < 1 for n in v):
            raise ValueError("n-gram sizes must be >= 1")
        return dict(sorted(v.items()))


C4_POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                     "use cookies")


class C4Config(_FamilyConfig):
    """C4 line cleaning and document rules (Raffel et al. 2020, 2.2; the TFDS ``c4_utils`` reference code)."""

    family: Literal["c4"] = "c4"
    drop_lines_without_terminal_punct: bool = Field(True, description="FineWeb switches this off")
    min_words_per_line: int | None = 3
    max_word_length: int | None = Field(1000, description="lines holding a longer word are dropped")
    remove_citations: bool = Field(True, description="strip [1], [edit], [citation needed]")
    drop_javascript_lines: bool = True
    drop_policy_lines: bool = True
    reject_lorem_ipsum: bool = True
    reject_curly_bracket: bool = True
    min_sentences: int | None = Field(5, description="after line cleaning")
    rewrite_text: bool = Field(True, description="kept documents carry the cleaned lines, as in C4")


class FineWebConfig(_FamilyConfig):
    """FineWeb's extra rules (Penedo et al. 2024)."""

    family: Literal["fineweb"] = "fineweb"
    min_line_punct_ratio: float | None = Field(0.12, description="non-empty lines ending in terminal punctuation")
    line_punct_exclude_zero: bool = Field(False, description="do not reject documents where the ratio is exactly 0")
    max_short_line_ratio: float | None = 0.67
    short_line_length: int = 30
    max_char_dup_ratio: float | None = Field(0.01, description="chars in duplicated lines / chars")
    max_newline_word_ratio: float | None = Field(0.3, description="'list ratio': newlines per word")


FamilyConfig = Annotated[
    Union[GopherQualityConfig, GopherRepetitionConfig, C4Config, FineWebConfig], Field(discriminator="family")
]
FAMILY_CONFIGS = {c.model_fields["family"].default: c
                  for c in (GopherQualityConfig, GopherRepetitionConfig, C4Config, FineWebConfig)}


# --------------------------------------------------------------------------------------------------------- reasons

def _repetition_reasons() -> list[str]:
    base = ["gopher_dup_para_frac", "gopher_dup_para_char_frac", "gopher_dup_line_frac", "gopher_dup_line_char_frac"]
    return base + [f"gopher_top_{n}_gram" for n in (2, 3, 4)] + [f"gopher_dup_{n}_gram" for n in range(5, 11)]


REASONS: dict[str, list[str]] = {
    "gopher_quality": [
        "gopher_short_doc", "gopher_long_doc", "gopher_short_mean_word", "gopher_long_mean_word",
        "gopher_too_many_hashes", "gopher_too_many_ellipsis", "gopher_too_many_bullet_lines",
        "gopher_too_many_ellipsis_lines", "gopher_few_alpha_words", "gopher_few_stop_words",
    ],
    "gopher_repetition": _repetition_reasons(),
    "c4": ["c4_lorem_ipsum", "c4_curly_bracket", "c4_too_few_sentences"],
    "fineweb": ["fineweb_line_punct_ratio", "fineweb_short_line_ratio", "fineweb_char_dup_ratio",
                "fineweb_list_ratio"],
}


def signal_names(config) -> list[str]:
    """The measured values a family reports, in a fixed order (they become ``quality_<name>`` columns)."""
    if isinstance(config, GopherQualityConfig):
        return ["gopher_words", "gopher_mean_word_length", "gopher_hash_ratio", "gopher_ellipsis_ratio",
                "gopher_bullet_lines_ratio", "gopher_ellipsis_lines_ratio", "gopher_alpha_words_ratio",
                "gopher_stop_words"]
    if isinstance(config, GopherRepetitionConfig):
        return (["gopher_dup_para_frac", "gopher_dup_para_char_frac", "gopher_dup_line_frac",
                 "gopher_dup_line_char_frac"]
                + [f"gopher_top_{n}_gram_char_frac" for n in config.max_top_ngram_char_frac]
                + [f"gopher_dup_{n}_gram_char_frac" for n in config.max_dup_ngram_char_frac])
    if isinstance(config, C4Config):
        return ["c4_sentences", "c4_kept_lines_frac"]
    if isinstance(config, FineWebConfig):
        return ["fineweb_line_punct_ratio", "fineweb_short_line_ratio", "fineweb_char_dup_ratio",
                "fineweb_newline_word_ratio"]
    raise TypeError(f"not a filter family config: {config!r}")


# ---------------------------------------------------------------------------------------------- family evaluation

class FamilyResult:
    """Outcome of one family on one document: failing reasons (first = decision), signals, cleaned text."""

    __slots__ = ("failures", "signals", "text", "skipped")

    def __init__(self, failures: list[str], signals: dict[str, float], text: str | None = None,
                 skipped: list[str] | None = None):
        self.failures = failures
        self.signals = signals
        self.text = text  # C4's rewritten text, else None
        self.skipped = skipped or []

    @property
    def reason(self) -> str | None:
        return self.failures[0] if self.failures else None


def evaluate(view: TextView, config, collect_all: bool = False) -> FamilyResult:
    """Apply one rule family to a document.

    Rules run in the published order and stop at the first failure, unless ``collect_all`` is set: then every rule is
    measured (for signal columns and tests) and ``failures`` lists every failing rule in order.
    """
    if isinstance(config, C4Config):
        return _c4(view, config, collect_all)
    checks = _CHECKS[type(config)]
    signals: dict[str, float] = {}
    failures: list[str] = []
    skipped: list[str] = []
    for name, value, reason in checks(view, config, skipped):
        signals[name] = value
        if reason is not None:
            failures.append(reason)
            if not collect_all:
                break
    return FamilyResult(failures, signals, skipped=skipped)


Check = Iterator[tuple[str, float, "str | None"]]


def _gopher_quality(view: TextView, c: GopherQualityConfig, skipped: list[str]) -> Check:
    text, words = view.text, view.words
    n_words = len(words)
    content_words = [w for w in words if not is_symbol_token(w)]
    n_content = len(content_words)
    # "word count outside 50 to 100,000"
    yield "gopher_words", n_content, (
        "gopher_short_doc" if c.min_doc_words is not None and n_content < c.min_doc_words
        else "gopher_long_doc" if c.max_doc_words is not None and n_content > c.max_doc_words else None)
    if n_words == 0:
        return
    # "mean word length outside the range of 3 to 10 characters"
    if n_content and (c.min_mean_word_length is not None or c.max_mean_word_length is not None):
        mean = sum(map(len, content_words)) / n_content
        yield "gopher_mean_word_length", mean, (
            "gopher_short_mean_word" if c.min_mean_word_length is not None and mean < c.min_mean_word_length
            else "gopher_long_mean_word" if c.max_mean_word_length is not None and mean > c.max_mean_word_length
            else None)
    # "symbol-to-word ratio greater than 0.1 for either the hash symbol or the ellipsis"
    if c.max_symbol_word_ratio is not None:
        ratio = text.count("#") / n_words
        yield "gopher_hash_ratio", ratio, "gopher_too_many_hashes" if ratio > c.max_symbol_word_ratio else None
        ratio = (text.count("...") + text.count("\u2026")) / n_words
        yield "gopher_ellipsis_ratio", ratio, "gopher_too_many_ellipsis" if ratio > c.max_symbol_word_ratio else None
    # "more than 90% of lines starting with a bullet point, or more than 30% ending with an ellipsis"
    lines = view.lines
    if lines and c.max_bullet_lines_ratio is not None:
        ratio = sum(1 for s in lines if s.lstrip().startswith(("\u2022", "-"))) / len(lines)
        yield "gopher_bullet_lines_ratio", ratio, (
            "gopher_too_many_bullet_lines" if ratio > c.max_bullet_lines_ratio else None)
    if lines and c.max_ellipsis_lines_ratio is not None:
        ratio = sum(1 for s in lines if s.rstrip().endswith(("...", "\u2026"))) / len(lines)
        yield "gopher_ellipsis_lines_ratio", ratio, (
            "gopher_too_many_ellipsis_lines" if ratio > c.max_ellipsis_lines_ratio else None)
    # "80% of words in a document contain at least one alphabetic character"
    if c.min_alpha_words_ratio is not None:
        ratio = sum(1 for w in words if _HAS_ALPHA(w)) / n_words
        yield "gopher_alpha_words_ratio", ratio, "gopher_few_alpha_words" if ratio < c.min_alpha_words_ratio else None
    # "at least two of the following English words: the, be, to, of, and, that, have, and with"
    if c.min_stop_words is not None:
        stop_words = c.stop_words.get(view.lang or c.default_language)
        if stop_words is None:
            skipped.append("gopher_stop_words")  # no list for this language: the rule does not apply
        else:
            present = len(set(stop_words).intersection(words))
            yield "gopher_stop_words", present, "gopher_few_stop_words" if present < c.min_stop_words else None


_PARAGRAPH_SPLIT = re.compile(r"\n{2,}")
_LINE_SPLIT = re.compile(r"\n+")


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


def _gopher_repetition(view: TextView, c: GopherRepetitionConfig, skipped: list[str]) -> Check:
    text = view.text
    n_chars = len(text)
    if not n_chars:
        return
    paragraphs = _PARAGRAPH_SPLIT.split(text.strip())
    dup, dup_chars = duplicate_stats(paragraphs)
    if c.max_dup_para_frac is not None:
        ratio = dup / len(paragraphs)
        yield "gopher_dup_para_frac", ratio, "gopher_dup_para_frac" if ratio > c.max_dup_para_frac else None
    if c.max_dup_para_char_frac is not None:
        ratio = dup_chars / n_chars
        yield "gopher_dup_para_char_frac", ratio, (
            "gopher_dup_para_char_frac" if ratio > c.max_dup_para_char_frac else None)
    lines = _LINE_SPLIT.split(text)
    dup, dup_chars = duplicate_stats(lines)
    if c.max_dup_line_frac is not None:
        ratio = dup / len(lines)
        yield "gopher_dup_line_frac", ratio, "gopher_dup_line_frac" if ratio > c.max_dup_line_frac else None
    if c.max_dup_line_char_frac is not None:
        ratio = dup_chars / n_chars
        yield "gopher_dup_line_char_frac", ratio, (
            "gopher_dup_line_char_frac" if ratio > c.max_dup_line_char_frac else None)
    words = view.words
    for n, limit in c.max_top_ngram_char_frac.items():
        if limit is not None:
            ratio = top_ngram_chars(words, n) / n_chars
            yield f"gopher_top_{n}_gram_char_frac", ratio, f"gopher_top_{n}_gram" if ratio > limit else None
    cumulative = None
    no_repeats_below = None  # if no n-gram repeats, no longer one can
    for n, limit in c.max_dup_ngram_char_frac.items():
        if limit is None:
            continue
        if no_repeats_below is not None and n >= no_repeats_below:
            chars = 0
        else:
            if cumulative is None:
                cumulative = [0, *accumulate(map(len, words))]
            chars = duplicate_ngram_chars(words, n, cumulative)
            if chars == 0:
                no_repeats_below = n
        ratio = chars / n_chars
        yield f"gopher_dup_{n}_gram_char_frac", ratio, f"gopher_dup_{n}_gram" if ratio > limit else None


_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_C4_END = (".", "?", "!", '"', "'")


def _c4(view: TextView, c: C4Config, collect_all: bool) -> FamilyResult:
    failures: list[str] = []
    kept: list[str] = []
    sentences = 0
    lines = view.lines
    for raw in lines:
        line = raw.strip()
        words = line.split()
        if c.max_word_length is not None and any(len(w) > c.max_word_length for w in words):
            continue
        if c.remove_citations:
            line = _CITATION.sub("", line)
        # "we only retained lines that ended in a terminal punctuation mark"
        if c.drop_lines_without_terminal_punct and (not line.endswith(_C4_END) or line.endswith("...")):
            continue
        # "only retained lines that contained at least 3 words"
        if c.min_words_per_line is not None and len(words) < c.min_words_per_line:
            continue
        lowered = line.lower()
        # "removed any page where the phrase 'lorem ipsum' appeared"
        if c.reject_lorem_ipsum and "lorem ipsum" in lowered:
            failures.append("c4_lorem_ipsum")
            if not collect_all:
                break
        # "removed any line with the word Javascript"
        if c.drop_javascript_lines and "javascript" in lowered:
            continue
        # "removed any pages that contained a curly bracket"
        if c.reject_curly_bracket and "{" in line:
            failures.append("c4_curly_bracket")
            if not collect_all:
                break
        if c.drop_policy_lines and any(p in lowered for p in C4_POLICY_PHRASES):
            continue
        if c.min_sentences is not None and (collect_all or sentences < c.min_sentences):
            sentences += count_sentences(split_words(line))
        kept.append(line)
    else:
        # "discarded any page with fewer than 5 sentences"
        if c.min_sentences is not None and sentences < c.min_sentences:
            failures.append("c4_too_few_sentences")
    if collect_all:
        failures = list(dict.fromkeys(failures))  # one entry per reason, first occurrence order
    signals = {"c4_sentences": sentences, "c4_kept_lines_frac": len(kept) / len(lines) if lines else 0.0}
    text = "\n".join(kept).strip() if c.rewrite_text and not failures else None
    return FamilyResult(failures, signals, text=text)


def _fineweb(view: TextView, c: FineWebConfig, skipped: list[str]) -> Check:
    text = view.text
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return
    if c.min_line_punct_ratio is not None:
        ratio = sum(1 for line in lines if line.endswith(_TERMINAL_TUPLE)) / len(lines)
        fail = ratio < c.min_line_punct_ratio and not (ratio == 0 and c.line_punct_exclude_zero)
        yield "fineweb_line_punct_ratio", ratio, "fineweb_line_punct_ratio" if fail else None
    if c.max_short_line_ratio is not None:
        ratio = sum(1 for line in lines if len(line) <= c.short_line_length) / len(lines)
        yield "fineweb_short_line_ratio", ratio, "fineweb_short_line_ratio" if ratio > c.max_short_line_ratio else None
    if c.max_char_dup_ratio is not None:
        ratio = duplicate_stats(lines)[1] / max(1, len(text) - text.count("\n"))
        yield "fineweb_char_dup_ratio", ratio, "fineweb_char_dup_ratio" if ratio > c.max_char_dup_ratio else None
    if c.max_newline_word_ratio is not None:
        ratio = text.count("\n") / max(1, len(view.words))
        yield "fineweb_newline_word_ratio", ratio, "fineweb_list_ratio" if ratio > c.max_newline_word_ratio else None


_CHECKS = {GopherQualityConfig: _gopher_quality, GopherRepetitionConfig: _gopher_repetition, FineWebConfig: _fineweb}
