"""C4 line cleaning and document rules (Raffel et al. 2020, 2.2; the TFDS ``c4_utils`` reference code).

Line rules drop lines; document rules reject the document; kept documents carry the cleaned lines.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field

from curator.quality.filters.base import FamilyResult, QualityFilter
from curator.quality.heuristics import TextView, count_sentences, split_words


C4_POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                     "use cookies")
_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_C4_END = (".", "?", "!", '"', "'")


class C4Filter(QualityFilter):
    """C4 line cleaning and document rules (Raffel et al. 2020, 2.2; the TFDS ``c4_utils`` reference code)."""

    reasons: ClassVar[tuple[str, ...]] = (
        "c4_lorem_ipsum", "c4_curly_bracket", "c4_too_few_sentences", "c4_empty_after_cleaning")
    empty_after_rewrite_reason: ClassVar[str] = "c4_empty_after_cleaning"
    signals: ClassVar[tuple[str, ...]] = ("c4_sentences", "c4_kept_lines_frac")

    family: str = "c4"
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

    def evaluate(self, view: TextView, collect_all: bool = False) -> FamilyResult:
        c = self
        failures: list[str] = []
        kept: list[str] = []
        sentences = 0
        lines = view.lines
        for raw in lines:
            line = raw.strip()
            words = line.split()
            if c.max_word_length is not None and max(map(len, words), default=0) > c.max_word_length:
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
