"""Megatron indexed-dataset shards (``MMIDIDX``): a writer and a memory-mapped reader.

API (stable; the trainer reads shards through it)::

    from curator.tokenization.shards import ShardWriter, MegatronShard, dtype_for_vocab

    with ShardWriter("out/part-00000", np.uint16) as writer:   # writes part-00000.{bin,idx}
        writer.add_document([10, 11, 50256])                   # one document = one sequence, EOD included by caller
        writer.add_batch(flat_ids, lengths)                    # many documents at once (concatenated ids)
    writer.info  # ShardInfo(prefix, documents, tokens, sha256_bin, sha256_idx), set on a successful close

    shard = MegatronShard("out/part-00000")                     # prefix, with or without .bin/.idx suffix
    shard.num_documents, shard.num_tokens, shard.dtype          # int, int, np.dtype
    shard.tokens            # 1-D np.memmap over the whole .bin (read-only)
    shard.document_offsets  # int64[num_documents + 1], token offsets of document boundaries in .tokens
    shard.document(i)       # np.ndarray view of document i's tokens

    dtype_for_vocab(vocab_size) -> np.dtype   # uint16 when every id fits (vocab <= 65536), else int32

Layout (``/work/shared/reference/megatron-format-and-trainers.md`` part A.3): the ``.bin`` is the flat little-endian
concatenation of all token ids; the ``.idx`` is the 9-byte magic ``MMIDIDX\\0\\0``, ``<Q`` version 1, ``<B`` dtype
code, ``<Q`` sequence count S, ``<Q`` document-index count D (= documents + 1), then int32[S] lengths, int64[S] byte
pointers, int64[D] document indices (``[0, 1, ..., S]`` for GPT data: one sequence per document). The arrays are
not aligned.

Crash safety: the writer streams to hidden temporary names beside the prefix and renames both files only when
``close()`` succeeds (``.idx`` last, so an ``.idx`` always has its complete ``.bin``); an exception inside the
``with`` block deletes the temporaries. A process killed mid-write leaves only ``.<name>.tmp-*`` files, which
:func:`remove_stale_temporaries` clears.
"""

from __future__ import annotations

import hashlib
import os
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from curator.errors import CuratorError


MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
HEADER_SIZE = len(MAGIC) + 8 + 1 + 8 + 8  # 34 bytes

# Megatron's DType codes. There is no uint32 code: larger vocabularies are stored as int32.
DTYPE_CODES: dict[np.dtype, int] = {
    np.dtype(np.uint8): 1,
    np.dtype(np.int8): 2,
    np.dtype(np.int16): 3,
    np.dtype(np.int32): 4,
    np.dtype(np.int64): 5,
    np.dtype(np.float64): 6,
    np.dtype(np.float32): 7,
    np.dtype(np.uint16): 8,
}
CODE_DTYPES = {code: dtype for dtype, code in DTYPE_CODES.items()}
TOKEN_DTYPES = (np.dtype(np.uint16), np.dtype(np.int32))
TEMP_MARKER = ".tmp-"


class ShardFormatError(CuratorError):
    """A shard file is missing, truncated, or not in the Megatron MMIDIDX layout; or ids do not fit the dtype."""


def dtype_for_vocab(vocab_size: int) -> np.dtype:
    """The smallest token dtype Megatron can read that holds every id in ``[0, vocab_size)``."""
    if vocab_size <= 0:
        raise ShardFormatError(f"vocabulary size must be positive, got {vocab_size}")
    if vocab_size - 1 <= np.iinfo(np.uint16).max:
        return np.dtype(np.uint16)
    if vocab_size - 1 <= np.iinfo(np.int32).max:
        return np.dtype(np.int32)
    raise ShardFormatError(f"vocabulary size {vocab_size} does not fit int32, the largest Megatron token dtype")


def check_vocab_fits(vocab_size: int, dtype: np.dtype | str | type) -> np.dtype:
    """Raise a clear error when ids of a ``vocab_size`` vocabulary cannot be stored as ``dtype``."""
    dtype = _token_dtype(dtype)
    if vocab_size - 1 > np.iinfo(dtype).max:
        raise ShardFormatError(
            f"vocabulary of {vocab_size} tokens does not fit {dtype.name} (max id {np.iinfo(dtype).max}); "
            f"use {dtype_for_vocab(vocab_size).name}"
        )
    return dtype


def shard_paths(prefix: str | Path) -> tuple[Path, Path]:
    """``(<prefix>.bin, <prefix>.idx)``; a prefix given with either suffix is accepted."""
    prefix = _strip_suffix(Path(prefix))
    return prefix.with_name(prefix.name + ".bin"), prefix.with_name(prefix.name + ".idx")


@dataclass(frozen=True)
class ShardInfo:
    """What a finished shard holds; the driver copies these into ``manifest.json``."""

    prefix: str
    documents: int
    tokens: int
    sha256_bin: str
    sha256_idx: str


class ShardWriter:
    """Write one ``.bin``/``.idx`` pair, one sequence per document, atomically on close.

    ``add_document`` takes the document's token ids exactly as they should be stored (append EOD before calling).
    Empty documents are refused: Megatron's own writer never emits zero-length sequences, so the caller records
    them as rejections instead.
    """

    def __init__(self, prefix: str | Path, dtype: np.dtype | str | type):
        self.dtype = _token_dtype(dtype)
        self.bin_path, self.idx_path = shard_paths(prefix)
        self.prefix = _strip_suffix(Path(prefix))
        self.bin_path.parent.mkdir(parents=True, exist_ok=True)
        # Hidden temporaries in the same folder, so the final rename is atomic (same filesystem).
        token = f"{TEMP_MARKER}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._bin_tmp = self.bin_path.with_name(f".{self.bin_path.name}{token}")
        self._idx_tmp = self.idx_path.with_name(f".{self.idx_path.name}{token}")
        self._bin_file = open(self._bin_tmp, "wb")
        self._bin_hash = hashlib.sha256()
        self._lengths: list[int] = []
        self._token_count = 0
        self._max_id = np.iinfo(self.dtype).max
        self.info: ShardInfo | None = None

    @property
    def num_documents(self) -> int:
        return len(self._lengths)

    @property
    def num_tokens(self) -> int:
        return self._token_count

    @property
    def num_bytes(self) -> int:
        return self.num_tokens * self.dtype.itemsize

    def add_document(self, token_ids: np.ndarray | list[int]) -> None:
        ids = np.asarray(token_ids)
        if ids.ndim != 1:
            raise ValueError(f"a document must be a 1-D sequence of token ids, got shape {ids.shape}")
        if ids.size == 0:
            raise ValueError("a document must have at least one token (Megatron never stores empty sequences)")
        if ids.size >= 2**31:
            raise ValueError(f"a document of {ids.size} tokens exceeds the int32 sequence length of the .idx")
        self._append(ids, [int(ids.size)])

    def add_batch(self, flat_ids: np.ndarray, lengths: np.ndarray | list[int]) -> None:
        """Append many documents at once: ``flat_ids`` is their concatenation, ``lengths`` their token counts."""
        lengths = np.asarray(lengths, dtype=np.int64)
        flat_ids = np.asarray(flat_ids)
        if lengths.ndim != 1 or flat_ids.ndim != 1 or int(lengths.sum()) != flat_ids.size:
            raise ValueError(f"lengths sum to {int(lengths.sum())} but {flat_ids.size} ids were given")
        if lengths.size == 0:
            return
        if lengths.min() <= 0:
            raise ValueError("a document must have at least one token (Megatron never stores empty sequences)")
        if lengths.max() >= 2**31:
            raise ValueError("a document exceeds the int32 sequence length of the .idx")
        self._append(flat_ids, lengths.tolist())

    def _append(self, flat_ids: np.ndarray, lengths: list[int]) -> None:
        """Write ``flat_ids`` (non-empty, 1-D) as the documents of ``lengths`` once every id fits the dtype."""
        if flat_ids.dtype != self.dtype or flat_ids.dtype.kind == "i":
            if flat_ids.dtype.kind not in "iu":
                raise ValueError(f"token ids must be integers, got {flat_ids.dtype}")
            low, high = int(flat_ids.min()), int(flat_ids.max())
            if low < 0 or high > self._max_id:
                raise ShardFormatError(f"token id {low if low < 0 else high} does not fit {self.dtype.name}")
        data = flat_ids.astype(self.dtype.newbyteorder("<"), copy=False).tobytes()
        self._bin_file.write(data)
        self._bin_hash.update(data)
        self._lengths.extend(lengths)
        self._token_count += int(flat_ids.size)

    def add_documents(self, documents: Iterable[np.ndarray | list[int]]) -> None:
        for document in documents:
            self.add_document(document)

    def close(self) -> ShardInfo:
        """Write the index, then rename both temporaries to their final names."""
        if self.info is not None:
            return self.info
        self._bin_file.flush()
        os.fsync(self._bin_file.fileno())
        self._bin_file.close()
        index_bytes = encode_index(np.asarray(self._lengths, dtype=np.int64), self.dtype)
        with open(self._idx_tmp, "wb") as index_file:
            index_file.write(index_bytes)
            index_file.flush()
            os.fsync(index_file.fileno())
        os.replace(self._bin_tmp, self.bin_path)
        os.replace(self._idx_tmp, self.idx_path)  # last: a visible .idx implies a complete .bin
        self.info = ShardInfo(
            prefix=str(self.prefix),
            documents=self.num_documents,
            tokens=self.num_tokens,
            sha256_bin=self._bin_hash.hexdigest(),
            sha256_idx=hashlib.sha256(index_bytes).hexdigest(),
        )
        return self.info

    def abort(self) -> None:
        """Drop everything written so far; the final names are never touched."""
        if not self._bin_file.closed:
            self._bin_file.close()
        for path in (self._bin_tmp, self._idx_tmp):
            path.unlink(missing_ok=True)

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def encode_index(lengths: np.ndarray, dtype: np.dtype) -> bytes:
    """The ``.idx`` bytes for one sequence per document with the given token counts."""
    dtype = np.dtype(dtype)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size and (lengths.min() < 0 or lengths.max() >= 2**31):
        raise ShardFormatError("sequence lengths must lie in [0, 2**31) to be stored as int32")
    pointers = np.zeros(lengths.size, dtype=np.int64)
    # int64 cumsum: 32-bit pointer arithmetic overflowed upstream past ~40B tokens (Megatron-LM#1672).
    np.cumsum(lengths[:-1] * dtype.itemsize, out=pointers[1:])
    document_indices = np.arange(lengths.size + 1, dtype=np.int64)
    header = MAGIC + struct.pack("<QBQQ", VERSION, DTYPE_CODES[dtype], lengths.size, document_indices.size)
    return b"".join([
        header,
        lengths.astype("<i4").tobytes(),
        pointers.astype("<i8").tobytes(),
        document_indices.astype("<i8").tobytes(),
    ])


class MegatronShard:
    """Read-only view of one ``.bin``/``.idx`` pair; token data is memory-mapped, never loaded whole."""

    def __init__(self, prefix: str | Path):
        self.prefix = _strip_suffix(Path(prefix))
        self.bin_path, self.idx_path = shard_paths(self.prefix)
        for path in (self.bin_path, self.idx_path):
            if not path.is_file():
                raise ShardFormatError(f"shard file {path} does not exist")
        index = self.idx_path.read_bytes()
        (self.dtype, self.sequence_lengths, self.sequence_pointers,
         self.document_indices) = decode_index(index, str(self.idx_path))
        self._sequence_offsets = np.zeros(self.sequence_lengths.size + 1, dtype=np.int64)
        np.cumsum(self.sequence_lengths, out=self._sequence_offsets[1:])
        expected_pointers = self._sequence_offsets[:-1] * self.dtype.itemsize
        if not np.array_equal(self.sequence_pointers, expected_pointers):
            raise ShardFormatError(f"{self.idx_path}: sequences are not stored contiguously in the .bin")
        self.num_tokens = int(self._sequence_offsets[-1])
        bin_size = self.bin_path.stat().st_size
        if bin_size != self.num_tokens * self.dtype.itemsize:
            raise ShardFormatError(
                f"{self.bin_path} holds {bin_size} bytes but its index describes "
                f"{self.num_tokens} {self.dtype.name} tokens ({self.num_tokens * self.dtype.itemsize} bytes)"
            )
        self.num_documents = int(self.document_indices.size - 1)
        self.document_offsets = self._sequence_offsets[self.document_indices]
        self._tokens: np.ndarray | None = None

    @property
    def tokens(self) -> np.ndarray:
        """Every token of the shard as one read-only 1-D array (a memmap; empty array for an empty shard)."""
        if self._tokens is None:
            if self.num_tokens == 0:
                self._tokens = np.empty(0, dtype=self.dtype)  # mmap cannot map a zero-byte file
            else:
                self._tokens = np.memmap(self.bin_path, dtype=self.dtype.newbyteorder("<"), mode="r",
                                         shape=(self.num_tokens,))
        return self._tokens

    def document(self, i: int) -> np.ndarray:
        if not -self.num_documents <= i < self.num_documents:
            raise IndexError(f"document {i} out of range for a shard of {self.num_documents} documents")
        i %= self.num_documents
        return self.tokens[self.document_offsets[i]:self.document_offsets[i + 1]]

    def __len__(self) -> int:
        return self.num_documents

    def __iter__(self):
        for i in range(self.num_documents):
            yield self.document(i)

    def __repr__(self) -> str:
        return (f"MegatronShard({str(self.prefix)!r}, documents={self.num_documents}, tokens={self.num_tokens}, "
                f"dtype={self.dtype.name})")


def decode_index(index: bytes, where: str = ".idx") -> tuple[np.dtype, np.ndarray, np.ndarray, np.ndarray]:
    """Parse and check ``.idx`` bytes: ``(dtype, lengths int32[S], pointers int64[S], document_indices int64[D])``."""
    if len(index) < HEADER_SIZE or index[:len(MAGIC)] != MAGIC:
        raise ShardFormatError(f"{where}: not a Megatron MMIDIDX index (bad magic or truncated header)")
    version, code, sequence_count, document_count = struct.unpack_from("<QBQQ", index, len(MAGIC))
    if version != VERSION:
        raise ShardFormatError(f"{where}: index version {version}, expected {VERSION}")
    if code not in CODE_DTYPES:
        raise ShardFormatError(f"{where}: unknown dtype code {code}")
    needed = HEADER_SIZE + 12 * sequence_count + 8 * document_count
    if len(index) < needed:
        raise ShardFormatError(f"{where}: index truncated ({len(index)} bytes, header promises {needed})")
    offset = HEADER_SIZE
    lengths = np.frombuffer(index, dtype="<i4", count=sequence_count, offset=offset).astype(np.int64)
    offset += 4 * sequence_count
    pointers = np.frombuffer(index, dtype="<i8", count=sequence_count, offset=offset).astype(np.int64)
    offset += 8 * sequence_count
    document_indices = np.frombuffer(index, dtype="<i8", count=document_count, offset=offset).astype(np.int64)
    if document_count < 1 or document_indices[0] != 0 or document_indices[-1] != sequence_count:
        raise ShardFormatError(f"{where}: document indices must run from 0 to the sequence count {sequence_count}")
    if (lengths < 0).any() or (np.diff(document_indices) < 0).any():
        raise ShardFormatError(f"{where}: negative sequence length or decreasing document index")
    return CODE_DTYPES[code], lengths, pointers, document_indices


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporaries of writers that died before ``close()``; return what was removed."""
    removed = []
    for path in Path(folder).rglob(f".*{TEMP_MARKER}*"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _token_dtype(dtype: np.dtype | str | type) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in TOKEN_DTYPES:
        raise ShardFormatError(f"token dtype must be uint16 or int32 (Megatron codes 8 and 4), got {dtype.name}")
    return dtype


def _strip_suffix(path: Path) -> Path:
    return path.with_suffix("") if path.suffix in (".bin", ".idx") else path


__all__ = [
    "MegatronShard", "ShardFormatError", "ShardInfo", "ShardWriter", "check_vocab_fits", "decode_index",
    "dtype_for_vocab", "encode_index", "remove_stale_temporaries", "shard_paths",
]
