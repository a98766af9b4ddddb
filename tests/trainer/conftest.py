"""Fixtures for trainer tests: real token shards and tiny training configs.

``english_tokens`` trains a real sentencepiece BPE tokenizer on English text of the embedded sample corpus
(Shakespeare, public domain), and writes it as Megatron shards plus manifest with the real Spark
tokenize job, so the training tests need nothing outside the repository.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from curator.tokenization.manifest import Manifest, ShardEntry, TokenizerRef, write_manifest
from curator.tokenization.shards import ShardWriter
from tests.conftest import sample_texts


VOCAB_SIZE = 512


def write_token_folder(folder: Path, documents: list[list[int]], *, vocab_size: int, eod_id: int,
                       tokenizer_hash: str, num_shards: int = 2) -> Path:
    """Write ``documents`` (EOD already appended) as Megatron shards plus manifest.json; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, part in enumerate(np.array_split(np.arange(len(documents)), num_shards)):
        with ShardWriter(folder / f"part-{index:05d}", np.uint16) as writer:
            for doc in part:
                writer.add_document(documents[doc])
        info = writer.info
        entries.append(ShardEntry(prefix=f"part-{index:05d}", documents=info.documents, tokens=info.tokens,
                                  sha256_bin=info.sha256_bin, sha256_idx=info.sha256_idx))
    manifest = Manifest(tokenizer=TokenizerRef(hash=tokenizer_hash, vocab_size=vocab_size, eod_id=eod_id,
                                               algorithm="bpe"),
                        dtype="uint16", documents=sum(e.documents for e in entries),
                        tokens=sum(e.tokens for e in entries), shards=entries)
    write_manifest(folder, manifest)
    return folder


@pytest.fixture(scope="session")
def english_tokens(spark, tmp_path_factory) -> Path:
    """The sample's Shakespeare as passages of 20 lines (~64k characters, ~25k tokens), through the real tokenizer
    training and Spark tokenize job: a 1024-piece sentencepiece BPE (the bpe_demo recipe), 2 shuffled shards."""
    from curator.spark.tokenize_ops import tokenize_to_folder
    from curator.tokenization.job import TokenizeOptions
    from curator.tokenization.recipe import load_recipe
    from curator.tokenization.train import train_from_texts

    lines = [line for text in sample_texts("shakespeare-") for line in text.splitlines()]
    passages = ["\n".join(lines[i:i + 20]) for i in range(0, len(lines), 20)]
    recipe = load_recipe("bpe_demo").model_copy(update={"vocab_size": 1024})
    bundle = train_from_texts(passages, recipe)
    frame = spark.createDataFrame([(f"doc-{i}", text) for i, text in enumerate(passages)], "id string, text string")
    folder = tmp_path_factory.mktemp("tokens") / "english"
    tokenize_to_folder(frame, bundle, folder, TokenizeOptions(num_shards=2, shuffle_seed=1))
    return folder


@pytest.fixture(autouse=True)
def _one_thread():
    """CPU tests share two cores with other jobs: one intra-op thread avoids OpenMP spin contention."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
