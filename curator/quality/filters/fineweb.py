"""FineWeb's extra rules (Penedo et al. 2024): line punctuation, short lines, duplicated characters, list ratio."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from curator.quality.filters.base import Check, QualityFilter
from curator.quality.heuristics import TERMINAL_PUNCTUATION, TextView, duplicate_stats


_TERMINAL_TUPLE = tuple(TERMINAL_PUNCTUATION)


class FineWebFilter(QualityFilter):
    """FineWeb's extra rules (Penedo et al. 2024)."""

    reasons: ClassVar[tuple[str, ...]] = (
        "fineweb_line_punct_ratio", "fineweb_short_line_ratio", "fineweb_char_dup_ratio", "fineweb_list_ratio")
    signals: ClassVar[tuple[str, ...]] = (
        "fineweb_line_punct_ratio", "fineweb_short_line_ratio", "fineweb_char_dup_ratio",
        "fineweb_newline_word_ratio")

    family: str = "fineweb"
    min_line_punct_ratio: float | None = Field(0.12, description="non-empty lines ending in terminal punctuation")
    line_punct_exclude_zero: bool = Field(False, description="do not reject documents where the ratio is exactly 0")
    max_short_line_ratio: float | None = 0.67
    short_line_length: int = 30
    max_char_dup_ratio: float | None = Field(0.01, description="chars in duplicated lines / chars")
    max_newline_word_ratio: float | None = Field(0.3, description="'list ratio': newlines per word")

    def checks(self, view: TextView, skipped: list[str]) -> Check:
        c = self
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
            yield "fineweb_short_line_ratio", ratio, (
                "fineweb_short_line_ratio" if ratio > c.max_short_line_ratio else None)
        if c.max_char_dup_ratio is not None:
            ratio = duplicate_stats(lines)[1] / max(1, len(text) - text.count("\n"))
            yield "fineweb_char_dup_ratio", ratio, "fineweb_char_dup_ratio" if ratio > c.max_char_dup_ratio else None
        if c.max_newline_word_ratio is not None:
            ratio = text.count("\n") / max(1, len(view.words))
            yield "fineweb_newline_word_ratio", ratio, (
                "fineweb_list_ratio" if ratio > c.max_newline_word_ratio else None)
