"""Stage contract shared by every pipeline stage.

A stage turns the previous stage's kept documents into an *annotated* frame: the input rows plus the stage's
annotation columns plus ``reason``/``reason_detail`` (null reason = kept). The runner (``curator.spark.runner``) then
splits kept from rejected, writes both, counts them from the written data and checks the ledger. Stages never write
their own outputs, so every stage gets idempotency, stats and accounting for free.

Two kinds:

- :class:`BatchStage`: per-document logic in :meth:`BatchStage.process_batch`, a pure function over an Arrow record
  batch, testable with no Spark. One adapter (``curator.spark.adapters.map_batch_stage``) runs it on Spark. Stages whose decision is a
  function of per-document values implement :meth:`BatchStage.decide` and get both decision columns from
  :meth:`BatchStage.decide_all`.

Every stage declares the rejection reasons it can emit in ``reasons``; ``tests/test_stage_reasons.py`` checks
over the registry that each is reachable and that nothing undeclared comes out.
- :class:`Stage` subclasses overriding :meth:`Stage.annotate` for stages that shuffle (dedup).

*Sink* stages (tokenizer training, tokenize) consume the curated documents and write artifacts; they override
:meth:`Stage.run_sink` and set ``is_sink = True``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Optional, Sequence

import pyarrow as pa
from pydantic import PrivateAttr, model_serializer

from curator.config import StrictConfig
from curator.document import DECISION_FIELDS, REASON, REASON_DETAIL, with_fields


if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


# A per-document decision: None keeps the document, (reason, detail) rejects it.
Decision = Optional[tuple[str, Optional[str]]]


class StageConfig(StrictConfig):
    """Base for stage configs: unknown fields are errors, so a typo in a spec names the bad field."""

    # Digests of the files the config names (a benchmark, a model, a tokenizer), set by the config's validators and
    # added to its dump: the stage fingerprint then changes when such a file does, not only when its path does.
    _file_digests: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_serializer(mode="wrap")
    def _dump_with_file_digests(self, handler):
        data = handler(self)
        data.update(self._file_digests)
        return data


@dataclass
class StageContext:
    """What the runner hands a stage: the session, where the stage may keep scratch data, and the run root."""

    spark: "SparkSession"
    run_dir: Path
    scratch_dir: Path
    stage_name: str
    default_parallelism: int = 2
    input_spec: Any = None  # the pipeline's InputSpec; read by ingest
    # In the driver engine: runs ``function(*call)`` for each call in its worker processes, results in order
    # (curator.spark.local_pool.LocalPool.map); None: do the work in this process.
    map_tasks: Callable[[Callable[..., Any], Iterable[tuple]], list[Any]] | None = None


@dataclass
class Annotated:
    """A stage's result before splitting: input rows + annotations + reason columns, and stage-specific stats."""

    frame: "DataFrame"
    extra_stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class PreparedStage:
    """A batch stage made ready on the driver: on an executor, ``worker()`` returns the instance set up there, and
    ``extra_stats`` go into the stage's ``stats.json``. The runner maps one stage, or a fused chain of them, with it."""

    worker: Callable[[], "BatchStage"]
    extra_stats: dict[str, Any] = field(default_factory=dict)


class Stage(ABC):
    """A named pipeline step configured by a validated ``Config``."""

    name: ClassVar[str]
    Config: ClassVar[type[StageConfig]] = StageConfig
    is_sink: ClassVar[bool] = False
    # Every stable snake_case reason this stage can write into ``reason`` (sinks reject nothing).
    reasons: ClassVar[tuple[str, ...]] = ()
    # A stage with a global view (``annotate_table``) that wants the driver engine's worker pool as ``map_tasks``.
    annotates_in_pool: ClassVar[bool] = False

    def __init__(self, config: StageConfig | None = None):
        self.config = config if config is not None else self.Config()

    def annotation_fields(self) -> list[pa.Field]:
        """Columns this stage adds to every document it outputs."""
        return []

    def summed_columns(self) -> list[str]:
        """Numeric annotation columns the runner totals over this stage's output (kept + rejected) into
        ``stats.json`` under ``totals`` (e.g. entities replaced by the pii stage). Counted from the written data."""
        return []

    def group_by_columns(self) -> list[str]:
        """Annotation columns the runner breaks ``stats.json`` down by (``by_<column>``: kept/rejected documents and
        characters per value, e.g. per language for langid). Counted from the written data."""
        return []

    def annotate(self, df: "DataFrame", ctx: StageContext) -> Annotated:
        raise NotImplementedError(f"stage {self.name!r} does not annotate documents")

    def run_sink(self, df: "DataFrame", ctx: StageContext, out_dir: Path) -> dict[str, Any]:
        """Write artifacts under ``out_dir`` (a temporary folder renamed on success); return stats."""
        raise NotImplementedError(f"stage {self.name!r} is not a sink")


class BatchStage(Stage):
    """A stage whose decisions depend on one document at a time."""

    def setup(self) -> None:
        """Load heavy assets (models, engines). Called lazily once per Python worker, never per document."""

    @abstractmethod
    def process_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Return ``batch`` with this stage's annotation columns and ``reason``/``reason_detail`` appended."""

    def decide(self, *values: Any) -> Decision:
        """One document's decision from the per-document values given to :meth:`decide_all`: ``None`` keeps it,
        ``(reason, detail)`` rejects it with one of ``reasons``."""
        raise NotImplementedError(f"stage {self.name!r} does not implement decide()")

    def decide_all(self, *columns: Sequence[Any]) -> tuple[list[str | None], list[str | None]]:
        """The ``reason`` and ``reason_detail`` columns: :meth:`decide` applied row by row over ``columns``."""
        reasons: list[str | None] = []
        details: list[str | None] = []
        for values in zip(*columns):
            decision = self.decide(*values)
            reasons.append(decision[0] if decision else None)
            details.append(decision[1] if decision else None)
        return reasons, details

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        return with_fields(input_schema, self.annotation_fields() + DECISION_FIELDS)

    def process_batches(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        self._ensure_setup()
        for batch in batches:
            if batch.num_rows:
                yield self.process_batch(batch)

    def _ensure_setup(self) -> None:
        if not getattr(self, "_is_set_up", False):
            self.setup()
            self._is_set_up = True

    def __getstate__(self):
        # Heavy assets never travel to executors; each worker loads its own in setup().
        return {"config": self.config}

    def __setstate__(self, state):
        self.__init__(state["config"])

    def prepare(self, ctx: StageContext) -> PreparedStage:
        """Driver-side work before Spark runs the stage (ship a model file, broadcast an index, fail early on a bad
        setup). The default sends the config only; each worker sets up its own instance once."""
        from curator.spark.adapters import worker_stage

        stage = self
        return PreparedStage(lambda: worker_stage(stage))

    def prepare_in_driver(self) -> PreparedStage:
        """:meth:`prepare` for a run in the driver process with no Spark (a small input): this instance, set up here."""
        self._ensure_setup()
        return PreparedStage(lambda: self)

    def annotate(self, df: "DataFrame", ctx: StageContext) -> Annotated:
        from curator.spark.adapters import map_batch_stage

        prepared = self.prepare(ctx)
        return Annotated(map_batch_stage(self, df, prepared.worker), prepared.extra_stats)


def finish_batch(
    batch: pa.RecordBatch,
    annotations: dict[str, pa.Array | Sequence[Any]],
    reasons: Sequence[str | None],
    details: Sequence[str | None] | None = None,
    fields: list[pa.Field] | None = None,
) -> pa.RecordBatch:
    """Append annotation columns and the decision columns to ``batch`` (replacing same-named columns).

    ``fields`` gives the Arrow types of ``annotations`` (defaults to type inference).
    """
    types = {f.name: f.type for f in fields or []}
    columns = {name: batch.column(name) for name in batch.schema.names}
    for name, values in annotations.items():
        columns[name] = values if isinstance(values, pa.Array) else pa.array(values, type=types.get(name))
    columns[REASON] = pa.array(reasons, type=pa.string())
    columns[REASON_DETAIL] = pa.array(details if details is not None else [None] * batch.num_rows, type=pa.string())
    return pa.RecordBatch.from_pydict(columns)


def split_decisions(batch: pa.RecordBatch) -> tuple[list[dict], list[dict]]:
    """Kept rows and rejected rows of an annotated batch, as Python dicts (for tests and small tools)."""
    kept, rejected = [], []
    for row in batch.to_pylist():
        (rejected if row[REASON] is not None else kept).append(row)
    return kept, rejected


def run_batch_stage(stage: BatchStage, rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Run a batch stage on plain dicts with no Spark: the way unit tests exercise per-document logic."""
    from curator.document import DOCUMENT_SCHEMA

    names = [f.name for f in DOCUMENT_SCHEMA]
    extra = [k for k in (rows[0] if rows else {}) if k not in names]
    full = [{**{n: r.get(n) for n in names}, **{k: r.get(k) for k in extra}} for r in rows]
    batch = pa.RecordBatch.from_pylist(full, schema=with_fields(DOCUMENT_SCHEMA, []) if not extra else None)
    stage._ensure_setup()
    return split_decisions(stage.process_batch(batch))


__all__ = [
    "Annotated", "BatchStage", "Decision", "PreparedStage", "Stage", "StageConfig", "StageContext", "finish_batch", "run_batch_stage",
    "split_decisions", "REASON", "REASON_DETAIL",
]
