"""Benchmark files named in a spec, read into :class:`~curator.decontam.ngrams.BenchmarkItem` records on the driver.

Formats by suffix: ``.jsonl``/``.json`` (JSON lines, or one JSON array), either optionally ``.gz``/``.zst``, and
``.parquet``. ``fields`` name the record fields holding benchmark text (a list value, e.g. multiple-choice options,
is joined with spaces); ``id_field`` names the item id (default: the record's 0-based position in the file).
``builtin:<name>`` reads ``curator/data/benchmarks/<name>.jsonl``, a benchmark bundled with the package.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any, Iterator

from pydantic import Field, field_validator

from curator.decontam.ngrams import BenchmarkItem
from curator.errors import CuratorError
from curator.stage import StageConfig


BUILTIN_DIR = Path(__file__).resolve().parent.parent / "data" / "benchmarks"


class BenchmarkSpec(StageConfig):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", description="benchmark name used in reasons and stats")
    path: str = Field(description="JSONL / JSON / Parquet file (optionally .gz/.zst), or builtin:<name>")
    fields: list[str] = Field(min_length=1, description="record fields holding the benchmark text")
    id_field: str | None = Field(None, description="record field holding the item id; default: position in file")
    optional: bool = Field(False, description="skip (and say so in the stats) when the file does not exist")

    @field_validator("fields")
    @classmethod
    def _no_blank_fields(cls, value: list[str]) -> list[str]:
        if any(not f.strip() for f in value):
            raise ValueError("field names must not be blank")
        return value


def benchmark_path(spec: BenchmarkSpec) -> Path:
    if spec.path.startswith("builtin:"):
        return BUILTIN_DIR / f"{spec.path.removeprefix('builtin:')}.jsonl"
    return Path(spec.path).expanduser()


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    if path.suffix == ".zst":
        import zstandard

        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8")
    return open(path, encoding="utf-8")


def _records(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        yield from pq.read_table(path).to_pylist()
        return
    with _open_text(path) as handle:
        text = handle.read()
    if text.lstrip().startswith("["):
        records = json.loads(text)
        yield from records
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise CuratorError(f"benchmark file {path} line {number} is not JSON: {error}") from None


def _field_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value if v is not None)
    return str(value)


def read_benchmark(spec: BenchmarkSpec) -> list[BenchmarkItem]:
    """Items of one benchmark file; a clear :class:`CuratorError` names the file and field on bad input."""
    path = benchmark_path(spec)
    if not path.is_file():
        raise CuratorError(f"benchmark {spec.name!r}: file not found: {path}")
    items: list[BenchmarkItem] = []
    try:
        for position, record in enumerate(_records(path)):
            if not isinstance(record, dict):
                raise CuratorError(f"benchmark {spec.name!r}: record {position} of {path} is not a JSON object")
            missing = [f for f in spec.fields if f not in record]
            if len(missing) == len(spec.fields):
                raise CuratorError(f"benchmark {spec.name!r}: record {position} of {path} has none of the fields "
                                   f"{spec.fields} (it has {sorted(record)})")
            texts = tuple(t for t in (_field_text(record.get(f)) for f in spec.fields) if t)
            item_id = str(record.get(spec.id_field)) if spec.id_field else str(position)
            items.append(BenchmarkItem(spec.name, item_id, texts))
    except (OSError, EOFError, ValueError) as error:  # ValueError covers JSON, UTF-8 and Arrow errors
        raise CuratorError(f"benchmark {spec.name!r}: cannot read {path}: {error}") from None
    return items


