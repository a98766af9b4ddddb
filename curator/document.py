"""The one document schema, defined once for Arrow and for Spark.

Every stage reads and writes these columns; stages append annotation columns (``lang``, ``quality_*``, ``pii_*``) and
never change ``id``. Rejected rows carry the same columns plus ``stage``, ``reason`` and ``reason_detail``.
"""

from __future__ import annotations

import pyarrow as pa


ID, TEXT, SOURCE, URL, META = "id", "text", "source", "url", "meta"

# `meta` is the JSON encoding of every input field that is not id/text/url: a plain string survives every format.
DOCUMENT_FIELDS = [
    pa.field(ID, pa.string(), nullable=False),
    pa.field(TEXT, pa.string()),
    pa.field(SOURCE, pa.string()),
    pa.field(URL, pa.string()),
    pa.field(META, pa.string()),
]
DOCUMENT_SCHEMA = pa.schema(DOCUMENT_FIELDS)

# Batch stages return their input plus these two columns; a null reason means the document is kept.
REASON, REASON_DETAIL, STAGE = "reason", "reason_detail", "stage"
DECISION_FIELDS = [pa.field(REASON, pa.string()), pa.field(REASON_DETAIL, pa.string())]


def spark_schema(schema: pa.Schema):
    """The Spark twin of an Arrow schema (imported lazily so pure code never needs pyspark)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def with_fields(schema: pa.Schema, fields: list[pa.Field]) -> pa.Schema:
    """`schema` with `fields` appended, replacing any existing field of the same name."""
    names = {f.name for f in fields}
    kept = [f for f in schema if f.name not in names]
    return pa.schema(kept + list(fields))
