"""Gopher repetition rules (Rae et al. 2021, table A1): duplicated paragraphs, lines and n-grams."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, field_validator

from curator.quality.filters.base import Check, QualityFilter
from curator.quality.heuristics import TextView, WordNgrams, duplicate_stats


_PARAGRAPH_SPLIT = re.compile(r"\n{2,}")
_LINE_SPLIT = re.compile(r"\n+")
_BASE_REASONS = ("gopher_dup_para_frac", "gopher_dup_para_char_frac", "gopher_dup_line_frac",
                 "gopher_dup_line_char_frac")


class GopherRepetitionFilter(QualityFilter):
    """Gopher repetition rules (Rae et al. 2021, table A1)."""

    # With the default n-gram sizes; a config with other sizes emits gopher_top_<n>_gram / gopher_dup_<n>_gram
    # for its own sizes (see emitted_reasons).
    reasons: ClassVar[tuple[str, ...]] = (
        _BASE_REASONS + tuple(f"gopher_top_{n}_gram" for n in (2, 3, 4))
        + tuple(f"gopher_dup_{n}_gram" for n in range(5, 11)))

    family: str = "gopher_repetition"
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

    def emitted_reasons(self) -> tuple[str, ...]:
        return (_BASE_REASONS + tuple(f"gopher_top_{n}_gram" for n in self.max_top_ngram_char_frac)
                + tuple(f"gopher_dup_{n}_gram" for n in self.max_dup_ngram_char_frac))

    def signal_names(self) -> list[str]:
        return (list(_BASE_REASONS)
                + [f"gopher_top_{n}_gram_char_frac" for n in self.max_top_ngram_char_frac]
                + [f"gopher_dup_{n}_gram_char_frac" for n in self.max_dup_ngram_char_frac])

    def checks(self, view: TextView, skipped: list[str]) -> Check:
        c = self
        text = view.text
        n_chars = len(text)
        if not n_chars:
            return
        for unit, parts, max_frac, max_char_frac in (
            ("para", _PARAGRAPH_SPLIT.split(text.strip()), c.max_dup_para_frac, c.max_dup_para_char_frac),
            ("line", _LINE_SPLIT.split(text), c.max_dup_line_frac, c.max_dup_line_char_frac),
        ):
            dup, dup_chars = duplicate_stats(parts)
            for name, ratio, limit in ((f"gopher_dup_{unit}_frac", dup / len(parts), max_frac),
                                       (f"gopher_dup_{unit}_char_frac", dup_chars / n_chars, max_char_frac)):
                if limit is not None:
                    yield name, ratio, name if ratio > limit else None
        # The n-gram measures of curator.quality.heuristics (top_ngram_chars, duplicate_ngram_chars), computed over
        # integer n-gram keys: the same values, several times faster.
        ngrams = WordNgrams(view.words)
        for n, limit in c.max_top_ngram_char_frac.items():
            if limit is not None:
                ratio = ngrams.top_chars(n) / n_chars
                yield f"gopher_top_{n}_gram_char_frac", ratio, f"gopher_top_{n}_gram" if ratio > limit else None
        no_repeats_below = None  # if no n-gram repeats, no longer one can
        for n, limit in c.max_dup_ngram_char_frac.items():
            if limit is None:
                continue
            if no_repeats_below is not None and n >= no_repeats_below:
                chars = 0
            else:
                chars = ngrams.duplicate_chars(n)
                if chars == 0:
                    no_repeats_below = n
            ratio = chars / n_chars
            yield f"gopher_dup_{n}_gram_char_frac", ratio, f"gopher_dup_{n}_gram" if ratio > limit else None
