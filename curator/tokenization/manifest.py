"""``manifest.json``: the table of contents of a tokens folder, written by the driver after every shard is renamed.

Shape (all counts are integers; ``prefix`` is relative to the folder)::

    {"format": "megatron-mmidx",
     "tokenizer": {"hash": "...", "vocab_size": 8192, "eod_id": 3, "algorithm": "bpe"},
     "dtype": "uint16",
     "documents": 1200, "tokens": 345678,
     "shards": [{"prefix": "part-00000", "documents": 600, "tokens": 170000,
                 "sha256_bin": "...", "sha256_idx": "..."}, ...],
     "rejected": {"tokenize_empty": 2}}

``load_manifest(folder)`` validates it (totals must equal the sum over shards; prefixes must stay inside the folder)
and ``Manifest.shard_prefixes(folder)`` gives absolute prefixes for :class:`~curator.tokenization.shards.MegatronShard`
or Megatron's ``--data-path``.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from curator.config import StrictConfig as _Strict
from curator.errors import CuratorError


MANIFEST_NAME = "manifest.json"
FORMAT = "megatron-mmidx"


class ManifestError(CuratorError):
    """``manifest.json`` is missing, unreadable, or inconsistent with itself or with the shard files."""


class TokenizerRef(_Strict):
    """Which tokenizer produced the ids: its content hash pins the exact vocabulary."""

    hash: str
    vocab_size: int = Field(gt=0)
    eod_id: int = Field(ge=0)
    algorithm: str


class ShardEntry(_Strict):
    prefix: str
    documents: int = Field(ge=0)
    tokens: int = Field(ge=0)
    sha256_bin: str
    sha256_idx: str
    provenance: str | None = None  # sidecar file name (Parquet), relative to the folder

    @model_validator(mode="after")
    def _prefix_inside_folder(self) -> "ShardEntry":
        path = PurePosixPath(self.prefix)
        if path.is_absolute() or ".." in path.parts or not self.prefix:
            raise ValueError(f"shard prefix {self.prefix!r} must be a relative path inside the tokens folder")
        return self


class Manifest(_Strict):
    format: Literal["megatron-mmidx"] = FORMAT
    tokenizer: TokenizerRef
    dtype: Literal["uint16", "int32"]
    documents: int = Field(ge=0)
    tokens: int = Field(ge=0)
    shards: list[ShardEntry]
    # Documents that produced no shard entry, by stable reason (e.g. tokenize_empty); not counted in `documents`.
    rejected: dict[str, int] = Field(default_factory=dict)
    # Who wrote the tokens: run_id (also in every provenance sidecar), creation time, pipeline run folder and stage.
    run: dict[str, Any] | None = None
    # Rehydration table and documents/tokens before (one copy each) and after upsampling; null when not used.
    rehydration: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _totals_match_shards(self) -> "Manifest":
        documents = sum(s.documents for s in self.shards)
        tokens = sum(s.tokens for s in self.shards)
        if (documents, tokens) != (self.documents, self.tokens):
            raise ValueError(
                f"totals ({self.documents} documents, {self.tokens} tokens) differ from the sum over shards "
                f"({documents} documents, {tokens} tokens)"
            )
        if len({s.prefix for s in self.shards}) != len(self.shards):
            raise ValueError("shard prefixes must be unique")
        if self.tokenizer.vocab_size - 1 > (65535 if self.dtype == "uint16" else 2**31 - 1):
            raise ValueError(f"vocabulary of {self.tokenizer.vocab_size} does not fit {self.dtype}")
        return self

    def shard_prefixes(self, folder: str | Path) -> list[Path]:
        """Absolute shard prefixes (no suffix), in manifest order."""
        return [Path(folder).resolve() / entry.prefix for entry in self.shards]


def load_manifest(folder: str | Path) -> Manifest:
    """Read and validate ``<folder>/manifest.json``; raise :class:`ManifestError` with the reason otherwise."""
    from curator.io.filesystem import location

    path = location(folder) / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"no {MANIFEST_NAME} in {folder}: not a tokens folder written by `curator tokenize`")
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ManifestError(f"{path} is not readable JSON: {error}") from error
    try:
        return Manifest.model_validate(data)
    except ValidationError as error:
        raise ManifestError(f"{path} is invalid: {error}") from error


def write_manifest(folder, manifest: Manifest):
    """Write ``manifest.json`` atomically (a renamed temporary locally, one PUT on object stores) and return its
    path (a :class:`Path` for a local folder)."""
    from curator.io.filesystem import location

    path = location(folder) / MANIFEST_NAME
    path.write_text(json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")
    return path.path if path.is_local else path


def verify_shards(folder: str | Path, manifest: Manifest | None = None, check_hashes: bool = True) -> Manifest:
    """Check every listed shard exists and matches its counts (and sha256 when ``check_hashes``)."""
    from curator.hashing import file_sha256
    from curator.tokenization.shards import MegatronShard, ShardFormatError

    folder = Path(folder)
    manifest = manifest or load_manifest(folder)
    for entry, prefix in zip(manifest.shards, manifest.shard_prefixes(folder)):
        try:
            shard = MegatronShard(prefix)
        except ShardFormatError as error:
            raise ManifestError(f"shard {entry.prefix}: {error}") from error
        if (shard.num_documents, shard.num_tokens) != (entry.documents, entry.tokens):
            raise ManifestError(
                f"shard {entry.prefix} holds {shard.num_documents} documents / {shard.num_tokens} tokens, "
                f"manifest says {entry.documents} / {entry.tokens}"
            )
        if shard.dtype.name != manifest.dtype:
            raise ManifestError(f"shard {entry.prefix} is {shard.dtype.name}, manifest says {manifest.dtype}")
        if check_hashes:
            for path, expected in ((shard.bin_path, entry.sha256_bin), (shard.idx_path, entry.sha256_idx)):
                if file_sha256(path) != expected:
                    raise ManifestError(f"{path} does not match its sha256 in the manifest")
    return manifest


__all__ = [
    "FORMAT", "MANIFEST_NAME", "Manifest", "ManifestError", "ShardEntry", "TokenizerRef", "load_manifest",
    "verify_shards", "write_manifest",
]
