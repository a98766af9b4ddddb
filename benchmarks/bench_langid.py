"""Language identification: the langid stage vs raw fastText lid.176, raw CLD2 and lingua, same texts, one process.

Data: lingua's language test data (../shared/data/lingua-language-testdata; Leipzig corpora, 75 languages, ~1000
lines per language and task). Three length buckets: ``single-words``, ``word-pairs``, ``sentences``, plus the
sentences cut to 40 characters. The stage's thresholds were fitted on the even-numbered lines
(scripts/fit_langid_thresholds.py); the **held-out** rows use only odd-numbered lines, the **calibration** rows the
even ones (reported for comparison, not as the result).

Detectors (each answers one top label per text; labels compared on the base code, ``no`` counts as ``nb``):

- stage: ``LangIdStage.classify`` with the shipped defaults (lid.176 + CLD2, calibrated thresholds, script check).
  Its top-1 is its label whether or not it would keep the text; ``und`` counts as wrong.
- fastText: raw ``lid.176.ftz`` ``predict(k=1)`` (what the stage used to be); false drops with the old global 0.65.
- CLD2: raw ``pycld2.detect`` (best effort), its top language.
- lingua: lingua-language-detector built from the 75 test languages (a peer that knows the answer set), high
  accuracy mode, preloaded, one text at a time; ``--no-lingua`` skips it.

Macro = mean over languages of per-language accuracy (all 75; fastText scores 0 on the 8 it has no label for).
False drop = correctly labelled but rejected, over correctly labelled texts. Throughput: docs/s over the held-out
sentences (best of ``--repeat``), models loaded; the stage figure is ``process_batch`` on an Arrow batch (label,
script, thresholds, decision columns), the raw figure one ``predict`` call.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_langid.py [--per-language 300] [--no-lingua] [--mixed]
Needs: pycld2 (core) and lingua-language-detector (the `bench` extra).
"""

from __future__ import annotations

import argparse
import gzip
import time
from collections import defaultdict
from pathlib import Path

import pyarrow as pa

from curator.langid.codes import base_code
from curator.langid.detect import CLD2_TO_LID, one_line
from curator.langid.stage import LangIdConfig, LangIdStage, predict_languages


DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
TESTDATA = DATA / "lingua-language-testdata" / "language-testdata"
TASKS = ("sentences", "word-pairs", "single-words")
ALIASES = {"no": "nb"}
NOT_IN_LID176 = {"lg", "mi", "sn", "st", "tn", "ts", "xh", "zu"}


def load(task: str, half: str, per_language: int | None, cut: int | None = None) -> tuple[list[str], list[str]]:
    texts, truth = [], []
    for path in sorted((TESTDATA / task).glob("*.txt")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        lines = lines[1::2] if half == "held-out" else lines[::2]
        for line in lines[:per_language]:
            texts.append(line[:cut] if cut else line)
            truth.append(path.stem)
    return texts, truth


def norm(label: str) -> str:
    return ALIASES.get(base_code(label), base_code(label))


def cld2_top(texts: list[str]) -> list[str]:
    import pycld2

    out = []
    for text in texts:
        try:
            code = pycld2.detect(one_line(text, 10_000), bestEffort=True)[2][0][1]
        except pycld2.error:
            code = "un"
        out.append(CLD2_TO_LID.get(code, code))
    return out


def build_lingua(codes: list[str]):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    isos = [getattr(IsoCode639_1, code.upper()) for code in codes]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_preloaded_language_models().build()


def lingua_top(detector, texts: list[str]) -> list[str]:
    found = [detector.detect_language_of(t) for t in texts]
    return ["und" if x is None else x.iso_code_639_1.name.lower() for x in found]


def scores(predicted: list[str], truth: list[str], dropped: list[bool] | None = None) -> dict:
    """Macro accuracy, and false-drop rates (overall and per language) when ``dropped`` is given."""
    hit, n, correct, fd = defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(int)
    for i, (p, t) in enumerate(zip(predicted, truth)):
        n[t] += 1
        ok = norm(p) == t
        hit[t] += ok
        if ok and dropped is not None:
            correct[t] += 1
            fd[t] += dropped[i]
    in_lid = [t for t in n if t not in NOT_IN_LID176]
    out = {"macro": sum(hit[t] / n[t] for t in n) / len(n), "per_lang": {t: hit[t] / n[t] for t in n},
           "macro67": sum(hit[t] / n[t] for t in in_lid) / len(in_lid)}
    if dropped is not None:
        out["false_drop"] = sum(fd.values()) / max(sum(correct.values()), 1)
        out["false_drop_per_lang"] = {t: fd[t] / correct[t] for t in n if correct[t]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-language", type=int, default=300, help="lines per language and task (default 300)")
    parser.add_argument("--no-lingua", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mixed", action="store_true", help="also run the debian-reference mixed-document check")
    args = parser.parse_args()
    if not TESTDATA.is_dir():
        raise SystemExit(f"test data not found at {TESTDATA}")

    stage = LangIdStage()
    stage._ensure_setup()
    old = LangIdStage(LangIdConfig(second_detector="none", min_score=0.65))  # fastText + old global threshold
    old._ensure_setup()
    codes = sorted(p.stem for p in (TESTDATA / "sentences").glob("*.txt"))
    lingua = None if args.no_lingua else build_lingua(codes)

    buckets = [(task, task, None) for task in TASKS] + [("sentences cut to 40 chars", "sentences", 40)]
    rows, worst = [], {}
    for half in ("held-out", "calibration"):
        for name, task, cut in buckets:
            texts, truth = load(task, half, args.per_language, cut)
            result = stage.classify(texts)
            ours = scores([r[0] for r in result], truth, [r[2] is not None for r in result])
            ft_langs, ft_scores = predict_languages(stage.model, texts, 10_000)
            ft = scores(ft_langs, truth, [s < 0.65 for s in ft_scores])
            cld = scores(cld2_top(texts), truth)
            lin = scores(lingua_top(lingua, texts), truth) if lingua and half == "held-out" else None
            rows.append((half, name, len(texts), ours, ft, cld, lin))
            if half == "held-out":
                worst[name] = sorted(ours["false_drop_per_lang"].items(), key=lambda x: -x[1])[:5]

    print(f"75 languages, up to {args.per_language} lines per language and task\n")
    print("| half | bucket | texts | stage macro | fastText macro | CLD2 macro | lingua macro | stage / fastText "
          "macro, 67 lid.176 languages | stage false drops (overall / worst language) | fastText@0.65 false drops "
          "(overall / worst) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for half, name, n, ours, ft, cld, lin in rows:
        worst_ours = max(ours["false_drop_per_lang"].values())
        worst_ft = max(ft["false_drop_per_lang"].values())
        lin_cell = f"{lin['macro']:.3f}" if lin else "-"
        print(f"| {half} | {name} | {n} | {ours['macro']:.3f} | {ft['macro']:.3f} | {cld['macro']:.3f} | {lin_cell} | "
              f"{ours['macro67']:.3f} / {ft['macro67']:.3f} | "
              f"{ours['false_drop']:.3f} / {worst_ours:.3f} | {ft['false_drop']:.3f} / {worst_ft:.3f} |")
    print("\nlargest stage false-drop rates, held-out: "
          + "; ".join(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in langs) for name, langs in worst.items()))
    held = next(r for r in rows if r[0] == "held-out" and r[1] == "sentences")
    gaps = sorted(held[3]["per_lang"], key=lambda t: held[3]["per_lang"][t])[:8]
    print("lowest stage accuracy, held-out sentences: " + ", ".join(f"{t} {held[3]['per_lang'][t]:.2f}" for t in gaps))

    # Throughput on the held-out sentences.
    texts, _ = load("sentences", "held-out", args.per_language)
    batch = pa.RecordBatch.from_pydict({"id": [str(i) for i in range(len(texts))], "text": texts})

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return len(texts) / min(times)

    raw = best(lambda: predict_languages(stage.model, texts, 10_000))
    full = best(lambda: stage.process_batch(batch))
    solo = LangIdStage(LangIdConfig(second_detector="none"))
    solo._ensure_setup()
    alone = best(lambda: solo.process_batch(batch))
    cld = best(lambda: cld2_top(texts))
    print(f"\n| detector ({len(texts)} held-out sentences, one process) | docs/s | vs raw fastText |")
    print("|---|---:|---:|")
    print(f"| raw fastText lid.176, one predict call | {raw:,.0f} | 1.00 |")
    print(f"| stage process_batch (lid.176 + CLD2, default) | {full:,.0f} | {full / raw:.2f} |")
    print(f"| stage process_batch, second_detector: none | {alone:,.0f} | {alone / raw:.2f} |")
    print(f"| raw CLD2, one text at a time | {cld:,.0f} | {cld / raw:.2f} |")
    if lingua:
        subset = texts[:1500]
        started = time.perf_counter()
        lingua_top(lingua, subset)
        rate = len(subset) / (time.perf_counter() - started)
        print(f"| lingua, one text at a time (first 1500) | {rate:,.0f} | {rate / raw:.3f} |")

    if args.mixed:
        mixed_documents(stage)


def mixed_documents(stage: LangIdStage) -> None:
    """debian-reference books: translations that leave untranslated paragraphs and code in English."""
    folder = DATA / "debian-reference"
    books = sorted(folder.glob("debian-reference.*.txt.gz"))
    print("\n| book | chars | document mode | majority mode (lang, share) | split mode: chars kept for the book's "
          "language |")
    print("|---|---:|---|---|---:|")
    majority = LangIdStage(LangIdConfig(paragraph_mode="majority"))
    for path in books:
        code = path.name.split(".")[1]
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            text = handle.read()
        want = {"pt-br": "pt", "zh-cn": "zh", "zh-tw": "zh"}.get(code, code)
        split = LangIdStage(LangIdConfig(paragraph_mode="split", languages=[want]))
        doc = pa.RecordBatch.from_pydict({"id": [code], "text": [text]})
        whole = stage.process_batch(doc).to_pylist()[0]
        maj = _run(majority, doc)
        cut = _run(split, doc)
        shares = dict(maj["lang_shares"])
        kept = len(cut["text"]) if cut["reason"] is None else 0
        print(f"| {code} | {len(text):,} | {whole['lang']} {whole['reason'] or 'kept'} | {maj['lang']} "
              f"{shares.get(maj['lang'], 0):.2f} (en {shares.get('en', 0):.2f}) | {kept:,} ({kept / len(text):.0%}) |")


def _run(stage: LangIdStage, batch: pa.RecordBatch) -> dict:
    stage._ensure_setup()
    return stage.process_batch(batch).to_pylist()[0]


if __name__ == "__main__":
    main()
