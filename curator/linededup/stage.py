"""line_dedup: remove lines, paragraphs or sentences repeated across the corpus (navigation, cookie banners, legal
footers, mailing-list footers, signatures), in the way CCNet removes repeated paragraphs, over the whole corpus.

Steps on Spark (the per-document logic is in :mod:`curator.linededup.units`):

1. **Index.** One batch pass (:func:`index_batch`) turns every document into narrow rows ``(id, hash, positions)``:
   one per distinct unit long enough to count (64-bit hash of the normalised unit, the positions where the document
   holds it). No text leaves this pass. Materialised: it is read twice.
2. **Count.** ``groupBy(hash)``: the number of documents holding each unit and the first of them in the stable
   order (smallest document ``id``). Units held by more than ``max_occurrences`` documents are *repeated*. Nothing
   is collected to the driver.
3. **Plan.** The index joined with the repeated units gives, per document, the unit positions to remove: with
   ``keep_first`` the first holder keeps its first copy (and loses only further copies); every other document
   loses every copy. Documents with nothing to remove get no row.
4. **Rewrite.** The documents are joined with their plan (left join: every document stays) and one more
   batch pass (:func:`rewrite_batch`) drops the planned positions from their text (no re-hashing). A document
   that lost units and is left with fewer than ``min_doc_chars`` non-blank characters is rejected as
   ``line_dedup_too_short``; its rejected row keeps the original text, so what was removed can be inspected.

Every document carries ``line_dedup_units_removed`` and ``line_dedup_chars_removed``; the runner totals both into
``stats.json``. Units shorter than ``min_unit_chars`` after normalisation ("Home", "Share", "Log in") are never
counted or removed: short lines recur everywhere by chance, and deciding about them is the quality filters' job.
Units repeated inside one document but in no other are left alone too (that is repetition, which the Gopher
repetition filter judges, not boilerplate).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

import pyarrow as pa
from pydantic import Field

from curator.document import DECISION_FIELDS, ID, TEXT, with_fields
from curator.spark.adapters import arrow_schema_of
from curator.stage import Annotated, Stage, StageConfig, StageContext, finish_batch


if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from curator.linededup.units import Normalisation


TOO_SHORT = "line_dedup_too_short"
UNITS_REMOVED = "line_dedup_units_removed"
CHARS_REMOVED = "line_dedup_chars_removed"
LINE_DEDUP_FIELDS = [pa.field(UNITS_REMOVED, pa.int32()), pa.field(CHARS_REMOVED, pa.int64())]

# Internal columns: the index rows and the per-document removal plan.
HASH, POSITIONS = "_unit_hash", "_unit_positions"
REMOVALS = "_line_removals"
INDEX_FIELDS = [
    pa.field(ID, pa.string(), nullable=False),
    pa.field(HASH, pa.int64(), nullable=False),
    pa.field(POSITIONS, pa.list_(pa.int32()), nullable=False),
]
REMOVAL_TYPE = pa.list_(pa.int32())


class LineDedupConfig(StageConfig):
    unit: Literal["line", "paragraph", "sentence"] = Field(
        "line", description="line: split on newlines; paragraph: on blank lines; sentence: after . ! ? … 。 and "
                            "at newlines (a rule, no model)")
    lowercase: bool = Field(True, description="normalise case before hashing")
    digits: bool = Field(True, description="every digit counts as 0 ('© 2019' matches '© 2023')")
    punctuation: bool = Field(True, description="drop punctuation and symbols before hashing")
    whitespace: bool = Field(True, description="collapse runs of whitespace before hashing")
    min_unit_chars: int = Field(10, ge=1, description="units shorter than this after normalisation are left alone")
    max_occurrences: int = Field(1, ge=1, description="a unit held by more documents than this is removed")
    keep_first: bool = Field(True, description="keep a repeated unit's first occurrence (smallest document id, "
                                               "then position), as CCNet does; false removes every copy")
    min_doc_chars: int = Field(50, ge=0, description="a document that lost units and keeps fewer non-blank "
                                                     "characters than this is rejected (line_dedup_too_short)")
    partitions: int | None = Field(None, ge=1, description="partitions of the hash aggregation; null: "
                                                           "spark.sql.shuffle.partitions")

    def normalisation(self) -> "Normalisation":
        from curator.linededup.units import Normalisation

        return Normalisation(lowercase=self.lowercase, digits=self.digits, punctuation=self.punctuation,
                             whitespace=self.whitespace)


def index_batch(batch: pa.RecordBatch, config: LineDedupConfig) -> pa.RecordBatch:
    """``(id, text)`` rows -> index rows ``(id, hash, positions)``, one per distinct eligible unit."""
    from curator.linededup.units import distinct_units

    norm = config.normalisation()
    ids, hashes, positions = [], [], []
    for doc_id, text in zip(batch.column(ID).to_pylist(), batch.column(TEXT).to_pylist()):
        for h, where in distinct_units(text, config.unit, norm, config.min_unit_chars):
            ids.append(doc_id)
            hashes.append(h)
            positions.append(where)
    return pa.RecordBatch.from_arrays(
        [pa.array(ids, pa.string()), pa.array(hashes, pa.int64()), pa.array(positions, pa.list_(pa.int32()))],
        schema=pa.schema(INDEX_FIELDS),
    )


def rewrite_batch(batch: pa.RecordBatch, config: LineDedupConfig) -> pa.RecordBatch:
    """Documents plus their removal plan (``_line_removals``: unit positions, null = nothing to remove) ->
    annotated documents (rewritten text, removal counts, decision columns), without the plan column."""
    from curator.linededup.units import remove_units

    texts = batch.column(TEXT).to_pylist()
    plans = batch.column(REMOVALS).to_pylist()
    out_texts, units, chars, reasons, details = [], [], [], [], []
    for text, plan in zip(texts, plans):
        result = remove_units(text, config.unit, plan or ())
        units.append(result.units_removed)
        chars.append(result.chars_removed)
        left = len(result.text.strip()) if result.text else 0
        if result.units_removed and left < config.min_doc_chars:
            out_texts.append(text)  # the rejected row shows what the document was
            reasons.append(TOO_SHORT)
            details.append(f"{left} chars left < min_doc_chars {config.min_doc_chars} after removing "
                           f"{result.units_removed} repeated {config.unit}s")
        else:
            out_texts.append(result.text)
            reasons.append(None)
            details.append(None)
    names = [n for n in batch.schema.names if n != REMOVALS]
    docs = pa.RecordBatch.from_arrays([batch.column(n) for n in names], names=names)
    return finish_batch(docs, {TEXT: pa.array(out_texts, pa.string()), UNITS_REMOVED: units, CHARS_REMOVED: chars},
                        reasons, details, LINE_DEDUP_FIELDS)


class LineDedupStage(Stage):
    """Removes units repeated across more than ``max_occurrences`` documents; rejects documents left too short."""

    name = "line_dedup"
    Config = LineDedupConfig
    reasons: ClassVar[tuple[str, ...]] = (TOO_SHORT,)

    def annotation_fields(self) -> list[pa.Field]:
        return LINE_DEDUP_FIELDS

    def summed_columns(self) -> list[str]:
        return [UNITS_REMOVED, CHARS_REMOVED]

    def annotate(self, df: "DataFrame", ctx: StageContext) -> Annotated:
        from pyspark.sql import functions as F

        from curator.spark.adapters import map_batches
        from curator.spark.dedup_ops import materialise, session_partitions

        cfg = self.config
        scratch = Path(ctx.scratch_dir) / "line_dedup"
        partitions = session_partitions(ctx.spark, cfg.partitions)
        df = df.drop(*[f.name for f in LINE_DEDUP_FIELDS if f.name in df.columns])

        # 1. Index: narrow rows, no text.
        index_rows = materialise(
            map_batches(df.select(ID, TEXT), functools.partial(index_batch, config=cfg), pa.schema(INDEX_FIELDS)),
            scratch / "index")

        # 2. Count documents per unit and find the first holder.
        repeated = materialise(
            index_rows.repartition(partitions, HASH).groupBy(HASH)
            .agg(F.count(F.lit(1)).alias("docs"), F.min(ID).alias("first_id"))
            .where(F.col("docs") > cfg.max_occurrences),
            scratch / "repeated",
        )

        # 3. Per-document plan: the unit positions to remove.
        positions = F.col(POSITIONS)
        if cfg.keep_first:
            # The first holder keeps its first copy and loses only further copies.
            first_holder = F.col(ID) == F.col("first_id")
            drop = F.when(first_holder, F.slice(positions, 2, F.size(positions))).otherwise(positions)
        else:
            drop = positions
        plans = (index_rows.join(repeated, HASH).select(ID, drop.alias("drop"))
                 .where(F.size("drop") > 0)
                 .groupBy(ID).agg(F.flatten(F.collect_list("drop")).alias(REMOVALS)))

        # 4. Rewrite every document (left join: documents with no plan pass through unchanged).
        out_schema = with_fields(arrow_schema_of(df), LINE_DEDUP_FIELDS + DECISION_FIELDS)
        planned = df.join(plans, ID, "left").select(*df.columns, REMOVALS)
        frame = map_batches(planned, functools.partial(rewrite_batch, config=cfg), out_schema)

        stats = self._stats(index_rows.count(), repeated.count())
        return Annotated(frame, stats)

    def _stats(self, units_indexed: int, repeated_units: int) -> dict:
        # units_indexed: distinct units per document, summed over documents
        return {"units_indexed": units_indexed, "repeated_units": repeated_units,
                "parameters": self.config.model_dump(mode="json", exclude={"partitions"})}

    def annotate_table(self, table: pa.Table, map_tasks=None) -> tuple[pa.Table, dict]:
        """:meth:`annotate` for a small input held in this process (no Spark): the same four steps over Python
        dicts (the first holder of a unit is the smallest id in code-point order, which is Spark's string order).
        The per-line work is cheap, so ``map_tasks`` is not used (``annotates_in_pool`` is False)."""
        cfg = self.config
        table = table.drop_columns([f.name for f in LINE_DEDUP_FIELDS if f.name in table.column_names])
        index = [index_batch(batch, cfg) for batch in table.select([ID, TEXT]).to_batches()]
        holders: dict[int, list] = {}  # unit hash -> [documents, first id]
        units_indexed = 0
        for batch in index:
            units_indexed += batch.num_rows
            for doc_id, h in zip(batch.column(ID).to_pylist(), batch.column(HASH).to_pylist()):
                entry = holders.get(h)
                if entry is None:
                    holders[h] = [1, doc_id]
                else:
                    entry[0] += 1
                    entry[1] = min(entry[1], doc_id)
        repeated = {h: first for h, (docs, first) in holders.items() if docs > cfg.max_occurrences}
        plans: dict[str, list[int]] = {}
        for batch in index:
            for doc_id, h, where in zip(batch.column(ID).to_pylist(), batch.column(HASH).to_pylist(),
                                        batch.column(POSITIONS).to_pylist()):
                if h not in repeated:
                    continue
                drop = where[1:] if cfg.keep_first and doc_id == repeated[h] else where
                if drop:
                    plans.setdefault(doc_id, []).extend(drop)
        planned = table.append_column(REMOVALS, pa.array([plans.get(i) for i in table.column(ID).to_pylist()],
                                                         pa.list_(pa.int32())))
        out = [rewrite_batch(batch, cfg) for batch in planned.to_batches() if batch.num_rows]
        annotated = (pa.Table.from_batches(out) if out
                     else with_fields(table.schema, LINE_DEDUP_FIELDS + DECISION_FIELDS).empty_table())
        return annotated, self._stats(units_indexed, len(repeated))
