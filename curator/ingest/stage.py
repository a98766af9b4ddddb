"""ingest: read the pipeline input into the document schema, one row per physical record.

Files are listed on the driver and read by Spark tasks with the pure readers of ``curator.io.readers``: one task
per file, or per line-aligned byte range / group of row groups for uncompressed JSONL and Parquet files larger than
``input.split_bytes`` (compressed streams stay one task each). Records without an id get one derived from their file and position; a repeated id is
rejected as ``duplicate_id`` (first occurrence wins) so that ids stay unique downstream.

WARC/WET input (``curator.io.warc``): HTML main-text extraction runs here, inside ingest, rather than in a stage of
its own: a separate stage would write every page's raw HTML (about ten times the size of its text) to Parquet only
to read it back once. ``extractor`` picks Trafilatura or Resiliparse. Records that are not documents (warcinfo,
request, metadata, ...) produce no rows; a header-only pass counts them by type into the stats (``warc_records``)
so the physical records of every WARC file are accounted for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, ClassVar, Iterator, Literal

import pyarrow as pa
from pydantic import Field

from curator.document import DECISION_FIELDS, DOCUMENT_FIELDS, REASON, REASON_DETAIL
from curator.stage import Annotated, Stage, StageConfig, StageContext


if TYPE_CHECKING:
    from curator.io.readers import FileSplit


INGEST_REASONS = (
    "malformed_json", "invalid_utf8", "invalid_unicode", "missing_text", "non_string_text", "empty_text",
    "truncated_input", "corrupt_file", "duplicate_id",
    # WARC/WET response and conversion records (curator.io.warc.WARC_REASONS, less those already above)
    "http_status", "non_html", "oversized_html", "undecodable", "empty_extraction",
)
INGEST_ORDINAL = "_ingest_ordinal"
_LITERAL_PATHS_MAX = 2000  # input files whose paths are inlined in the plan for duplicate-id details


class IngestConfig(StageConfig):
    normalization: Literal["NFC", "NFKC", "none"] = Field("NFC", description="Unicode normal form applied to text")
    reject_duplicate_ids: bool = True
    extractor: Literal["trafilatura", "resiliparse"] = Field(
        "trafilatura", description="HTML main-text extractor for WARC responses: trafilatura (precision, FineWeb's "
        "settings) or resiliparse (several times faster)")
    max_html_bytes: int = Field(5_000_000, gt=0, description="larger HTML responses are rejected as oversized_html")


class IngestStage(Stage):
    name = "ingest"
    Config = IngestConfig
    reasons: ClassVar[tuple[str, ...]] = INGEST_REASONS

    def reader(self, spec) -> tuple[list[tuple[str, str]], "Callable[[FileSplit], Iterator[dict]]", pa.Schema]:
        """The input files (listed and checked here, on the driver: a misnamed file is one clear error, not a failed
        job), the pure function reading one split of them into rows, and the rows' schema. Each row carries its
        global input position (file, then record) in ``_ingest_ordinal``."""
        from curator.io.readers import ReadOptions, check_formats, expand_paths, read_file
        from curator.io.warc import HtmlOptions

        files = expand_paths(spec.paths)
        check_formats(files, spec.format)
        options = ReadOptions(
            text_field=spec.text_field, id_field=spec.id_field, url_field=spec.url_field, source=spec.source,
            normalization=None if self.config.normalization == "none" else self.config.normalization,
        )
        fmt = spec.format
        html = HtmlOptions(extractor=self.config.extractor, max_html_bytes=self.config.max_html_bytes)
        schema = pa.schema(DOCUMENT_FIELDS + DECISION_FIELDS + [pa.field(INGEST_ORDINAL, pa.int64())])

        def read(split):
            # a split starts at its file's record number first_record
            rows = read_file(split.path, split.relative, options, fmt, html, split)
            base = (split.file_index << 40) + split.first_record
            return ({**row, INGEST_ORDINAL: base + n} for n, row in enumerate(rows))

        return files, read, schema

    def annotate(self, df, ctx: StageContext) -> Annotated:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        from curator.io.readers import plan_splits
        from curator.spark.adapters import read_files

        spec = ctx.input_spec
        files, read, schema = self.reader(spec)
        fmt = spec.format
        # Large uncompressed JSONL and Parquet files are read by several tasks (input.split_bytes).
        frame = read_files(ctx.spark, plan_splits(files, fmt, spec.split_bytes), schema, read)
        if self.config.reject_duplicate_ids:
            # Kept rows sort first: a record already rejected (say empty_text) must not claim the id from a good one.
            first = Window.partitionBy("id").orderBy(F.col(REASON).isNotNull(), INGEST_ORDINAL)
            frame = frame.withColumn("_n", F.row_number().over(first))
            is_dup = (F.col("_n") > 1) & F.col(REASON).isNull()
            # Name the file and record of each repeat, like every other ingest rejection: the path looked up in a
            # literal array (a few thousand files), else in a broadcast table of one row a file.
            file_number = F.shiftright(F.col(INGEST_ORDINAL), 40)
            if len(files) <= _LITERAL_PATHS_MAX:
                frame = frame.withColumn("_path", F.element_at(F.array(*[F.lit(p) for p, _ in files]),
                                                               (file_number + 1).cast("int")))
            else:
                from pyspark.sql.types import LongType, StringType, StructField, StructType

                paths = F.broadcast(ctx.spark.createDataFrame(
                    [(i, path) for i, (path, _) in enumerate(files)],
                    StructType([StructField("_file", LongType()), StructField("_path", StringType())])))
                frame = frame.withColumn("_file", file_number).join(paths, "_file", "left")
            where = F.concat(F.col("_path"), F.lit(" record "),
                             ((F.col(INGEST_ORDINAL).bitwiseAND(F.lit((1 << 40) - 1))) + 1).cast("string"))
            detail = F.concat(where, F.lit(": id "), F.col("id"), F.lit(" seen earlier in the input"))
            frame = frame.withColumn(REASON_DETAIL, F.when(is_dup, detail).otherwise(F.col(REASON_DETAIL)))
            frame = frame.withColumn(REASON, F.when(is_dup, F.lit("duplicate_id")).otherwise(F.col(REASON)))
            frame = frame.drop(*[c for c in ("_n", "_file", "_path") if c in frame.columns])
        stats = {"files": len(files), **warc_record_tally(ctx.spark, warc_inputs(files, fmt))}
        return Annotated(frame.drop(INGEST_ORDINAL), stats)


def warc_inputs(files: list[tuple[str, str]], fmt: str) -> list[str]:
    """The WARC/WET files among ``files``: the same test read_file applies (only the first 64 KiB of each file is
    looked at)."""
    from curator.io.warc import is_warc_name, sniff_warc

    return [path for path, _ in files if fmt == "warc" or is_warc_name(path) or sniff_warc(path)]


def duplicate_id_decisions(table: pa.Table, files: list[tuple[str, str]]) -> pa.Table:
    """``table`` (read rows with ``_ingest_ordinal``) with every kept row whose id an earlier kept row holds rejected
    as ``duplicate_id``: the rule of the Spark window in :meth:`IngestStage.annotate` (a row already rejected, say
    as empty_text, never claims an id), for input read in the driver process."""
    import pyarrow.compute as pc

    order = pc.sort_indices(table, [(INGEST_ORDINAL, "ascending")])
    table = table.take(order)
    ids, reasons = table.column("id").to_pylist(), table.column(REASON).to_pylist()
    ordinals = table.column(INGEST_ORDINAL).to_pylist()
    details = table.column(REASON_DETAIL).to_pylist()
    seen: set = set()
    for i, (doc_id, reason) in enumerate(zip(ids, reasons)):
        if reason is not None:
            continue
        if doc_id in seen:
            path = files[ordinals[i] >> 40][0]
            reasons[i] = "duplicate_id"
            details[i] = f"{path} record {(ordinals[i] & ((1 << 40) - 1)) + 1}: id {doc_id} seen earlier in the input"
        seen.add(doc_id)
    table = table.set_column(table.schema.get_field_index(REASON), REASON, pa.array(reasons, pa.string()))
    return table.set_column(table.schema.get_field_index(REASON_DETAIL), REASON_DETAIL, pa.array(details, pa.string()))


def warc_record_tally(spark, paths: list[str]) -> dict:
    """Records per WARC-Type over the WARC/WET inputs, counted by Spark from the files (headers only).

    ``warc_records`` holds every physical record; ``warc_records_not_documents`` the ones that produce no row
    (warcinfo, request, metadata, ...). Response and conversion records each became exactly one row.
    """
    if not paths:
        return {}
    from curator.io.warc import DOCUMENT_RECORD_TYPES, count_record_types
    from curator.spark.adapters import sum_counts_per_file

    counts = sum_counts_per_file(spark, paths, count_record_types)
    skipped = {t: n for t, n in counts.items() if t not in DOCUMENT_RECORD_TYPES}
    return {"warc_records": dict(sorted(counts.items())), "warc_records_not_documents": dict(sorted(skipped.items()))}
