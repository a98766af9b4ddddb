"""A rule family defined outside curator, as a plugin would be: the fixture of test_new_filter.py."""

from __future__ import annotations

from typing import ClassVar

from curator.quality.filters.base import Check, QualityFilter
from curator.quality.heuristics import TextView


class ShoutingFilter(QualityFilter):
    """Rejects documents written mostly in capitals."""

    reasons: ClassVar[tuple[str, ...]] = ("shouting_upper_ratio",)
    signals: ClassVar[tuple[str, ...]] = ("shouting_upper_ratio",)

    family: str = "tests.quality.shouting_filter:ShoutingFilter"
    max_upper_ratio: float | None = 0.5

    def checks(self, view: TextView, skipped: list[str]) -> Check:
        letters = [c for c in view.text if c.isalpha()]
        if self.max_upper_ratio is None or not letters:
            return
        ratio = sum(c.isupper() for c in letters) / len(letters)
        yield "shouting_upper_ratio", ratio, "shouting_upper_ratio" if ratio > self.max_upper_ratio else None
