"""Pure helpers for exact and MinHash near-duplicate detection: no Spark in this module.

The pipeline per document is ``text -> tokens -> shingle hashes -> MinHash signature -> band keys``; every step is a
deterministic function of the text and of :class:`MinHashParams`, so every Spark worker and every rerun agrees.

Pinned hash scheme (changing any of these changes every signature, so they are part of the stage's config):

- tokens: :func:`normalized_tokens` (case folded, Unicode punctuation and symbols become spaces, whitespace
  folded; each character of a script written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar) is its own
  token, so word n-grams become character n-grams there and mixed text works without a language switch);
- token hash: the first 8 bytes (little endian) of ``blake2b(token.encode("utf-8"), digest_size=8)``;
- shingle hash: the high 32 bits of ``sum_k K[k] * tokenhash[i + k] mod 2**64`` over the ``n`` tokens of the
  shingle, with the fixed odd multipliers ``K`` below (order sensitive, vectorised with numpy);
- signature: ``datasketch.MinHash(num_perm, seed, scheme="affine32")`` (datasketch 2.0.0) updated with the shingle
  hashes as its input hash values (identity ``hashfunc``): MurmurHash3 ``fmix32`` then ``a*h+b mod 2**32``;
- band key: ``splitmix64(sum_k K[k] * (row_k + 1) + K[15] * (band index + 1) mod 2**64)`` over the band's rows
  (uint32 values as uint64), viewed as signed int64: one numpy expression for all bands of a batch.

:func:`fingerprint_batch` computes all of this for an Arrow batch at once: the tokens of every document are hashed
in one pass, the shingles of the whole batch in one numpy expression, and the permutations are applied to a
``(shingles x num_perm)`` matrix per chunk of documents, reduced per document with ``np.minimum.reduceat``.
"""

from __future__ import annotations

import hashlib
import math
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np


SCHEME = "affine32"
DATASKETCH_VERSION = "2.0.0"

# Scripts written without spaces between words: each character is one token (so shingles are character n-grams).
_UNSPACED_RANGES = [
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # ideographic iteration mark, closing mark, number zero
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31A0, 0x31FF),  # Bopomofo extended, CJK strokes, Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3134F),  # CJK extensions B-G
]

# Fixed odd 64-bit multipliers for combining token hashes into shingle hashes (shingle size <= 16).
_SHINGLE_MULTIPLIERS = np.array([
    0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
    0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9,
    0x2545F4914F6CDD1D, 0x9FB21C651E98DF25, 0xD1B54A32D192ED03, 0xAEF17502108EF2D9,
    0xDB4F0B9175AE2165, 0x8CB92BA72F3D8DD7, 0xA0761D6478BD642F, 0xE7037ED1A0B428DB,
], dtype=np.uint64)
MAX_SHINGLE_SIZE = len(_SHINGLE_MULTIPLIERS)


# -- normalisation and shingles ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _punctuation_table() -> dict[int, str]:
    # Every Unicode punctuation (P*) and symbol (S*) code point maps to a space; built once per process (~0.1 s).
    return {cp: " " for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp))[0] in "PS"}


def _is_unspaced(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _UNSPACED_RANGES)


def _has_unspaced(word: str) -> bool:
    # Fast path: ASCII words (the common case) never contain those scripts.
    return not word.isascii() and any(_is_unspaced(ch) for ch in word)


def _split_unspaced(word: str) -> list[str]:
    """``"abc漢字def"`` -> ``["abc", "漢", "字", "def"]``: characters of unspaced scripts become their own tokens."""
    tokens, run = [], []
    for ch in word:
        if _is_unspaced(ch):
            if run:
                tokens.append("".join(run))
                run = []
            tokens.append(ch)
        else:
            run.append(ch)
    if run:
        tokens.append("".join(run))
    return tokens


def normalized_tokens(text: str | None) -> list[str]:
    """Tokens of ``text`` after normalisation: lower case, punctuation and symbols removed, whitespace folded.

    >>> normalized_tokens("Hello,  WORLD!! It's 2024.")
    ['hello', 'world', 'it', 's', '2024']
    >>> normalized_tokens("東京は晴れ")
    ['東', '京', 'は', '晴', 'れ']
    """
    if not text:
        return []
    words = text.lower().translate(_punctuation_table()).split()
    if text.isascii():
        return words
    tokens: list[str] = []
    for word in words:
        if _has_unspaced(word):
            tokens.extend(_split_unspaced(word))
        else:
            tokens.append(word)
    return tokens


def normalized_text(text: str | None) -> str:
    """The normalised text that exact dedup compares: tokens joined by single spaces."""
    return " ".join(normalized_tokens(text))


def exact_key(text: str | None) -> bytes | None:
    """128-bit digest of the text in Unicode NFC with whitespace runs folded to one space; ``None`` when nothing
    but whitespace is left. Case, punctuation and symbols are content: ``x = a + b`` and ``x = a - b`` (or
    ``2+2=4`` and ``2*2=4``) are different documents, which matters for code and mathematics. Near-identical
    formatting variants are the fuzzy step's job."""
    if not text:
        return None
    folded = " ".join(unicodedata.normalize("NFC", text).split())
    if not folded:
        return None
    return hashlib.blake2b(folded.encode("utf-8"), digest_size=16).digest()


class TokenHasher:
    """Stable 64-bit token hashes with a bounded cache (token frequencies are Zipfian, so most lookups hit)."""

    def __init__(self, max_cache: int = 500_000):
        self._cache: dict[str, int] = {}
        self._max_cache = max_cache

    def hashes(self, tokens: Sequence[str]) -> np.ndarray:
        cache = self._cache
        values = list(map(cache.get, tokens))
        if None in values:
            if len(cache) >= self._max_cache:
                cache.clear()
            for i, value in enumerate(values):
                if value is None:
                    token = tokens[i]
                    value = cache.get(token)  # a token repeated within this call is hashed once
                    if value is None:
                        value = cache[token] = token_hash(token)
                    values[i] = value
        return np.array(values, dtype=np.uint64)


    def hashes_of_many(self, tokens: Sequence[str]) -> np.ndarray:
        """:meth:`hashes` for a whole batch's tokens: Arrow finds the distinct tokens in C, so Python touches
        each distinct token once instead of every occurrence."""
        if len(tokens) < 4096:
            return self.hashes(tokens)
        import pyarrow as pa

        encoded = pa.array(tokens, pa.string()).dictionary_encode()
        distinct = self.hashes(encoded.dictionary.to_pylist())
        return distinct[encoded.indices.to_numpy()]


def token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def shingle_hashes(token_hashes: np.ndarray, shingle_size: int) -> np.ndarray:
    """Sorted unique 32-bit hashes of the word ``shingle_size``-grams; a shorter text is one shingle.

    >>> h = TokenHasher().hashes("a b c d e f".split())
    >>> len(shingle_hashes(h, 5)), len(shingle_hashes(h[:3], 5)), len(shingle_hashes(h[:0], 5))
    (2, 1, 0)
    """
    if not 1 <= shingle_size <= MAX_SHINGLE_SIZE:
        raise ValueError(f"shingle_size must be in 1..{MAX_SHINGLE_SIZE}, got {shingle_size}")
    n_tokens = len(token_hashes)
    if n_tokens == 0:
        return np.empty(0, dtype=np.uint32)
    width = min(shingle_size, n_tokens)
    count = n_tokens - width + 1
    combined = np.zeros(count, dtype=np.uint64)
    for k in range(width):  # uint64 arithmetic wraps: that is the intended mod 2**64
        combined += token_hashes[k:k + count] * _SHINGLE_MULTIPLIERS[k]
    return np.unique((combined >> np.uint64(32)).astype(np.uint32))


# -- MinHash signatures and LSH bands ----------------------------------------------------------------------------


def _identity(value):
    return value


@dataclass(frozen=True)
class MinHashParams:
    """Everything a signature and its band keys depend on; equal params give bit-identical results anywhere."""

    num_perm: int = 256
    seed: int = 1
    shingle_size: int = 5
    bands: int = 21
    rows: int = 9

    def __post_init__(self):
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.bands < 1 or self.rows < 1:
            raise ValueError("bands and rows must be positive")

    def __str__(self) -> str:
        return f"{self.shingle_size}ng_{self.num_perm}p_{self.bands}b{self.rows}r_s{self.seed}_{SCHEME}"


class MinHasher:
    """Computes datasketch MinHash signatures and band keys for texts; build once per worker, then reuse.

    The permutations come from a ``datasketch.MinHash(num_perm, seed, scheme="affine32")`` template, and
    :meth:`signature` applies datasketch's own affine32 update (``fmix32`` of each input hash, then ``a*h+b`` in
    uint32, then the minimum) in one numpy expression: bit-identical to ``MinHash.update_batch`` (tested against
    it) without its per-call list conversion, which was half the signature time.
    """

    def __init__(self, params: MinHashParams):
        from datasketch import MinHash
        from datasketch.minhash import _fmix

        self.params = params
        self._template = MinHash(num_perm=params.num_perm, seed=params.seed, scheme=SCHEME, hashfunc=_identity)
        a, b = self._template.permutations
        self._a = a.astype(np.uint32).reshape(1, -1)
        self._b = b.astype(np.uint32).reshape(1, -1)
        self._fmix = _fmix
        self._tokens = TokenHasher()

    def shingles(self, text: str | None) -> np.ndarray:
        return shingle_hashes(self._tokens.hashes(normalized_tokens(text)), self.params.shingle_size)

    def signature(self, shingles: np.ndarray) -> np.ndarray | None:
        """uint32 signature of ``num_perm`` values, or ``None`` for an empty shingle set."""
        if len(shingles) == 0:
            return None
        mixed = self._fmix(shingles.astype(np.uint32).reshape(-1, 1), 32)
        return (mixed * self._a + self._b).min(axis=0)  # uint32 wraparound is the intended mod 2**32

    def datasketch_signature(self, shingles: np.ndarray) -> np.ndarray:
        """The same signature through datasketch's public API (the reference the fast path is tested against)."""
        sketch = self._template.copy()
        sketch.update_batch(shingles.tolist())
        return sketch.hashvalues

    def band_keys(self, signature: np.ndarray) -> list[int]:
        return band_keys(signature, self.params.bands, self.params.rows)

    def fingerprint_batch(self, texts: Sequence[str | None]) -> BatchFingerprints:
        """Fingerprints of many texts at once; equal to :meth:`fingerprint` per text (tested), much faster."""
        return _fingerprint_batch(self, texts)

    def fingerprint(self, text: str | None) -> tuple[bytes | None, np.ndarray, np.ndarray | None]:
        """(exact key, shingle hashes, signature) of one text, normalised once."""
        tokens = normalized_tokens(text)
        if len(tokens) < self.params.shingle_size:
            # Shorter than one shingle: with punctuation and symbols stripped, `x = a + b` and `x = a - b` would
            # be the same single shingle; such texts can only be exact duplicates.
            return exact_key(text), np.empty(0, dtype=np.uint32), None
        shingles = shingle_hashes(self._tokens.hashes(tokens), self.params.shingle_size)
        return exact_key(text), shingles, self.signature(shingles)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise on uint64 (wrapping arithmetic is intended)."""
    z = values.copy()
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


@dataclass
class BatchFingerprints:
    """Fingerprints of a batch of texts; document ``i``'s sorted unique shingle hashes are
    ``shingles[shingle_offsets[i]:shingle_offsets[i + 1]]`` (empty for texts shorter than one shingle)."""

    exact_keys: list[bytes | None]
    shingles: np.ndarray  # uint32
    shingle_offsets: np.ndarray  # int64, length n + 1
    has_signature: np.ndarray  # bool, length n
    signatures: np.ndarray  # uint32 (n, num_perm); rows without a signature are zero
    band_keys: np.ndarray  # int64 (n, bands); rows without a signature are zero

    def shingles_of(self, i: int) -> np.ndarray:
        return self.shingles[self.shingle_offsets[i]:self.shingle_offsets[i + 1]]


# Cells of the (shingles x num_perm) uint32 matrix per chunk: 256K cells = 1 MiB, reused, so it stays in cache.
_MATRIX_CELLS = 1 << 18


def _fingerprint_batch(hasher: "MinHasher", texts: Sequence[str | None]) -> BatchFingerprints:
    params = hasher.params
    n, size = len(texts), params.shingle_size
    token_lists = [normalized_tokens(text) for text in texts]
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=n)
    # Texts shorter than one shingle take part in the exact step only (see MinHasher.fingerprint).
    lengths[lengths < size] = 0
    kept = [tokens for tokens, length in zip(token_lists, lengths) if length]
    token_hashes = hasher._tokens.hashes_of_many([token for tokens in kept for token in tokens])
    doc_of_token = np.repeat(np.arange(n, dtype=np.int64), lengths)
    total = len(token_hashes)

    # Every window of `size` tokens that lies inside one document: starts at positions <= length - size.
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    count = max(total - size + 1, 0)
    position = np.arange(count, dtype=np.int64) - starts[doc_of_token[:count]]
    valid = position <= (lengths[doc_of_token[:count]] - size)
    combined = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(size):  # uint64 arithmetic wraps: that is the intended mod 2**64
            combined += token_hashes[k:k + count] * _SHINGLE_MULTIPLIERS[k]
    # Sort and deduplicate per document in one pass: (document << 32) | shingle hash.
    keyed = (doc_of_token[:count][valid].astype(np.uint64) << np.uint64(32)) | (combined[valid] >> np.uint64(32))
    keyed.sort()  # a plain sort then neighbour comparison: several times faster than np.unique's hash path here
    if len(keyed):
        keyed = keyed[np.concatenate(([True], keyed[1:] != keyed[:-1]))]
    shingle_docs = (keyed >> np.uint64(32)).astype(np.int64)
    shingles = (keyed & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    offsets = np.searchsorted(shingle_docs, np.arange(n + 1, dtype=np.int64)).astype(np.int64)

    has_signature = np.diff(offsets) > 0
    signatures = np.zeros((n, params.num_perm), dtype=np.uint32)
    if len(shingles):
        mixed = hasher._fmix(shingles.reshape(-1, 1), 32)
        signed_docs = np.flatnonzero(has_signature)
        rows_per_chunk = max(_MATRIX_CELLS // params.num_perm, 1)
        longest = int(np.diff(offsets).max())
        buffer = np.empty((max(rows_per_chunk, longest), params.num_perm), dtype=np.uint32)
        first = 0
        while first < len(signed_docs):
            # Whole documents per chunk, about rows_per_chunk shingle rows (at least one document).
            low = offsets[signed_docs[first]]
            last = int(np.searchsorted(offsets[signed_docs + 1], low + rows_per_chunk, side="right"))
            last = max(last, first + 1)
            docs = signed_docs[first:last]
            high = offsets[docs[-1] + 1]
            matrix = buffer[:high - low]
            np.multiply(mixed[low:high], hasher._a, out=matrix)  # uint32 wraparound is the intended mod 2**32
            np.add(matrix, hasher._b, out=matrix)
            # Per-document min over row slices: numpy's SIMD min beats np.minimum.reduceat on uint32 ~10x here.
            for doc in docs:
                signatures[doc] = matrix[offsets[doc] - low:offsets[doc + 1] - low].min(axis=0)
            first = last
    bands = band_key_matrix(signatures, params.bands, params.rows)
    bands[~has_signature] = 0
    return BatchFingerprints([exact_key(text) for text in texts], shingles, offsets, has_signature, signatures,
                             bands)


def band_key_matrix(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(n, num_perm)`` uint32 signatures -> ``(n, bands)`` signed 64-bit band keys; the band index is mixed in so
    equal rows in different bands never meet."""
    if rows > MAX_SHINGLE_SIZE - 1:
        # More rows than multipliers: fold the rows pairwise first (still exact equality of the band's rows).
        return _wide_band_keys(signatures, bands, rows)
    n = signatures.shape[0]
    cells = signatures[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        combined = (cells * _SHINGLE_MULTIPLIERS[:rows]).sum(axis=2, dtype=np.uint64)
        combined += _SHINGLE_MULTIPLIERS[-1] * (np.arange(bands, dtype=np.uint64) + np.uint64(1))
        return _splitmix64(combined).view(np.int64)


def _wide_band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    n = signatures.shape[0]
    cells = signatures[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    state = np.zeros((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(rows):  # a sequential mix: order sensitive, any number of rows
            state = _splitmix64(state * _SHINGLE_MULTIPLIERS[0] + cells[:, :, k] + np.uint64(1))
        state += _SHINGLE_MULTIPLIERS[-1] * (np.arange(bands, dtype=np.uint64) + np.uint64(1))
        return _splitmix64(state).view(np.int64)


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[int]:
    """One signed 64-bit key per band of one signature (see :func:`band_key_matrix`)."""
    return band_key_matrix(np.asarray(signature, dtype=np.uint32).reshape(1, -1), bands, rows)[0].tolist()


def signature_bytes(signature: np.ndarray) -> bytes:
    return np.ascontiguousarray(signature, dtype="<u4").tobytes()


def signature_from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u4")


def shingles_from_bytes(raw: bytes | None) -> np.ndarray:
    """A stored ``_shingles`` value (sorted unique uint32, little endian) back as an array."""
    return np.frombuffer(raw or b"", dtype="<u4")


# -- similarity --------------------------------------------------------------------------------------------------


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """MinHash estimate: the fraction of equal signature positions (sd ~ sqrt(J(1-J)/num_perm))."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def exact_jaccard(shingles_a: np.ndarray, shingles_b: np.ndarray) -> float:
    """Jaccard of two sorted unique shingle-hash arrays."""
    if len(shingles_a) == 0 and len(shingles_b) == 0:
        return 1.0
    common = len(np.intersect1d(shingles_a, shingles_b, assume_unique=True))
    return common / (len(shingles_a) + len(shingles_b) - common)


# -- LSH parameters ----------------------------------------------------------------------------------------------


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """P(two documents with Jaccard ``similarity`` share at least one band) = 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - similarity ** rows) ** bands


def false_positive_area(threshold: float, bands: int, rows: int, steps: int = 400) -> float:
    """Integral of the candidate probability over [0, threshold): the expected share of dissimilar candidates."""
    s = np.linspace(0.0, threshold, steps)
    return float(np.trapezoid(1.0 - (1.0 - s ** rows) ** bands, s))


def choose_bands(threshold: float, num_perm: int, min_recall: float = 0.95) -> tuple[int, int]:
    """(bands, rows) with P(candidate | J = threshold) >= ``min_recall`` and the fewest false candidates.

    datasketch's own optimum weighs false positives and negatives equally, which puts the S-curve's midpoint above
    the threshold (recall ~0.46 at J = 0.8 with 256 perms); candidates are verified afterwards, so recall comes first.

    >>> choose_bands(0.8, 256)
    (21, 9)
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    best: tuple[float, int, int] | None = None
    for rows in range(1, num_perm + 1):
        # Smallest number of bands reaching the recall target with this many rows.
        per_band = threshold ** rows
        if per_band <= 0.0:
            break
        needed = math.ceil(math.log(1.0 - min_recall) / math.log1p(-per_band)) if per_band < 1 else 1
        bands = max(needed, 1)
        if bands * rows > num_perm:
            continue
        area = false_positive_area(threshold, bands, rows)
        if best is None or area < best[0] - 1e-12:
            best = (area, bands, rows)
    if best is None:
        raise ValueError(f"no (bands, rows) with bands*rows <= {num_perm} reaches recall {min_recall} at "
                         f"J={threshold}; raise num_perm or lower min_recall")
    return best[1], best[2]


# -- candidate edges from one LSH bucket -------------------------------------------------------------------------


def bucket_edges(members: Iterable[int], max_all_pairs: int) -> list[tuple[int, int]]:
    """Candidate pairs ``(low, high)`` for the documents sharing one band key.

    A bucket of at most ``max_all_pairs`` members yields every pair, so verification sees all of them; a larger one
    yields a star to its smallest member plus a chain through its sorted members: linear in the bucket size, and a
    member similar to its neighbour but not to the star's centre still gets checked against the neighbour.

    >>> bucket_edges([5, 1, 3], 8)
    [(1, 3), (1, 5), (3, 5)]
    >>> bucket_edges([5, 1, 3, 9], 3)
    [(1, 3), (1, 5), (1, 9), (3, 5), (5, 9)]
    """
    nodes = sorted(set(members))
    if len(nodes) <= max_all_pairs:
        return [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:]]
    root = nodes[0]
    edges = {(root, b) for b in nodes[1:]}
    edges.update(zip(nodes[1:], nodes[2:]))
    return sorted(edges)
