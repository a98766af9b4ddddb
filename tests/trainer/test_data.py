"""Sample windows, split, shuffle, blending and the data errors, on shards written by the real ShardWriter."""

from __future__ import annotations

import numpy as np
import pytest

from curator.errors import CuratorError
from curator.trainer.config import build_config
from curator.trainer.data import PretrainData, blend_indices, micro_batch_ids
from tests.trainer.conftest import write_token_folder


EOD = 0
VOCAB = 65536


def position_documents(num_docs: int, rng: np.random.Generator) -> list[list[int]]:
    """Document d holds tokens d*100+1, d*100+2, ... then EOD, so every token says where it came from."""
    return [[d * 100 + p for p in range(1, int(rng.integers(3, 40)))] + [EOD] for d in range(num_docs)]


def config(folders, **overrides):
    raw = {"model": {"preset": "debug", "vocab_size": VOCAB}, "data": {"folders": [str(f) for f in folders]},
           "seq_len": 16, "micro_batch_size": 4, "global_batch_size": 8, "max_steps": 50, "eval_samples": 8}
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            raw.setdefault(section, {})[field] = value
        else:
            raw[key] = value
    return build_config(raw)


@pytest.fixture
def position_folder(tmp_path):
    documents = position_documents(300, np.random.default_rng(0))
    return write_token_folder(tmp_path / "pos", documents, vocab_size=VOCAB, eod_id=EOD, tokenizer_hash="h1")


def pieces(window: np.ndarray) -> list[list[int]]:
    """Split a window into runs of one document (EOD closes a run)."""
    runs, current = [], []
    for token in window.tolist():
        current.append(token)
        if token == EOD:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


def test_windows_are_contiguous_runs_across_document_boundaries(position_folder):
    data = PretrainData(config([position_folder], data__val_fraction=0.1))
    stream = data.train.streams[0]
    crossed = 0
    for k in range(stream.samples_per_epoch):
        window = stream.window(k)
        assert window.shape == (17,)
        runs = pieces(window)
        crossed += len(runs) > 1
        for run in runs:
            body = [t for t in run if t != EOD]
            if not body:
                continue
            doc = body[0] // 100
            assert all(t // 100 == doc for t in body), "a run mixes documents"
            assert np.all(np.diff(body) == 1), "a run skips or repeats tokens"
        for before, after in zip(runs, runs[1:]):
            assert before[-1] == EOD and after[0] % 100 in (1, 0)  # the next document starts at its beginning
    assert crossed > stream.samples_per_epoch // 2  # 16-token windows over ~20-token documents cross often


def test_one_epoch_covers_the_training_tokens_once(position_folder):
    data = PretrainData(config([position_folder], data__val_fraction=0.1))
    stream = data.train.streams[0]
    seen = np.concatenate([stream.window(k)[:-1] for k in range(stream.samples_per_epoch)])
    body = seen[seen != EOD]
    assert len(np.unique(body)) == len(body), "a token appears in two windows of one epoch"
    # Everything but the last partial window's tokens is covered.
    assert stream.num_tokens - len(seen) <= 16


def test_split_is_by_whole_documents_and_disjoint(position_folder):
    data = PretrainData(config([position_folder], data__val_fraction=0.1))
    train_docs = {t // 100 for k in range(data.train.streams[0].samples_per_epoch)
                  for t in data.train.streams[0].window(k).tolist() if t != EOD}
    val_docs = {t // 100 for k in range(data.val.streams[0].samples_per_epoch)
                for t in data.val.streams[0].window(k).tolist() if t != EOD}
    assert not train_docs & val_docs
    assert len(data.val.streams[0].doc_ids) == 30


def test_shuffle_is_deterministic_in_the_seed_and_epochs_differ(position_folder):
    first = PretrainData(config([position_folder]))
    again = PretrainData(config([position_folder]))
    other_seed = PretrainData(config([position_folder], seed=7))
    ids = range(0, 40)
    assert all(np.array_equal(first.train[i], again.train[i]) for i in ids)
    assert not all(np.array_equal(first.train[i], other_seed.train[i]) for i in ids)
    stream = first.train.streams[0]
    epoch0 = [stream.window(k).tolist() for k in range(5)]
    epoch1 = [stream.window(stream.samples_per_epoch + k).tolist() for k in range(5)]
    assert epoch0 != epoch1


def test_samples_are_random_access(position_folder):
    """The data position is one integer: reading sample 37 cold equals reading it after 0..36."""
    sequential = PretrainData(config([position_folder]))
    for i in range(37):
        sequential.train[i]
    cold = PretrainData(config([position_folder]))
    assert np.array_equal(sequential.train[37], cold.train[37])


def test_batches_shift_targets_by_one(position_folder):
    data = PretrainData(config([position_folder]))
    inputs, targets = PretrainData.batch(data.train, range(3))
    assert inputs.shape == targets.shape == (3, 16)
    assert (inputs[:, 1:] == targets[:, :-1]).all()


def test_micro_batches_match_between_accumulation_and_ranks():
    one_process = [list(micro_batch_ids(step=3, micro=m, rank=0, world_size=1, micro_batch_size=4,
                                        global_batch_size=8)) for m in range(2)]
    two_ranks = [list(micro_batch_ids(step=3, micro=0, rank=r, world_size=2, micro_batch_size=4,
                                      global_batch_size=8)) for r in range(2)]
    assert one_process == two_ranks == [[24, 25, 26, 27], [28, 29, 30, 31]]


@pytest.mark.parametrize("weights", [[0.7, 0.2, 0.1], [1, 1], [0.5, 0.0, 0.5], [0.999, 0.001]])
def test_blend_indices_track_weights_within_one_at_every_prefix(weights):
    dataset_index, sample_index = blend_indices(weights, 5000, chunk=777)  # chunked, to test the carry-over
    w = np.asarray(weights) / sum(weights)
    counts = np.cumsum(np.eye(len(w), dtype=np.int64)[dataset_index], axis=0)
    n = np.arange(1, 5001)[:, None]
    assert np.abs(counts - w * n).max() <= 1.0
    for d in range(len(w)):  # each folder's samples are taken in order 0, 1, 2, ...
        assert np.array_equal(sample_index[dataset_index == d], np.arange((dataset_index == d).sum()))


def test_blended_sampler_draws_from_folders_by_weight(tmp_path):
    rng = np.random.default_rng(1)
    low = write_token_folder(tmp_path / "low", position_documents(200, rng), vocab_size=VOCAB, eod_id=EOD,
                             tokenizer_hash="h1")
    high_docs = [[t + 30000 if t != EOD else EOD for t in doc] for doc in position_documents(200, rng)]
    high = write_token_folder(tmp_path / "high", high_docs, vocab_size=VOCAB, eod_id=EOD, tokenizer_hash="h1")
    data = PretrainData(config([low, high], data__weights=[3, 1], max_steps=50))
    from_high = np.array([(data.train[i] >= 30000).any() for i in range(400)])
    assert from_high.sum() == 100
    assert all(data.train.source_of(i) == int(from_high[i]) for i in range(400))
    # No weights: shares follow the folders' token counts.
    default = PretrainData(config([low, high]))
    tokens = [s.manifest.tokens for s in default.sources]
    share = np.mean([default.train.source_of(i) for i in range(400)])
    assert abs(share - tokens[1] / sum(tokens)) < 0.01


def test_missing_folder_and_missing_manifest_are_clear_errors(tmp_path):
    with pytest.raises(CuratorError, match="does not exist; run `curator tokenize`"):
        PretrainData(config([tmp_path / "nowhere"]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CuratorError, match="no manifest.json"):
        PretrainData(config([tmp_path / "empty"]))


def test_manifest_without_shards_is_a_clear_error(tmp_path):
    from curator.tokenization.manifest import Manifest, TokenizerRef, write_manifest

    write_manifest(tmp_path / "none", Manifest(tokenizer=TokenizerRef(hash="h", vocab_size=10, eod_id=0,
                                                                      algorithm="bpe"),
                                               dtype="uint16", documents=0, tokens=0, shards=[]))
    with pytest.raises(CuratorError, match="no shards"):
        PretrainData(config([tmp_path / "none"]))


def test_tokenizer_mismatches_are_clear_errors(tmp_path, position_folder):
    with pytest.raises(CuratorError, match="tokenizer mismatch.*expects data.tokenizer_hash"):
        PretrainData(config([position_folder], data__tokenizer_hash="another"))
    other = write_token_folder(tmp_path / "other", position_documents(50, np.random.default_rng(2)),
                               vocab_size=VOCAB, eod_id=EOD, tokenizer_hash="h2")
    with pytest.raises(CuratorError, match="used different tokenizers"):
        PretrainData(config([position_folder, other]))
    with pytest.raises(CuratorError, match="65536-token vocabulary but model.vocab_size is 1000"):
        PretrainData(config([position_folder], model={"preset": "debug", "vocab_size": 1000}))


def test_seq_len_longer_than_the_token_stream_is_a_clear_error(tmp_path):
    tiny = write_token_folder(tmp_path / "tiny", [[1, 2, 3, EOD], [4, 5, EOD]], vocab_size=VOCAB, eod_id=EOD,
                              tokenizer_hash="h1", num_shards=1)
    with pytest.raises(CuratorError, match="holds 7 tokens in 2 documents, fewer than seq_len \\+ 1 = 17"):
        PretrainData(config([tiny], data__val_fraction=0.0))
    with pytest.raises(CuratorError, match="cannot be split into train and validation"):
        single = write_token_folder(tmp_path / "single", [[1, 2, EOD]], vocab_size=VOCAB, eod_id=EOD,
                                    tokenizer_hash="h1", num_shards=1)
        PretrainData(config([single]))
