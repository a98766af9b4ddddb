"""MinHash fingerprint throughput: curator's per-batch vectorised path vs its per-document path vs datasketch.

Timed in CPU seconds of this process (``time.process_time``), since the shared machine's load makes wall time swing
2x between runs of the same code. Same documents for all rows (passages of 150-400 words cut from the public texts in ../shared/data, as in
bench_dedup.py, or generated words with ``--generated``), one process, one core. Every row produces the same 256
datasketch affine32 permutation values per document (checked here: the batch signatures must equal datasketch's
``MinHash.update_batch`` on the same shingle hashes):

- curator batch: ``MinHasher.fingerprint_batch`` over Arrow-sized batches: exact key, shingles, signature, bands;
- curator per document: ``MinHasher.fingerprint`` + ``band_keys`` per text (the code path before this change);
- datasketch: ``MinHash.update_batch`` with the same shingle hashes per document (signature only; shingling
  not timed), the raw library's own speed for the permutation step.

    .venv/bin/python benchmarks/bench_fingerprint.py [--docs 6000] [--batch 1024] [--generated] [--before-code DIR]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def generated_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(f"w{rng.randrange(30_000)}" for _ in range(rng.randint(150, 400))) for _ in range(n)]


def real_texts(n: int) -> list[str]:
    from benchmarks.bench_dedup import build_corpus

    return [text for _, text in build_corpus(n)][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=1024,
                        help="documents per batch (the stage slices Spark's Arrow batches to 1024)")
    parser.add_argument("--generated", action="store_true", help="generated words instead of ../shared/data")
    parser.add_argument("--before-code", default=None, help="another curator checkout: adds its per-document row")
    args = parser.parse_args()

    import numpy as np
    from datasketch import MinHash

    from curator.dedup.minhash import MinHasher, MinHashParams, normalized_tokens

    texts = generated_texts(args.docs) if args.generated else real_texts(args.docs)
    params = MinHashParams()
    normalized_tokens("warm up")  # builds the punctuation table once

    rows = []
    hasher = MinHasher(params)  # a fresh hasher per row: every row starts with a cold token cache
    started = time.process_time()
    batches = [hasher.fingerprint_batch(texts[i:i + args.batch]) for i in range(0, len(texts), args.batch)]
    rows.append(("curator batch (fingerprint_batch)", time.process_time() - started))

    hasher = MinHasher(params)
    started = time.process_time()
    singles = []
    for text in texts:
        key, shingles, sig = hasher.fingerprint(text)
        singles.append((key, shingles, sig, hasher.band_keys(sig) if sig is not None else None))
    rows.append(("curator per document (fingerprint + band_keys)", time.process_time() - started))

    if args.before_code:
        # The same per-document loop with another checkout's minhash module (e.g. main before the batch path).
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "minhash_before", Path(args.before_code) / "curator" / "dedup" / "minhash.py")
        before = importlib.util.module_from_spec(spec)
        sys.modules["minhash_before"] = before  # dataclasses look their module up while the class is built
        spec.loader.exec_module(before)
        old_hasher = before.MinHasher(before.MinHashParams(**vars(params)))
        started = time.process_time()
        for text in texts:
            _, _, sig = old_hasher.fingerprint(text)
            if sig is not None:
                old_hasher.band_keys(sig)
        rows.append((f"per document, {args.before_code} (before)", time.process_time() - started))

    shingle_sets = [s for _, s, sig, _ in singles if sig is not None]
    template = MinHash(num_perm=params.num_perm, seed=params.seed, scheme="affine32", hashfunc=lambda v: v)
    started = time.process_time()
    reference = []
    for shingles in shingle_sets:
        sketch = template.copy()
        sketch.update_batch(shingles.tolist())
        reference.append(sketch.hashvalues)
    rows.append(("datasketch MinHash.update_batch (signature only)", time.process_time() - started))

    # Same results: the batch path equals the per-document path, whose signatures equal datasketch's.
    flat = [(b, i) for b in batches for i in range(len(b.exact_keys))]
    assert len(flat) == len(singles)
    signed = 0
    for (batch, i), (key, shingles, sig, bands) in zip(flat, singles):
        assert batch.exact_keys[i] == key and np.array_equal(batch.shingles_of(i), shingles)
        assert bool(batch.has_signature[i]) == (sig is not None)
        if sig is not None:
            assert np.array_equal(batch.signatures[i], reference[signed]) and batch.band_keys[i].tolist() == bands
            signed += 1

    words = sum(len(t.split()) for t in texts)
    print(f"{len(texts)} documents, {words / len(texts):.0f} words each on average, "
          f"{'generated' if args.generated else 'public texts from ../shared/data'}; num_perm {params.num_perm}, "
          f"{params.bands}x{params.rows} bands, one core")
    print("| path | CPU seconds | docs per CPU second | ratio to datasketch |\n|---|---:|---:|---:|")
    base = rows[-1][1]
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {len(texts) / seconds:,.0f} | {base / seconds:.2f}x |")
    print("(datasketch's row covers the permutation step only: no tokenising, shingling, exact keys or bands)")


if __name__ == "__main__":
    main()
