"""Rehydration: write each kept document several times into the token shards, by the size of its duplicate group.

Deduplication keeps one survivor per group and records the group's size (``dup_group_size``, 1 when unique). Heavily
deduplicated corpora lose the signal that some text was popular; FineWeb-2 puts part of it back by upsampling
survivors with a weight table over group-size buckets. Here ``min_sizes[i]`` is the smallest group size of bucket
``i`` and ``copies[i]`` how many times its documents are written, and ``max_copies`` caps every bucket (one knob to
bound the corpus growth). The default table (1, 2, 3, 3, 5, 8, 1 copies for groups of 1, 2, 3, 4-9, 10-99, 100-999,
1000+ documents) upsamples moderately popular text and leaves very large groups, usually boilerplate, at one copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from curator.stage import StageConfig


if TYPE_CHECKING:
    from pyspark.sql import Column


class RehydrationConfig(StageConfig):
    min_sizes: list[int] = Field([1, 2, 3, 4, 10, 100, 1000], min_length=1,
                                 description="smallest duplicate-group size of each bucket, increasing from 1")
    copies: list[int] = Field([1, 2, 3, 3, 5, 8, 1], min_length=1, description="times each bucket is written")
    max_copies: int = Field(8, ge=1, description="global cap on the copies of any document")
    size_column: str = Field("dup_group_size", description="column holding the duplicate-group size")

    @model_validator(mode="after")
    def _table_is_consistent(self) -> "RehydrationConfig":
        if len(self.min_sizes) != len(self.copies):
            raise ValueError(f"min_sizes ({len(self.min_sizes)}) and copies ({len(self.copies)}) differ in length")
        if self.min_sizes[0] != 1 or any(b <= a for a, b in zip(self.min_sizes, self.min_sizes[1:])):
            raise ValueError(f"min_sizes must start at 1 and increase strictly, got {self.min_sizes}")
        if any(c < 1 for c in self.copies):
            raise ValueError(f"copies must be at least 1 (a document is never dropped here), got {self.copies}")
        return self


def copies_for_size(size: int | None, config: RehydrationConfig) -> int:
    """Copies of a document whose duplicate group has ``size`` members (null or < 1 counts as unique)."""
    size = size if size and size > 0 else 1
    chosen = 1
    for min_size, copies in zip(config.min_sizes, config.copies):
        if size >= min_size:
            chosen = copies
    return min(chosen, config.max_copies)


def copies_column(config: RehydrationConfig) -> "Column":
    """The same rule as :func:`copies_for_size` as a Spark column expression."""
    from pyspark.sql import functions as F

    size = F.coalesce(F.col(config.size_column).cast("long"), F.lit(1))
    expression = F.lit(min(config.copies[0], config.max_copies))
    for min_size, copies in zip(config.min_sizes[1:], config.copies[1:]):
        expression = F.when(size >= min_size, F.lit(min(copies, config.max_copies))).otherwise(expression)
    return expression.cast("int")
