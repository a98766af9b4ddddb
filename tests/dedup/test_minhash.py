"""Pure helpers of the dedup stage: normalisation, shingles, signatures, bands, LSH parameters (no Spark)."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest
from datasketch import MinHash

from curator.dedup.minhash import (
    MinHasher,
    MinHashParams,
    TokenHasher,
    band_keys,
    bucket_edges,
    candidate_probability,
    choose_bands,
    estimated_jaccard,
    exact_jaccard,
    exact_key,
    normalized_text,
    normalized_tokens,
    shingle_hashes,
)
from curator.dedup.stage import DedupConfig, size_bin


def random_words(rng: random.Random, n: int, vocabulary: int = 5000) -> list[str]:
    return [f"w{rng.randrange(vocabulary)}" for _ in range(n)]


def test_normalisation_folds_case_punctuation_and_whitespace():
    assert normalized_tokens("Hello,  WORLD!!\n\tIt's 2024.") == ["hello", "world", "it", "s", "2024"]
    assert normalized_text("A -- b\u00a0\u2014 «c»") == "a b c"
    assert normalized_tokens("") == [] and normalized_tokens(None) == []
    assert normalized_tokens("!!! ??? ...") == []


def test_unspaced_scripts_become_character_tokens_and_other_scripts_stay_words():
    assert normalized_tokens("東京は、晴れ。") == ["東", "京", "は", "晴", "れ"]
    assert normalized_tokens("ภาษาไทย") == list("ภาษาไทย")
    assert normalized_tokens("GPU用の2024年モデル") == ["gpu", "用", "の", "2024", "年", "モ", "デ", "ル"]
    # Combining marks belong to their word (Devanagari vowel signs and virama are not punctuation).
    assert normalized_tokens("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
    assert normalized_tokens("Привет, МИР") == ["привет", "мир"]
    assert normalized_tokens("안녕 하세요") == ["안녕", "하세요"]


def test_exact_key_folds_whitespace_and_unicode_form_only():
    key = exact_key("The quick brown fox.")
    assert key == exact_key("  The quick\tbrown\n\n fox. ")
    assert exact_key("caf\u00e9") == exact_key("cafe\u0301")  # NFC: composed and decomposed e-acute
    assert key != exact_key("the quick brown fox.") and key != exact_key("The quick brown fox!")
    assert exact_key(None) is None and exact_key(" \n\t") is None


def test_exact_key_keeps_operators_and_symbols_as_content():
    assert exact_key("x = a + b") != exact_key("x = a - b")
    assert exact_key("2+2=4") != exact_key("2*2=4")


def test_texts_shorter_than_a_shingle_take_part_in_the_exact_step_only():
    hasher = MinHasher(MinHashParams())
    key_plus, shingles, signature = hasher.fingerprint("x = a + b")
    assert key_plus is not None and len(shingles) == 0 and signature is None
    assert hasher.fingerprint("x = a - b")[0] != key_plus
    assert hasher.fingerprint("one two three four five six")[2] is not None


def test_shingles_are_order_sensitive_sets_and_short_texts_give_one_shingle():
    hasher = TokenHasher()
    tokens = "a b c d e f g".split()
    shingles = shingle_hashes(hasher.hashes(tokens), 5)
    assert len(shingles) == 3 and shingles.dtype == np.uint32
    assert np.array_equal(shingles, np.unique(shingles))
    assert not np.array_equal(shingles, shingle_hashes(hasher.hashes(tokens[::-1]), 5))
    assert len(shingle_hashes(hasher.hashes(["a", "b"]), 5)) == 1
    assert len(shingle_hashes(hasher.hashes("x y x y x y x y".split()), 2)) == 2  # repeated shingles count once
    with pytest.raises(ValueError):
        shingle_hashes(hasher.hashes(tokens), 0)


def test_signature_is_datasketch_minhash_with_the_pinned_scheme():
    params = MinHashParams(num_perm=64, seed=7, bands=8, rows=8)
    hasher = MinHasher(params)
    shingles = hasher.shingles("one two three four five six seven eight nine ten eleven")
    reference = MinHash(num_perm=64, seed=7, scheme="affine32", hashfunc=lambda v: v)
    for value in shingles.tolist():
        reference.update(value)
    assert np.array_equal(hasher.signature(shingles), reference.hashvalues)
    assert hasher.signature(np.empty(0, dtype=np.uint32)) is None
    rng = random.Random(1)
    for n in (1, 7, 500):
        values = np.unique(np.array([rng.getrandbits(32) for _ in range(n)], dtype=np.uint32))
        assert np.array_equal(hasher.signature(values), hasher.datasketch_signature(values))


def test_fingerprints_agree_across_processes_and_hash_seeds():
    text = "Deterministic across workers: the same text gives the same signature and band keys. 東京"
    script = (
        "from curator.dedup.minhash import MinHasher, MinHashParams;"
        "h = MinHasher(MinHashParams());"
        f"key, sh, sig = h.fingerprint({text!r});"
        "print(key.hex(), h.band_keys(sig))"
    )
    outputs = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                   check=True).stdout)
    hasher = MinHasher(MinHashParams())
    key, _, sig = hasher.fingerprint(text)
    outputs.add(f"{key.hex()} {hasher.band_keys(sig)}\n")
    assert len(outputs) == 1


def test_band_keys_change_only_with_their_band():
    signature = np.arange(256, dtype=np.uint32)
    keys = band_keys(signature, 21, 9)
    assert len(keys) == 21 and len(set(keys)) == 21
    changed = signature.copy()
    changed[9 * 4 + 2] += 1  # a value in band 4
    other = band_keys(changed, 21, 9)
    assert [i for i in range(21) if keys[i] != other[i]] == [4]
    # The same rows in a different band give a different key.
    assert band_keys(np.zeros(18, dtype=np.uint32), 2, 9)[0] != band_keys(np.zeros(18, dtype=np.uint32), 2, 9)[1]


def test_estimate_tracks_exact_jaccard():
    rng = random.Random(3)
    hasher = MinHasher(MinHashParams())
    base = random_words(rng, 400)
    for edits in (0, 5, 20, 60):
        copy = list(base)
        for position in rng.sample(range(len(copy)), edits):
            copy[position] = "zz" + copy[position]
        sa, sb = hasher.shingles(" ".join(base)), hasher.shingles(" ".join(copy))
        truth = exact_jaccard(sa, sb)
        estimate = estimated_jaccard(hasher.signature(sa), hasher.signature(sb))
        sigma = max((truth * (1 - truth) / 256) ** 0.5, 1e-3)
        assert abs(estimate - truth) < 5 * sigma, (edits, truth, estimate)


def test_exact_jaccard():
    a = np.array([1, 2, 3, 4], dtype=np.uint32)
    b = np.array([3, 4, 5], dtype=np.uint32)
    assert exact_jaccard(a, b) == pytest.approx(2 / 5)
    assert exact_jaccard(a, a) == 1.0
    assert exact_jaccard(a, np.empty(0, dtype=np.uint32)) == 0.0


def test_choose_bands_puts_recall_first():
    assert choose_bands(0.8, 256) == (21, 9)  # reference table: P(0.8) = 0.95, P(0.6) = 0.19
    for threshold, perms in ((0.7, 256), (0.85, 128), (0.9, 64)):
        bands, rows = choose_bands(threshold, perms, 0.95)
        assert bands * rows <= perms
        assert candidate_probability(threshold, bands, rows) >= 0.95
    bands, rows = choose_bands(0.8, 256, 0.99)
    assert candidate_probability(0.8, bands, rows) >= 0.99
    assert candidate_probability(0.5, 21, 9) < 0.05 < candidate_probability(0.9, 21, 9)
    with pytest.raises(ValueError):
        choose_bands(0.8, 4, 0.999)


def test_bucket_edges_all_pairs_then_star_and_chain():
    assert bucket_edges([3, 1], 16) == [(1, 3)]
    assert len(bucket_edges(range(16), 16)) == 16 * 15 // 2
    big = bucket_edges(range(100), 16)
    assert len(big) == 99 + 98  # star to 0 (99) + chain 1-2 ... 98-99 (98)
    assert all(a < b for a, b in big)


def test_size_bins():
    assert [size_bin(s) for s in (2, 5, 6, 8, 9, 16, 17, 1000)] == ["2", "5", "6-8", "6-8", "9-16", "9-16",
                                                                     "17-32", "513-1024"]


def test_config_validation():
    assert DedupConfig().minhash_params().bands == 21
    assert DedupConfig(bands=14, rows=8).lsh_bands() == (14, 8)
    for bad in ({"bands": 30}, {"bands": 30, "rows": 9}, {"exact": False, "fuzzy": False}, {"threshold": 1.0},
                {"verify": "maybe"}, {"shingle": 5}):
        with pytest.raises(ValueError):
            DedupConfig(**bad)


def test_survivor_rule_selection():
    from curator.dedup.stage import DedupStage

    columns = ["id", "text", "quality_score"]
    assert DedupStage(DedupConfig()).survivor_quality_column(columns) == "quality_score"
    assert DedupStage(DedupConfig()).survivor_quality_column(["id", "text"]) is None
    assert DedupStage(DedupConfig(survivor="smallest_id")).survivor_quality_column(columns) is None
    with pytest.raises(ValueError, match="quality_score"):
        DedupStage(DedupConfig(survivor="highest_quality")).survivor_quality_column(["id", "text"])


@pytest.mark.parametrize("matrix_cells", [1 << 18, 64])  # 64 cells: every document is its own, oversized chunk
def test_batch_fingerprints_equal_per_document_and_datasketch(monkeypatch, matrix_cells):
    import curator.dedup.minhash as minhash

    monkeypatch.setattr(minhash, "_MATRIX_CELLS", matrix_cells)
    rng = random.Random(9)
    texts = [" ".join(random_words(rng, rng.randint(0, 300), vocabulary=800)) for _ in range(60)]
    texts += [None, "", "   ", "!!! ???", "one two three four", "one two three four five", "東京は晴れ",
              "".join(chr(0x4E00 + rng.randrange(500)) for _ in range(80)), "Mixed 漢字 and words, " * 9]
    rng.shuffle(texts)
    params = MinHashParams(num_perm=64, seed=7, bands=8, rows=8)
    hasher = MinHasher(params)
    batch = hasher.fingerprint_batch(texts)
    assert batch.signatures.shape == (len(texts), 64) and batch.band_keys.shape == (len(texts), 8)
    signed = 0
    for i, text in enumerate(texts):
        key, shingles, sig = MinHasher(params).fingerprint(text)
        assert batch.exact_keys[i] == key
        assert np.array_equal(batch.shingles_of(i), shingles)
        assert bool(batch.has_signature[i]) == (sig is not None)
        if sig is None:
            assert not batch.signatures[i].any() and not batch.band_keys[i].any()
            continue
        signed += 1
        reference = MinHash(num_perm=64, seed=7, scheme="affine32", hashfunc=lambda v: v)
        reference.update_batch(shingles.tolist())
        assert np.array_equal(batch.signatures[i], reference.hashvalues)
        assert batch.band_keys[i].tolist() == band_keys(sig, 8, 8)
    assert signed > 50
    empty = hasher.fingerprint_batch([])
    assert empty.signatures.shape == (0, 64) and len(empty.shingle_offsets) == 1


def test_wide_bands_hash_every_row():
    signature = np.arange(40, dtype=np.uint32)
    keys = band_keys(signature, 2, 20)  # more rows than the linear combination has multipliers
    assert len(set(keys)) == 2
    changed = signature.copy()
    changed[19] += 1  # the last row of band 0
    assert band_keys(changed, 2, 20)[0] != keys[0] and band_keys(changed, 2, 20)[1] == keys[1]
