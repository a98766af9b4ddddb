"""Gopher quality rules (Rae et al. 2021, appendix A.1.1). Word counts exclude pure-punctuation tokens."""

from __future__ import annotations

import functools
import importlib
import re
from typing import ClassVar

from pydantic import Field

from curator.quality.filters.base import Check, QualityFilter
from curator.quality.heuristics import TextView, is_symbol_token


GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
_HAS_ALPHA = re.compile(r"[^\W\d_]").search
_SPACY_LANGUAGE_CODES = {"no": "nb", "iw": "he", "in": "id"}  # langid codes -> spaCy's, where they differ


@functools.lru_cache(maxsize=None)
def spacy_stop_words(lang: str) -> frozenset[str] | None:
    """spaCy's maintained stop-word list for ``lang`` (``spacy.lang.<code>.stop_words``), imported on first use once
    per process; None when spaCy has no list for it or spaCy (the ``pii`` extra) is not installed."""
    base = lang.split("_")[0].split("-")[0]  # sr_Cyrl -> sr: spaCy's lists are per language, not per script
    code = _SPACY_LANGUAGE_CODES.get(base, base)
    if code == "xx" or not code.isidentifier():  # xx is spaCy's multi-language placeholder
        return None
    try:
        module = importlib.import_module(f"spacy.lang.{code}.stop_words")
    except Exception:  # ImportError for unknown languages; a language package's own import-time dependency errors
        return None
    words = frozenset(w for w in getattr(module, "STOP_WORDS", ()) if w.strip() and not is_symbol_token(w))
    return words or None


class GopherQualityFilter(QualityFilter):
    """Gopher quality rules (Rae et al. 2021, A.1.1). Word counts exclude pure-punctuation tokens."""

    reasons: ClassVar[tuple[str, ...]] = (
        "gopher_short_doc", "gopher_long_doc", "gopher_short_mean_word", "gopher_long_mean_word",
        "gopher_too_many_hashes", "gopher_too_many_ellipsis", "gopher_too_many_bullet_lines",
        "gopher_too_many_ellipsis_lines", "gopher_few_alpha_words", "gopher_few_stop_words",
    )
    signals: ClassVar[tuple[str, ...]] = (
        "gopher_words", "gopher_mean_word_length", "gopher_hash_ratio", "gopher_ellipsis_ratio",
        "gopher_bullet_lines_ratio", "gopher_ellipsis_lines_ratio", "gopher_alpha_words_ratio", "gopher_stop_words",
    )

    family: str = "gopher_quality"
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
        description="per-language stop words, taking precedence over spaCy's; languages with no list here or in "
                    "spaCy (or documents without a language) skip the stop-word rule")
    spacy_stop_words: bool = Field(True, description="languages not in stop_words use spaCy's list, if it has one")

    def stop_words_for(self, lang: str | None) -> frozenset[str] | None:
        if not lang:
            return None
        listed = self.stop_words.get(lang)
        if listed is not None:
            return frozenset(listed)
        return spacy_stop_words(lang) if self.spacy_stop_words else None

    def checks(self, view: TextView, skipped: list[str]) -> Check:
        c = self
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
            yield "gopher_ellipsis_ratio", ratio, (
                "gopher_too_many_ellipsis" if ratio > c.max_symbol_word_ratio else None)
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
        # "80% of words in a document contain at least one alphabetic character": words, so punctuation tokens
        # ("," "." "(") are not in the denominator (numbers and symbols with digits are, and count against).
        if c.min_alpha_words_ratio is not None and n_content:
            # isalpha() first: a C call that settles most words (an all-letter word always has a letter)
            ratio = sum(1 for w in content_words if w.isalpha() or _HAS_ALPHA(w)) / n_content
            yield "gopher_alpha_words_ratio", ratio, (
                "gopher_few_alpha_words" if ratio < c.min_alpha_words_ratio else None)
        # "at least two of the following English words: the, be, to, of, and, that, have, and with"
        if c.min_stop_words is not None:
            stop_words = self.stop_words_for(view.lang)
            if stop_words is None:
                skipped.append("gopher_stop_words")  # no list for this language: the rule does not apply
            else:
                present = len(stop_words.intersection(words))
                yield "gopher_stop_words", present, "gopher_few_stop_words" if present < c.min_stop_words else None
