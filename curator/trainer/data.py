"""Training samples from ``curator tokenize`` output: Megatron-style windows over memory-mapped shards.

Every sample is a pure function of ``(config seed, sample id)``, so the data position of a run is one integer,
the number of samples consumed, and a resumed or re-sharded run sees exactly the same batches:

1. **Sources.** Each tokens folder is read through its ``manifest.json``; its shards are memory-mapped and viewed
   as one list of documents. The tokenizer hash and vocabulary are checked against the config and each other.
2. **Split.** A seeded permutation of each folder's documents holds out ``val_fraction`` of them (whole
   documents, so no text is shared between train and validation).
3. **Windows.** For epoch ``e`` a split's documents are shuffled (seed, folder, split, e) and concatenated; the
   stream is cut into ``(tokens - 1) // seq_len`` windows of ``seq_len + 1`` tokens that start ``seq_len`` apart
   (adjacent windows share one boundary token, as in Megatron's GPTDataset) and cross document boundaries
   freely. The windows of an epoch are shuffled again, and epochs repeat without end.
4. **Blend.** Several folders are mixed by weight: output position ``i`` goes to the folder whose next sample is
   most overdue, so after any prefix of ``n`` samples every folder has ``weight * n`` samples, within one.

Batches for rank ``r`` at optimizer step ``s``, micro-batch ``m`` are the sample ids
``s * global_batch + m * micro_batch * world + r * micro_batch + [0, micro_batch)``, which makes 1 process with
gradient accumulation and N processes with the same global batch see the same samples per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curator.errors import CuratorError


class DataError(CuratorError):
    """The token data cannot feed this training config (missing shards, tokenizer mismatch, too few tokens)."""


_SPLIT_SEED = 0x5EED  # the train/validation split depends on the seed only, not on folder order
_SPLIT_CODES = {"train": 1, "val": 2}


class TokenSource:
    """One tokens folder: manifest plus memory-mapped shards, addressed as a flat list of documents."""

    def __init__(self, folder: str | Path, *, verify_checksums: bool = False):
        from curator.tokenization.manifest import load_manifest, verify_shards
        from curator.tokenization.shards import MegatronShard

        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise DataError(f"tokens folder {self.folder} does not exist; run `curator tokenize` first")
        self.manifest = load_manifest(self.folder)
        if not self.manifest.shards or self.manifest.tokens == 0:
            raise DataError(f"tokens folder {self.folder} has no shards with tokens (manifest lists "
                            f"{len(self.manifest.shards)} shards, {self.manifest.tokens} tokens)")
        if verify_checksums:
            verify_shards(self.folder, self.manifest)
        self.shards = [MegatronShard(prefix) for prefix in self.manifest.shard_prefixes(self.folder)]
        for entry, shard in zip(self.manifest.shards, self.shards):
            if (shard.num_documents, shard.num_tokens) != (entry.documents, entry.tokens):
                raise DataError(f"{shard.prefix}: holds {shard.num_documents} documents / {shard.num_tokens} "
                                f"tokens, the manifest says {entry.documents} / {entry.tokens}")
            self._check_token_ids(shard)
        # Document d of the folder is document d - doc_base[s] of shard s.
        self.doc_base = np.cumsum([0] + [s.num_documents for s in self.shards]).astype(np.int64)
        self.doc_lengths = np.concatenate([np.diff(s.document_offsets) for s in self.shards]).astype(np.int64)
        self._sidecar_ids: dict[int, list[str] | None] = {}

    def provenance(self, doc: int) -> dict:
        """Where folder document ``doc`` is stored and, from the shard's provenance sidecar, its document id."""
        import pyarrow.parquet as pq

        shard_index = int(np.searchsorted(self.doc_base, doc, side="right")) - 1
        entry = self.manifest.shards[shard_index]
        if shard_index not in self._sidecar_ids:  # read lazily, one column, once per shard
            path = self.folder / entry.provenance if entry.provenance else None
            self._sidecar_ids[shard_index] = (pq.read_table(path, columns=["id"]).column("id").to_pylist()
                                              if path is not None and path.is_file() else None)
        ids = self._sidecar_ids[shard_index]
        index = doc - int(self.doc_base[shard_index])
        return {"shard": entry.prefix, "doc_index": index, "id": ids[index] if ids is not None else None}

    def _check_token_ids(self, shard) -> None:
        """Every id must index the embedding table: one vectorised max per shard (a damaged shard would otherwise
        crash deep inside the model with an IndexError, or on a GPU with a device-side assert)."""
        vocab_size = self.manifest.tokenizer.vocab_size
        if shard.num_tokens == 0:
            return
        tokens = shard.tokens
        largest = int(tokens.max())
        if largest >= vocab_size:
            position = int(np.argmax(tokens >= vocab_size))
            raise DataError(f"{shard.prefix}: token id {int(tokens[position])} at token {position} is outside the "
                            f"{vocab_size}-token vocabulary of the manifest; the shard is damaged or was written with "
                            "another tokenizer (re-run `curator tokenize`)")

    @property
    def num_documents(self) -> int:
        return int(self.doc_base[-1])

    @property
    def tokenizer(self):
        return self.manifest.tokenizer

    def read(self, doc: int, start: int, length: int) -> np.ndarray:
        """``length`` tokens of document ``doc`` from offset ``start``."""
        shard_index = int(np.searchsorted(self.doc_base, doc, side="right")) - 1
        shard = self.shards[shard_index]
        offset = int(shard.document_offsets[doc - self.doc_base[shard_index]]) + start
        return shard.tokens[offset:offset + length]

    def split_documents(self, val_fraction: float, seed: int) -> dict[str, np.ndarray]:
        """Document ids of each split: a seeded permutation, the first ``val_fraction`` held out."""
        order = np.random.default_rng([seed, _SPLIT_SEED]).permutation(self.num_documents)
        num_val = 0
        if val_fraction > 0:
            num_val = max(1, round(val_fraction * self.num_documents))
            if num_val >= self.num_documents:
                raise DataError(f"{self.folder}: {self.num_documents} document(s) cannot be split into train and "
                                f"validation; add data or set data.val_fraction=0")
        return {"val": np.sort(order[:num_val]), "train": np.sort(order[num_val:])}


class WindowStream:
    """One split of one source, cut into shuffled windows of ``seq_len + 1`` tokens, epoch after epoch."""

    def __init__(self, source: TokenSource, doc_ids: np.ndarray, *, seq_len: int, seed: int, source_index: int,
                 split: str):
        self.source, self.doc_ids, self.seq_len = source, doc_ids, seq_len
        self._seed = [seed, source_index, _SPLIT_CODES[split]]
        self.num_tokens = int(source.doc_lengths[doc_ids].sum())
        if self.num_tokens < seq_len + 1:
            raise DataError(
                f"{source.folder}: the {split} split holds {self.num_tokens} tokens in {len(doc_ids)} documents, "
                f"fewer than seq_len + 1 = {seq_len + 1}; lower seq_len, add data"
                + (" or lower data.val_fraction" if split == "val" else "")
            )
        # Windows start seq_len apart and need seq_len + 1 tokens, hence the - 1.
        self.samples_per_epoch = (self.num_tokens - 1) // seq_len
        self._epoch: int | None = None

    def _load_epoch(self, epoch: int) -> None:
        rng = np.random.default_rng(self._seed + [epoch])
        self._order = rng.permutation(self.doc_ids)  # documents in this epoch's stream order
        self._ends = np.cumsum(self.source.doc_lengths[self._order])  # stream offset where each document ends
        self._window_order = rng.permutation(self.samples_per_epoch)
        self._epoch = epoch

    def _window_start(self, k: int) -> int:
        """Stream offset of sample ``k``'s first token (its epoch's order loaded on first use)."""
        epoch, within = divmod(k, self.samples_per_epoch)
        if epoch != self._epoch:
            self._load_epoch(epoch)
        return int(self._window_order[within]) * self.seq_len

    def window_documents(self, k: int) -> list[int]:
        """Folder document numbers whose tokens make up sample ``k`` (same walk as :meth:`window`)."""
        start = self._window_start(k)
        first = int(np.searchsorted(self._ends, start, side="right"))  # document holding the first token
        last = int(np.searchsorted(self._ends, start + self.seq_len, side="right"))  # ... and the last
        return [int(d) for d in self._order[first:min(last, len(self._order) - 1) + 1]]

    def window(self, k: int) -> np.ndarray:
        """Sample ``k`` of this stream (any non-negative integer): int64 array of ``seq_len + 1`` tokens."""
        start = self._window_start(k)
        position = int(np.searchsorted(self._ends, start, side="right"))  # first document ending after start
        out = np.empty(self.seq_len + 1, dtype=np.int64)
        filled = 0
        offset = start - (int(self._ends[position - 1]) if position else 0)
        while filled < out.size:
            doc = int(self._order[position])
            take = min(int(self.source.doc_lengths[doc]) - offset, out.size - filled)
            out[filled:filled + take] = self.source.read(doc, offset, take)
            filled += take
            position += 1
            offset = 0
        return out


def blend_indices(weights: list[float], num_samples: int, chunk: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """For each output position, ``(folder index, sample index within that folder)``.

    Folder ``d``'s ``k``-th sample is due at time ``(k + 0.5) / w_d``; positions take samples in order of due time
    (ties: lower folder first). Any prefix of ``n`` positions then holds ``w_d * n`` samples of folder ``d``,
    within one. Computed in chunks, carrying the per-folder counts, to bound memory.
    """
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    counts = np.zeros(len(w), dtype=np.int64)
    dataset_index = np.empty(num_samples, dtype=np.int32)
    sample_index = np.empty(num_samples, dtype=np.int64)
    active = [d for d in range(len(w)) if w[d] > 0]
    for begin in range(0, num_samples, chunk):
        n = min(chunk, num_samples - begin)
        due, folder, k = [], [], []
        for d in active:
            # The next n positions span at most n + len(w) time units; this many candidates always suffice.
            m = math.ceil((n + len(w)) * w[d]) + 2
            ks = counts[d] + np.arange(m, dtype=np.int64)
            due.append((ks + 0.5) / w[d])
            folder.append(np.full(m, d, dtype=np.int32))
            k.append(ks)
        order = np.argsort(np.concatenate(due), kind="stable")[:n]
        dataset_index[begin:begin + n] = np.concatenate(folder)[order]
        sample_index[begin:begin + n] = np.concatenate(k)[order]
        counts += np.bincount(dataset_index[begin:begin + n], minlength=len(w))
    return dataset_index, sample_index


class BlendedSamples:
    """Sample ids ``0 .. num_samples - 1`` over several window streams, mixed by weight."""

    def __init__(self, streams: list[WindowStream], weights: list[float], num_samples: int):
        self.streams, self.num_samples = streams, num_samples
        if len(streams) == 1:
            self._dataset_index = self._sample_index = None  # one stream: sample id = window id
        else:
            self._dataset_index, self._sample_index = blend_indices(weights, num_samples)

    def source_of(self, sample_id: int) -> int:
        return 0 if self._dataset_index is None else int(self._dataset_index[sample_id])

    def documents(self, sample_id: int) -> list[dict]:
        """Provenance of every document in one sample: folder, shard, position and id (see TokenSource)."""
        source = self.source_of(sample_id)
        k = sample_id if self._sample_index is None else int(self._sample_index[sample_id])
        stream = self.streams[source]
        return [{"folder": str(stream.source.folder), **stream.source.provenance(doc)}
                for doc in stream.window_documents(k)]

    def __getitem__(self, sample_id: int) -> np.ndarray:
        if not 0 <= sample_id < self.num_samples:
            raise IndexError(f"sample {sample_id} outside the planned {self.num_samples} samples")
        if self._dataset_index is None:
            return self.streams[0].window(sample_id)
        return self.streams[self._dataset_index[sample_id]].window(int(self._sample_index[sample_id]))


@dataclass(frozen=True)
class TokenizerInfo:
    hash: str
    vocab_size: int
    eod_id: int


class PretrainData:
    """Train and validation samples for one config; see the module docstring for the sampling scheme."""

    def __init__(self, cfg, *, world_size: int = 1):
        data = cfg.data
        self.sources = [TokenSource(folder, verify_checksums=data.verify_checksums) for folder in data.folders]
        self.tokenizer = self._check_tokenizers(data.tokenizer_hash)
        if cfg.model.vocab_size is not None and cfg.model.vocab_size < self.tokenizer.vocab_size:
            raise DataError(f"tokenizer mismatch: the shards use a {self.tokenizer.vocab_size}-token vocabulary but "
                            f"model.vocab_size is {cfg.model.vocab_size}")
        weights = data.weights or [float(s.manifest.tokens) for s in self.sources]
        splits = [s.split_documents(data.val_fraction, cfg.seed) for s in self.sources]
        train_streams = [WindowStream(s, split["train"], seq_len=cfg.seq_len, seed=cfg.seed, source_index=i,
                                      split="train") for i, (s, split) in enumerate(zip(self.sources, splits))]
        # Folders with weight 0 still get streams so that indices line up; they are never sampled.
        self.train = BlendedSamples(train_streams, weights, cfg.planned_data_steps * cfg.global_batch_size)
        self.val: BlendedSamples | None = None
        if data.val_fraction > 0 and cfg.eval_samples > 0:
            val_streams = [WindowStream(s, split["val"], seq_len=cfg.seq_len, seed=cfg.seed, source_index=i,
                                        split="val") for i, (s, split) in enumerate(zip(self.sources, splits))]
            self.val = BlendedSamples(val_streams, weights, cfg.eval_samples)

    def _check_tokenizers(self, expected_hash: str | None) -> TokenizerInfo:
        refs = [s.tokenizer for s in self.sources]
        first = refs[0]
        for source, ref in zip(self.sources, refs):
            if expected_hash is not None and ref.hash != expected_hash:
                raise DataError(f"tokenizer mismatch: {source.folder} was tokenized with {ref.hash[:16]}..., "
                                f"the config expects data.tokenizer_hash {expected_hash[:16]}...")
            if (ref.hash, ref.vocab_size, ref.eod_id) != (first.hash, first.vocab_size, first.eod_id):
                raise DataError(f"tokenizer mismatch: {source.folder} ({ref.hash[:16]}..., vocab {ref.vocab_size}) "
                                f"and {self.sources[0].folder} ({first.hash[:16]}..., vocab {first.vocab_size}) "
                                "used different tokenizers; blend only folders from one tokenizer")
        return TokenizerInfo(first.hash, first.vocab_size, first.eod_id)

    @staticmethod
    def batch(samples: BlendedSamples, sample_ids: range | list[int]):
        """``(inputs, targets)``: int64 tensors of shape (len(sample_ids), seq_len), targets shifted by one."""
        import torch

        windows = torch.from_numpy(np.stack([samples[i] for i in sample_ids]))
        return windows[:, :-1], windows[:, 1:]


def micro_batch_ids(*, step: int, micro: int, rank: int, world_size: int, micro_batch_size: int,
                    global_batch_size: int) -> range:
    """Sample ids of one rank's micro-batch (see the module docstring)."""
    start = step * global_batch_size + (micro * world_size + rank) * micro_batch_size
    return range(start, start + micro_batch_size)
