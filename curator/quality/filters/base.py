"""The contract of a quality rule family: one pydantic class holds its thresholds, rules, reasons and signals.

A family is configured from ``filters/<name>.yaml`` (every field of the class; unknown keys are errors) and
validated once on the driver; the validated object is what travels to executors and what evaluates documents.
Every threshold is a ``min_*``/``max_*`` field; ``None`` (``null`` in YAML) switches that rule off. Every rule has
one stable, family-prefixed rejection reason, listed in the class's ``reasons``.
"""

from __future__ import annotations

from typing import ClassVar, Iterator

from pydantic import Field

from curator.config import StrictConfig
from curator.quality.heuristics import TextView


# (signal name, measured value, failing reason or None), in the published rule order.
Check = Iterator[tuple[str, float, "str | None"]]


class FamilyResult:
    """Outcome of one family on one document: failing reasons (first = decision), signals, cleaned text."""

    __slots__ = ("failures", "signals", "text", "skipped")

    def __init__(self, failures: list[str], signals: dict[str, float], text: str | None = None,
                 skipped: list[str] | None = None):
        self.failures = failures
        self.signals = signals
        self.text = text  # set by families that rewrite the text (C4), else None
        self.skipped = skipped or []

    @property
    def reason(self) -> str | None:
        return self.failures[0] if self.failures else None


class QualityFilter(StrictConfig):
    """Base of every rule family. Subclasses set ``family``'s default, ``reasons``, ``signals`` and :meth:`checks`
    (or override :meth:`evaluate` when rules are not a flat list of measurements, as C4's line cleaning)."""

    reasons: ClassVar[tuple[str, ...]] = ()
    signals: ClassVar[tuple[str, ...]] = ()
    # The stage's reason when a family that rewrites the text (FamilyResult.text) leaves nothing.
    empty_after_rewrite_reason: ClassVar[str] = "quality_empty_after_rewrite"

    family: str = Field(description="a name registered in curator.quality.filters.FILTERS or 'module:Class'")
    skip_languages: tuple[str, ...] = Field(
        (), description="documents whose `lang` is listed skip this family (recorded in quality_skipped)")

    def emitted_reasons(self) -> tuple[str, ...]:
        """The reasons this configured family can emit (families whose reasons depend on the config override it)."""
        return self.reasons

    def signal_names(self) -> list[str]:
        """The measured values this family reports, in a fixed order (they become ``quality_<name>`` columns)."""
        return list(self.signals)

    def checks(self, view: TextView, skipped: list[str]) -> Check:
        """Measure each rule in order; append to ``skipped`` the rules that do not apply to this document."""
        raise NotImplementedError(f"{type(self).__name__} defines neither checks() nor evaluate()")

    def evaluate(self, view: TextView, collect_all: bool = False) -> FamilyResult:
        """Apply the family to one document.

        Rules run in order and stop at the first failure, unless ``collect_all`` is set: then every rule is measured
        (for signal columns and tests) and ``failures`` lists every failing rule in order.
        """
        signals: dict[str, float] = {}
        failures: list[str] = []
        skipped: list[str] = []
        for name, value, reason in self.checks(view, skipped):
            signals[name] = value
            if reason is not None:
                failures.append(reason)
                if not collect_all:
                    break
        return FamilyResult(failures, signals, skipped=skipped)
