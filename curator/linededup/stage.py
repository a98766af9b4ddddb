"""line_dedup: remove lines, paragraphs or sentences repeated across the corpus (navigation, cookie banners, legal
footers, mailing-list footers, signatures), in the way CCNet removes repeated paragraphs, over the whole corpus.

Steps on Spark (the per-document logic is in :mod:`curator.linededup.units`):

1. **Index.** One ``mapInArrow`` pass turns every document into narrow rows ``(id, hash, position, copies)``: one
   per distinct unit long enough to count (64-bit hash of the normalised unit, its first position in the
   document, how often it occurs there). No text leaves this pass. Materialised: it is read twice.
2. **Count.** ``groupBy(hash)``: the number of documents holding each unit and its first occurrence in the stable
   order (smallest document ``id``, then position). Units held by more than ``max_occurrences`` documents are
   *repeated*. Nothing is collected to the driver.
3. **Plan.** The index joined with the repeated units gives, per document, the (hash, position to keep) pairs to
   remove: with ``keep_first`` the document holding the first occurrence keeps that one copy (and loses only
   further copies of it); every other document loses every copy. Documents with nothing to remove get no row.
4. **Rewrite.** The documents are joined with their plan (left join: every document stays) and one more
   ``mapInArrow`` pass rewrites their text. A document that lost units and is left with fewer than
   ``min_doc_chars`` non-blank characters is rejected as ``line_dedup_too_short``; its rejected row keeps the
   original text, so what was removed can be inspected.

Every document carries ``line_dedup_units_removed`` and ``line_dedup_chars_removed``; the runner totals both into
``stats.json``. Units shorter than ``min_unit_chars`` after normalisation ("Home", "Share", a date) are never
counted or removed: short lines recur everywhere by chance, and deciding about them is the quality filters' job.
Units repeated inside one document but in no other are left alone too (that is repetition, which the Gopher
repetition filter judges, not boilerplate).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Iterator, Literal

import pyarrow as pa
from pydantic import Field

from curator.document import DECISION_FIELDS, ID, TEXT, with_fields
from curator.stage import Annotated, Stage, StageConfig, StageContext, arrow_schema_of, finish_batch


if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from curator.linededup.units import Normalisation


TOO_SHORT = "line_dedup_too_short"
UNITS_REMOVED = "line_dedup_units_removed"
CHARS_REMOVED = "line_dedup_chars_removed"
LINE_DEDUP_FIELDS = [pa.field(UNITS_REMOVED, pa.int32()), pa.field(CHARS_REMOVED, pa.int64())]

# Internal columns: the index rows and the per-document removal plan.
HASH, POSITION, COPIES = "_unit_hash", "_unit_position", "_unit_copies"
REMOVALS = "_line_removals"
INDEX_FIELDS = [
    pa.field(ID, pa.string(), nullable=False),
    pa.field(HASH, pa.int64(), nullable=False),
    pa.field(POSITION, pa.int32(), nullable=False),
    pa.field(COPIES, pa.int32(), nullable=False),
]
REMOVAL_TYPE = pa.list_(pa.struct([pa.field("hash", pa.int64()), pa.field("keep", pa.int32())]))


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
    """``(id, text)`` rows -> index rows ``(id, hash, position, copies)``, one per distinct eligible unit."""
    from curator.linededup.units import distinct_units

    norm = config.normalisation()
    ids, hashes, positions, copies = [], [], [], []
    for doc_id, text in zip(batch.column(ID).to_pylist(), batch.column(TEXT).to_pylist()):
        for h, position, n in distinct_units(text, config.unit, norm, config.min_unit_chars):
            ids.append(doc_id)
            hashes.append(h)
            positions.append(position)
            copies.append(n)
    return pa.RecordBatch.from_arrays(
        [pa.array(ids, pa.string()), pa.array(hashes, pa.int64()), pa.array(positions, pa.int32()),
         pa.array(copies, pa.int32())],
        schema=pa.schema(INDEX_FIELDS),
    )


def rewrite_batch(batch: pa.RecordBatch, config: LineDedupConfig) -> pa.RecordBatch:
    """Documents plus their removal plan (``_line_removals``, null = nothing to remove) -> annotated documents
    (rewritten text, removal counts, decision columns), without the plan column."""
    from curator.linededup.units import remove_units

    norm = config.normalisation()
    texts = batch.column(TEXT).to_pylist()
    plans = batch.column(REMOVALS).to_pylist()
    out_texts, units, chars, reasons, details = [], [], [], [], []
    for text, plan in zip(texts, plans):
        if not plan or text is None:
            out_texts.append(text)
            units.append(0)
            chars.append(0)
            reasons.append(None)
            details.append(None)
            continue
        result = remove_units(text, config.unit, norm, config.min_unit_chars,
                              ((p["hash"], p["keep"]) for p in plan))
        units.append(result.units_removed)
        chars.append(result.chars_removed)
        left = len(result.text.strip())
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

        from curator.dedup.spark_ops import materialise, session_partitions
        from curator.document import spark_schema

        cfg = self.config
        scratch = Path(ctx.scratch_dir) / "line_dedup"
        partitions = session_partitions(ctx.spark, cfg.partitions)
        df = df.drop(*[f.name for f in LINE_DEDUP_FIELDS if f.name in df.columns])

        # 1. Index: narrow rows, no text.
        def index(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                if batch.num_rows:
                    yield index_batch(batch, cfg)

        index_rows = materialise(
            df.select(ID, TEXT).mapInArrow(index, spark_schema(pa.schema(INDEX_FIELDS))), scratch / "index")

        # 2. Count documents per unit; the first occurrence is the smallest (id, position).
        repeated = materialise(
            index_rows.repartition(partitions, HASH).groupBy(HASH).agg(
                F.count(F.lit(1)).alias("docs"), F.min(F.struct(ID, POSITION)).alias("first"))
            .where(F.col("docs") > cfg.max_occurrences)
            .select(HASH, "docs", F.col(f"first.{ID}").alias("first_id"),
                    F.col(f"first.{POSITION}").alias("first_position")),
            scratch / "repeated",
        )

        # 3. Per-document plan: (hash, position to keep or -1).
        holder = F.col(ID) == F.col("first_id")
        planned = index_rows.join(repeated, HASH)
        if cfg.keep_first:
            # The first holder keeps its first copy: it has something to remove only if it holds more copies.
            planned = planned.where(~holder | (F.col(COPIES) > 1))
            keep = F.when(holder, F.col("first_position")).otherwise(F.lit(-1))
        else:
            keep = F.lit(-1)
        plans = planned.groupBy(ID).agg(
            F.collect_list(F.struct(F.col(HASH).alias("hash"), keep.cast("int").alias("keep"))).alias(REMOVALS))

        # 4. Rewrite every document (left join: documents with no plan pass through unchanged).
        out_schema = with_fields(arrow_schema_of(df), LINE_DEDUP_FIELDS + DECISION_FIELDS)

        def rewrite(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                if batch.num_rows:
                    yield rewrite_batch(batch, cfg)

        frame = df.join(plans, ID, "left").select(*df.columns, REMOVALS).mapInArrow(rewrite, spark_schema(out_schema))

        stats = {
            "units_indexed": index_rows.count(),
            "repeated_units": repeated.count(),
            "parameters": cfg.model_dump(mode="json", exclude={"partitions"}),
        }
        return Annotated(frame, stats)
