"""ingest: read the pipeline input into the document schema, one row per physical record.

Files are listed on the driver and read by Spark tasks (one file per task), each with the pure readers of
``curator.io.readers``. Records without an id get one derived from their file and position; a repeated id is
rejected as ``duplicate_id`` (first occurrence wins) so that ids stay unique downstream.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import pyarrow as pa
from pydantic import Field

from curator.document import DECISION_FIELDS, DOCUMENT_FIELDS, REASON, REASON_DETAIL
from curator.stage import Annotated, Stage, StageConfig, StageContext


INGEST_REASONS = (
    "malformed_json", "invalid_utf8", "invalid_unicode", "missing_text", "non_string_text", "empty_text",
    "truncated_input", "corrupt_file", "duplicate_id",
)
_ORDINAL = "_ingest_ordinal"


class IngestConfig(StageConfig):
    normalization: Literal["NFC", "NFKC", "none"] = Field("NFC", description="Unicode normal form applied to text")
    reject_duplicate_ids: bool = True


class IngestStage(Stage):
    name = "ingest"
    Config = IngestConfig
    reasons: ClassVar[tuple[str, ...]] = INGEST_REASONS

    def annotate(self, df, ctx: StageContext) -> Annotated:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        from curator.io.readers import ReadOptions, check_formats, expand_paths, read_file
        from curator.spark.adapters import read_files

        spec = ctx.input_spec
        files = expand_paths(spec.paths)
        check_formats(files, spec.format)  # on the driver: a misnamed file is one clear error, not a failed job
        options = ReadOptions(
            text_field=spec.text_field, id_field=spec.id_field, url_field=spec.url_field, source=spec.source,
            normalization=None if self.config.normalization == "none" else self.config.normalization,
        )
        fmt = spec.format
        schema = pa.schema(DOCUMENT_FIELDS + DECISION_FIELDS + [pa.field(_ORDINAL, pa.int64())])

        def read(index: int, path: str, rel: str):
            # global input order: file, then record
            return ({**row, _ORDINAL: (index << 40) + n} for n, row in enumerate(read_file(path, rel, options, fmt)))

        frame = read_files(ctx.spark, files, schema, read)
        if self.config.reject_duplicate_ids:
            # Kept rows sort first: a record already rejected (say empty_text) must not claim the id from a good one.
            first = Window.partitionBy("id").orderBy(F.col(REASON).isNotNull(), _ORDINAL)
            frame = frame.withColumn("_n", F.row_number().over(first))
            is_dup = (F.col("_n") > 1) & F.col(REASON).isNull()
            # Name the file and record of each repeat, like every other ingest rejection (broadcast: one row a file).
            paths = F.broadcast(ctx.spark.createDataFrame([(i, path) for i, (path, _) in enumerate(files)],
                                                          "_file long, _path string"))
            frame = frame.withColumn("_file", F.shiftright(F.col(_ORDINAL), 40)).join(paths, "_file", "left")
            where = F.concat(F.col("_path"), F.lit(" record "),
                             ((F.col(_ORDINAL).bitwiseAND(F.lit((1 << 40) - 1))) + 1).cast("string"))
            detail = F.concat(where, F.lit(": id "), F.col("id"), F.lit(" seen earlier in the input"))
            frame = frame.withColumn(REASON_DETAIL, F.when(is_dup, detail).otherwise(F.col(REASON_DETAIL)))
            frame = frame.withColumn(REASON, F.when(is_dup, F.lit("duplicate_id")).otherwise(F.col(REASON)))
            frame = frame.drop("_n", "_file", "_path")
        return Annotated(frame.drop(_ORDINAL), {"files": len(files)})
