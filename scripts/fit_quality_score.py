"""Fit the quality score (filters/quality_score.json): a logistic regression on DCLM's human-labelled pages.

Data: ../shared/data/dclm-quality-dev (499 English Common Crawl pages, majority human label 1 = good, 0 = low
quality). Features: ``curator.quality.score.RULE_FEATURES`` measured on each page plus the logit of each fastText
classifier's score (``--classifiers``; none of them was trained on these pages).

Honesty of the figures: every reported number is out-of-fold. Stratified 5-fold cross-validation, repeated 5 times
with different shuffles, gives the mean ROC AUC. The threshold rule (the highest score that keeps at least
``--target-good-kept`` of the good pages, i.e. the best precision at that recall) is chosen inside each training fold
and applied to its test fold, so the out-of-fold precision and good-kept are what a new page set would see. The
shipped coefficients and threshold are then fitted on all 499 pages. The fold models of the first repetition are
written to benchmarks/results/quality_score_cv_folds.json so bench_quality.py can run whole pipeline recipes
out-of-fold.

Run from the repository root (needs scikit-learn: the `fit` extra):

    PYTHONPATH=. .venv/bin/python scripts/fit_quality_score.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from curator.hashing import file_sha256
from curator.quality.classifier import load_model, roc_auc, score_texts
from curator.quality.score import CLASSIFIER_PREFIX, RULE_FEATURES, feature_matrix
from curator.specs import REPO_ROOT


DATA = REPO_ROOT.parent / "shared" / "data"
DEV_SET = "dclm-quality-dev/majority_data.jsonl"
OUTPUT = REPO_ROOT / "filters" / "quality_score.json"
FOLDS_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "quality_score_cv_folds.json"
SEED = 16


def load_dev(data: Path) -> tuple[list[str], np.ndarray]:
    with (data / DEV_SET).open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows])


def threshold_for(scores: np.ndarray, labels: np.ndarray, target_good_kept: float) -> float:
    """The highest threshold keeping at least ``target_good_kept`` of the good pages (best precision there)."""
    good = np.sort(scores[labels == 1])[::-1]
    return float(good[max(0, int(np.ceil(target_good_kept * len(good))) - 1)])


def fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y)
    return mean, scale, model.coef_[0], float(model.intercept_[0])


def predict(params, x: np.ndarray) -> np.ndarray:
    mean, scale, coef, intercept = params
    return 1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ coef + intercept)))


def cross_validate(x, y, c: float, target: float, repeats: int) -> dict:
    from sklearn.model_selection import StratifiedKFold

    aucs, oof_first, folds = [], None, []
    for repeat in range(repeats):
        oof = np.zeros(len(y))
        kept = np.zeros(len(y), dtype=bool)
        for fold, (train, test) in enumerate(
                StratifiedKFold(5, shuffle=True, random_state=SEED + repeat).split(x, y)):
            params = fit(x[train], y[train], c)
            threshold = threshold_for(predict(params, x[train]), y[train], target)
            oof[test] = predict(params, x[test])
            kept[test] = oof[test] >= threshold
            aucs.append(roc_auc(y[test].tolist(), oof[test].tolist()))
            if repeat == 0:
                folds.append({"fold": fold, "test_rows": test.tolist(), "threshold": threshold,
                              "mean": params[0].tolist(), "scale": params[1].tolist(),
                              "coef": params[2].tolist(), "intercept": params[3]})
        if repeat == 0:
            oof_first, kept_first = oof, kept
    good_kept = float(kept_first[y == 1].mean())
    precision = float(y[kept_first].mean())
    return {"fold_auc_mean": round(float(np.mean(aucs)), 4), "fold_auc_std": round(float(np.std(aucs)), 4),
            "folds": len(aucs), "oof_auc_first_repeat": round(roc_auc(y.tolist(), oof_first.tolist()), 4),
            "oof_at_threshold": {"good_kept": round(good_kept, 4), "precision": round(precision, 4),
                                 "low_quality_kept": round(float(kept_first[y == 0].mean()), 4)},
            "fold_models": folds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--classifiers", nargs="*", default=["quality_classifier.ftz"],
                        help="fastText models in filters/ whose scores are features")
    parser.add_argument("--c", type=float, default=0.1, help="inverse L2 strength of the logistic regression")
    parser.add_argument("--target-good-kept", type=float, default=0.84,
                        help="threshold rule: keep at least this share of good pages (0.84 leaves room over 0.80 out-of-fold)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compare-c", action="store_true", help="print the CV AUC for a few C values and stop")
    args = parser.parse_args()
    if not (args.data / DEV_SET).is_file():
        sys.exit(f"{args.data / DEV_SET} not found")
    texts, y = load_dev(args.data)
    classifiers, scores = {}, {}
    for file_name in args.classifiers:
        name = file_name.rsplit(".", 1)[0]
        path = REPO_ROOT / "filters" / file_name
        classifiers[name] = {"model": file_name, "sha256": file_sha256(path), "positive_label": "hq",
                             "max_chars": 10_000}
        scores[name] = score_texts(load_model(path), texts)
    features = tuple(RULE_FEATURES) + tuple(f"{CLASSIFIER_PREFIX}{name}" for name in classifiers)
    x = feature_matrix(features, texts, ["en"] * len(texts), scores)
    if args.compare_c:
        for c in (0.03, 0.1, 0.3, 1.0, 3.0):
            cv = cross_validate(x, y, c, args.target_good_kept, args.repeats)
            print(f"C={c}: CV AUC {cv['fold_auc_mean']} +- {cv['fold_auc_std']}, OOF {cv['oof_at_threshold']}")
        return
    cv = cross_validate(x, y, args.c, args.target_good_kept, args.repeats)
    fold_models = cv.pop("fold_models")
    params = fit(x, y, args.c)
    threshold = threshold_for(predict(params, x), y, args.target_good_kept)
    single = {f: round(roc_auc(y.tolist(), x[:, j].tolist()), 4) for j, f in enumerate(features)}
    report = {
        "data": {"path": f"../shared/data/{DEV_SET}", "sha256": file_sha256(args.data / DEV_SET),
                 "documents": len(y), "good": int(y.sum()), "low_quality": int(len(y) - y.sum()),
                 "language": "en"},
        "model": f"logistic regression, L2, C={args.c}, standardised features (scikit-learn "
                 f"{__import__('sklearn').__version__})",
        "cross_validation": {"scheme": f"stratified 5-fold x {args.repeats} repeats, seeds {SEED}..",
                             **cv, "threshold_rule": f"highest score keeping >= {args.target_good_kept:.0%} of "
                                                     "the good pages, chosen inside each training fold"},
        "threshold_rule": f"fitted on all pages: highest score keeping >= {args.target_good_kept:.0%} of good pages",
        "single_feature_auc": single,
        "command": "PYTHONPATH=. .venv/bin/python scripts/fit_quality_score.py",
    }
    model = {"features": list(features), "mean": params[0].tolist(), "scale": params[1].tolist(),
             "coef": params[2].tolist(), "intercept": params[3], "threshold": round(threshold, 6),
             "languages": ["en"], "classifiers": classifiers, "report": report}
    args.output.write_text(json.dumps(model, indent=1) + "\n")
    FOLDS_OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    FOLDS_OUTPUT.write_text(json.dumps({"features": list(features), "classifiers": classifiers,
                                        "data_sha256": report["data"]["sha256"], "folds": fold_models}) + "\n")
    print(json.dumps({"cv": cv, "threshold": threshold}, indent=1))


if __name__ == "__main__":
    main()
