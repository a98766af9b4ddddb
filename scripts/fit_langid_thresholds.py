"""Fit the langid stage's per-language thresholds and write ``filters/langid_thresholds.json``.

Data: lingua's language test data (``../shared/data/lingua-language-testdata``: Leipzig sentences and word pairs,
75 languages). Only the even-numbered lines of each file are used here; the benchmark reports on the odd ones too.

Per language, the threshold is the ``--quantile`` (default 1%) of the stage's score over the calibration texts the
stage labels correctly, so about that share of correctly labelled text of that language falls below it; capped at
``--cap`` (the old global 0.65) and floored at ``--floor``. Languages with fewer than ``--min-texts`` correct texts,
and all languages without test data, get the same quantile of the pooled scores (``default``). The thresholds are
fitted twice: for lid.176 + CLD2 (the default) and for lid.176 alone (``second_detector: none``); the pooled
fastText-only value is also the fallback for other fastText models (``fallback_default``).

Run: PYTHONPATH=. .venv/bin/python scripts/fit_langid_thresholds.py [--data DIR] [--out filters/langid_thresholds.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from curator.langid.codes import base_code
from curator.langid.detect import fasttext_labels, lid_model_path
from curator.langid.stage import THRESHOLDS_FILE, LangIdConfig, LangIdStage


DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "lingua-language-testdata"
TASKS = ("sentences", "word-pairs")  # single words are too little evidence to calibrate on
TRUTH_ALIASES = {"nb": "no"}  # lid.176 labels Norwegian Bokmål "no"


def calibration_texts(data: Path) -> tuple[list[str], list[str]]:
    texts, truth = [], []
    for task in TASKS:
        for path in sorted((data / "language-testdata" / task).glob("*.txt")):
            lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            for line in lines[::2]:
                texts.append(line)
                truth.append(TRUTH_ALIASES.get(path.stem, path.stem))
    return texts, truth


def fit(stage: LangIdStage, texts: list[str], truth: list[str], quantile: float, cap: float, floor: float,
        min_texts: int) -> dict:
    scores = defaultdict(list)
    for (lang, score, reason, _), expected in zip(stage.classify(texts), truth):
        if base_code(lang) == expected and reason in (None, "lid_low_score"):
            scores[expected].append(score)
    pooled = np.concatenate([np.asarray(v) for v in scores.values()])
    default = float(np.clip(np.quantile(pooled, quantile), floor, cap))
    thresholds = {
        lang: round(float(np.clip(np.quantile(v, quantile), floor, cap)), 4)
        for lang, v in sorted(scores.items()) if len(v) >= min_texts
    }
    return {"default": round(default, 4), "thresholds": thresholds,
            "correct_texts": {lang: len(v) for lang, v in sorted(scores.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=THRESHOLDS_FILE)
    parser.add_argument("--quantile", type=float, default=0.01)
    parser.add_argument("--cap", type=float, default=0.65)
    parser.add_argument("--floor", type=float, default=0.05)
    parser.add_argument("--min-texts", type=int, default=200)
    args = parser.parse_args()

    texts, truth = calibration_texts(args.data)
    model_file = lid_model_path()
    fitted = {}
    for detector in ("cld2", "none"):
        # min_score=0 switches thresholds off, so every text gets its label and score.
        stage = LangIdStage(LangIdConfig(second_detector=detector, min_score=0.0))
        stage._ensure_setup()
        fitted[detector] = fit(stage, texts, truth, args.quantile, args.cap, args.floor, args.min_texts)
        print(f"{detector}: default {fitted[detector]['default']}, {len(fitted[detector]['thresholds'])} languages")
    result = {
        "model": model_file.name,
        "model_sha256": hashlib.sha256(model_file.read_bytes()).hexdigest(),
        "fitted_by": "scripts/fit_langid_thresholds.py",
        "data": f"lingua-language-testdata {'+'.join(TASKS)}, even lines ({len(texts)} texts)",
        "quantile": args.quantile, "cap": args.cap, "floor": args.floor,
        "second_detector": "cld2",
        "default": fitted["cld2"]["default"],
        "thresholds": fitted["cld2"]["thresholds"],
        "correct_texts": fitted["cld2"]["correct_texts"],
        "fasttext_only": fitted["none"],
        "fallback_default": fitted["none"]["default"],
        "labels": {"fasttext": sorted(fasttext_labels(stage.model))},
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
