"""Shard writer/reader: byte layout, round trips, crash safety and Megatron's own reader."""

from __future__ import annotations

import signal
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from curator.tokenization.shards import (
    MAGIC,
    MegatronShard,
    ShardFormatError,
    ShardWriter,
    check_vocab_fits,
    dtype_for_vocab,
    remove_stale_temporaries,
)


# The worked example of megatron-format-and-trainers.md A.3: documents [10, 11, 50256] and [12, 50256] as uint16.
EXAMPLE_BIN = bytes.fromhex("0a000b0050c40c0050c4")
EXAMPLE_IDX = bytes.fromhex(
    "4d4d494449445800000100000000000000080200000000000000030000000000000003000000020000000000000000000000"
    "0600000000000000000000000000000001000000000000000200000000000000"
)


def test_worked_example_is_byte_exact(tmp_path):
    with ShardWriter(tmp_path / "example", np.uint16) as writer:
        writer.add_document([10, 11, 50256])
        writer.add_document(np.array([12, 50256]))
    assert (tmp_path / "example.bin").read_bytes() == EXAMPLE_BIN
    assert (tmp_path / "example.idx").read_bytes() == EXAMPLE_IDX
    assert writer.info.documents == 2 and writer.info.tokens == 5


def test_index_header_and_arrays_follow_the_layout(tmp_path):
    documents = [[5, 6, 7, 2], [9, 2], [1, 1, 1, 1, 1, 2]]
    with ShardWriter(tmp_path / "p", np.int32) as writer:
        writer.add_documents(documents)
    index = (tmp_path / "p.idx").read_bytes()
    sequences, entries = len(documents), len(documents) + 1
    assert len(index) == 34 + 12 * sequences + 8 * entries
    assert index[:9] == MAGIC
    version, code, count, doc_count = struct.unpack_from("<QBQQ", index, 9)
    assert (version, code, count, doc_count) == (1, 4, sequences, entries)
    lengths = np.frombuffer(index, "<i4", sequences, 34)
    pointers = np.frombuffer(index, "<i8", sequences, 34 + 4 * sequences)
    doc_index = np.frombuffer(index, "<i8", entries, 34 + 12 * sequences)
    assert lengths.tolist() == [4, 2, 6]
    assert pointers.tolist() == [0, 16, 24]  # byte offsets: int32 = 4 bytes per token
    assert doc_index.tolist() == [0, 1, 2, 3]
    assert np.frombuffer((tmp_path / "p.bin").read_bytes(), "<i4").tolist() == sum(documents, [])


@pytest.mark.parametrize("dtype", [np.uint16, np.int32])
def test_round_trip(tmp_path, dtype):
    rng = np.random.default_rng(0)
    high = 65535 if dtype == np.uint16 else 200_000
    documents = [rng.integers(0, high + 1, size=rng.integers(1, 300)) for _ in range(200)]
    with ShardWriter(tmp_path / "round", dtype) as writer:
        writer.add_documents(documents[:100])
        flat = np.concatenate(documents[100:])
        writer.add_batch(flat, [len(d) for d in documents[100:]])
    shard = MegatronShard(tmp_path / "round.bin")  # a suffix is accepted
    assert shard.dtype == np.dtype(dtype)
    assert shard.num_documents == 200 and len(shard) == 200
    assert shard.num_tokens == sum(len(d) for d in documents) == shard.tokens.size
    assert shard.document_offsets.dtype == np.int64 and shard.document_offsets[-1] == shard.num_tokens
    for i, document in enumerate(documents):
        np.testing.assert_array_equal(shard.document(i), document)
    np.testing.assert_array_equal(shard.document(-1), documents[-1])
    with pytest.raises(IndexError):
        shard.document(200)


def test_add_batch_writes_the_same_bytes_as_add_document(tmp_path):
    documents = [[3, 4, 2], [7, 2], [8, 8, 8, 2]]
    with ShardWriter(tmp_path / "one", np.uint16) as one:
        one.add_documents(documents)
    with ShardWriter(tmp_path / "batch", np.uint16) as batch:
        batch.add_batch(np.array(sum(documents, []), dtype=np.int64), [3, 2, 4])
    assert one.info.sha256_bin == batch.info.sha256_bin and one.info.sha256_idx == batch.info.sha256_idx


def test_bad_documents_are_refused(tmp_path):
    with ShardWriter(tmp_path / "bad", np.uint16) as writer:
        with pytest.raises(ShardFormatError, match="does not fit uint16"):
            writer.add_document([1, 70_000])
        with pytest.raises(ShardFormatError):
            writer.add_document(np.array([-1], dtype=np.int64))
        with pytest.raises(ValueError, match="at least one token"):
            writer.add_document([])
        with pytest.raises(ValueError):
            writer.add_batch(np.array([1, 2, 3]), [2, 2])
        writer.add_document([1])
    assert MegatronShard(tmp_path / "bad").num_documents == 1
    with pytest.raises(ShardFormatError, match="uint16 or int32"):
        ShardWriter(tmp_path / "x", np.int64)


def test_exception_inside_the_writer_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with ShardWriter(tmp_path / "failed", np.uint16) as writer:
            writer.add_document([1, 2, 3])
            raise RuntimeError("task died")
    assert list(tmp_path.iterdir()) == []


def test_killed_writer_leaves_no_shard_only_removable_temporaries(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from curator.tokenization.shards import ShardWriter
        writer = ShardWriter({str(tmp_path / 'part-00000-0000')!r}, np.uint16)
        for _ in range(1000):
            writer.add_document(np.arange(1, 500))
        writer._bin_file.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -signal.SIGKILL
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names and all(name.startswith(".") and ".tmp-" in name for name in names), names
    assert not (tmp_path / "part-00000-0000.bin").exists() and not (tmp_path / "part-00000-0000.idx").exists()
    assert len(remove_stale_temporaries(tmp_path)) == len(names)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_files_give_clear_errors(tmp_path):
    with ShardWriter(tmp_path / "c", np.uint16) as writer:
        writer.add_document([1, 2, 3])
    index = (tmp_path / "c.idx").read_bytes()
    (tmp_path / "c.idx").write_bytes(index[:40])
    with pytest.raises(ShardFormatError, match="truncated"):
        MegatronShard(tmp_path / "c")
    (tmp_path / "c.idx").write_bytes(b"NOTMEGA!!" + index[9:])
    with pytest.raises(ShardFormatError, match="magic"):
        MegatronShard(tmp_path / "c")
    (tmp_path / "c.idx").write_bytes(index)
    (tmp_path / "c.bin").write_bytes(b"\x01\x00")
    with pytest.raises(ShardFormatError, match="holds 2 bytes"):
        MegatronShard(tmp_path / "c")
    with pytest.raises(ShardFormatError, match="does not exist"):
        MegatronShard(tmp_path / "missing")


def test_dtype_choice():
    assert dtype_for_vocab(32_000) == np.uint16
    assert dtype_for_vocab(65_536) == np.uint16  # max id 65535 still fits
    assert dtype_for_vocab(65_537) == np.int32
    assert check_vocab_fits(65_536, "uint16") == np.uint16
    with pytest.raises(ShardFormatError, match="does not fit uint16"):
        check_vocab_fits(128_256, "uint16")


@pytest.mark.parametrize("dtype", [np.uint16, np.int32])
def test_megatron_core_reads_our_shards(tmp_path, dtype):
    pytest.importorskip("torch")
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    rng = np.random.default_rng(1)
    documents = [rng.integers(0, 60_000, size=rng.integers(1, 64)) for _ in range(50)]
    with ShardWriter(tmp_path / "mega_text_document", dtype) as writer:
        writer.add_documents(documents)
    dataset = indexed.IndexedDataset(str(tmp_path / "mega_text_document"), multimodal=False, mmap=True)
    assert len(dataset) == len(documents)
    assert dataset.index.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(dataset.sequence_lengths, [len(d) for d in documents])
    np.testing.assert_array_equal(dataset.document_indices, np.arange(len(documents) + 1))
    for i, document in enumerate(documents):
        np.testing.assert_array_equal(dataset[i], document)
    np.testing.assert_array_equal(dataset.get(7, offset=1, length=None), documents[7][1:])
    ours = MegatronShard(tmp_path / "mega_text_document")
    np.testing.assert_array_equal(np.concatenate([dataset[i] for i in range(len(dataset))]), ours.tokens)
