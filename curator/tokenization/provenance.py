"""Provenance sidecars: which document every token of a shard came from.

Beside each shard pair ``part-00000-0000.{bin,idx}`` the tokenize task writes ``part-00000-0000.provenance.parquet``,
one row per stored sequence, in shard order:

==================  ======================================================================================
``doc_index``       position of the sequence in the shard (what Megatron's ``.idx`` numbers)
``id``              the document id (stable across reruns), ``source`` and ``url`` from the curated corpus
``copy``            0, or the repeat number when rehydration wrote the document several times
``token_offset``    first token of the sequence, counted from the start of the shard's ``.bin``
``token_length``    tokens in the sequence, end-of-document token included
``run_id``          the tokenize job that wrote the shard (also in ``manifest.json`` under ``run``)
``tokenizer_hash``  the tokenizer that produced the ids
==================  ======================================================================================

Megatron readers open only ``<prefix>.bin`` and ``<prefix>.idx``, so the extra file never disturbs them.
:func:`locate` and :func:`find_document` answer ``curator inspect TOKENS --locate SHARD:OFFSET`` and ``--doc ID``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from curator.errors import CuratorError


SIDECAR_SUFFIX = ".provenance.parquet"
SIDECAR_SCHEMA = pa.schema([
    pa.field("doc_index", pa.int64()), pa.field("id", pa.string()), pa.field("source", pa.string()),
    pa.field("url", pa.string()), pa.field("copy", pa.int32()), pa.field("token_offset", pa.int64()),
    pa.field("token_length", pa.int64()), pa.field("run_id", pa.string()), pa.field("tokenizer_hash", pa.string()),
])


def sidecar_name(prefix_name: str) -> str:
    return f"{prefix_name}{SIDECAR_SUFFIX}"


class ProvenanceBuffer:
    """Rows of the shard being written; :meth:`write` puts them beside the shard atomically."""

    def __init__(self, run_id: str, tokenizer_hash: str):
        self.run_id, self.tokenizer_hash = run_id, tokenizer_hash
        self.clear()

    def clear(self) -> None:
        self.ids: list[str] = []
        self.sources: list[str | None] = []
        self.urls: list[str | None] = []
        self.copies: list[int] = []
        self.offsets: list[int] = []
        self.lengths: list[int] = []

    def add(self, doc_id: str, source: str | None, url: str | None, copy: int, offset: int, length: int) -> None:
        self.ids.append(doc_id), self.sources.append(source), self.urls.append(url)
        self.copies.append(copy), self.offsets.append(offset), self.lengths.append(length)

    @property
    def unique_documents(self) -> int:
        return sum(1 for c in self.copies if c == 0)

    @property
    def unique_tokens(self) -> int:
        return sum(n for c, n in zip(self.copies, self.lengths) if c == 0)

    def table(self) -> pa.Table:
        count = len(self.ids)
        return pa.Table.from_pydict({
            "doc_index": np.arange(count, dtype=np.int64), "id": self.ids, "source": self.sources, "url": self.urls,
            "copy": pa.array(self.copies, pa.int32()), "token_offset": pa.array(self.offsets, pa.int64()),
            "token_length": pa.array(self.lengths, pa.int64()), "run_id": [self.run_id] * count,
            "tokenizer_hash": [self.tokenizer_hash] * count,
        }, schema=SIDECAR_SCHEMA)

    def write(self, prefix: str | Path) -> str:
        """Write ``<prefix>.provenance.parquet`` (temporary name, then rename); return its file name."""
        import pyarrow.parquet as pq

        path = Path(f"{prefix}{SIDECAR_SUFFIX}")
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        pq.write_table(self.table(), temporary, compression="zstd")
        os.replace(temporary, path)
        return path.name


def read_sidecar(folder: Path, entry) -> pa.Table:
    import pyarrow.parquet as pq

    if not entry.provenance:
        raise CuratorError(f"shard {entry.prefix} has no provenance sidecar (written before sidecars, or with "
                           "provenance off)")
    path = folder / entry.provenance
    if not path.is_file():
        raise CuratorError(f"provenance sidecar {path} is missing")
    return pq.read_table(path)


def _row(table: pa.Table, index: int) -> dict[str, Any]:
    return {name: table.column(name)[index].as_py() for name in table.column_names}


def locate(folder: Path, manifest, shard: str, token_offset: int) -> dict[str, Any]:
    """The sidecar row of the document holding token ``token_offset`` of ``shard`` (a prefix, or its .bin name)."""
    name = Path(shard).name.removesuffix(".bin").removesuffix(".idx")
    entry = next((e for e in manifest.shards if Path(e.prefix).name == name), None)
    if entry is None:
        raise CuratorError(f"no shard {name!r} in {folder}; shards: {', '.join(e.prefix for e in manifest.shards)}")
    if not 0 <= token_offset < entry.tokens:
        raise CuratorError(f"token offset {token_offset} is outside shard {name} (0..{entry.tokens - 1})")
    table = read_sidecar(folder, entry)
    offsets = table.column("token_offset").to_numpy()
    index = int(np.searchsorted(offsets, token_offset, side="right")) - 1
    return {"shard": entry.prefix, **_row(table, index)}


def find_document(folder: Path, manifest, doc_id: str) -> list[dict[str, Any]]:
    """Every stored sequence of document ``doc_id`` (several under rehydration), across all shards."""
    import pyarrow.compute as pc

    found = []
    for entry in manifest.shards:
        table = read_sidecar(folder, entry)
        matches = table.filter(pc.equal(table.column("id"), doc_id))
        found += [{"shard": entry.prefix, **_row(matches, i)} for i in range(matches.num_rows)]
    return found
