"""Quality heuristics: curator vs datatrove 0.10.1, same documents, same core, one process each.

Documents: trafilatura-eval WET-like pages (1033, mostly German/English web pages with boilerplate) and every
SpamAssassin message (6046, raw RFC-822 with headers) from ../shared/data.

For each rule family (Gopher quality, Gopher repetition, C4, C4 without the terminal-punctuation rule as FineWeb uses
it, FineWeb) both implementations decide every document independently, from the original text. The script prints
the keep/drop agreement per family, and explains every disagreement by re-running our rule with datatrove's own
spaCy word tokens: a disagreement that then disappears is caused by word splitting alone (our regex splitter vs
spaCy), which is a ratio landing on the other side of a threshold. Throughput is measured with all four families
evaluated per document (no early exit), in one process, on the same core.

A last section scores the quality stage against human judgement: DCLM's 499 Common Crawl pages with majority
good/low-quality labels (../shared/data/dclm-quality-dev): ROC AUC of document length, of both fastText classifiers
and of the calibrated quality score (out-of-fold: it was fitted on these pages), and the share of good and
low-quality pages each recipe keeps (web_en before and after #16, every pipelines/*.yaml with a quality stage),
beside a plain length cut keeping the same share of good pages.

Run: .venv/bin/python benchmarks/bench_quality.py [--limit N] [--human-labels-only]
Needs: pip install datatrove==0.10.1 (the `bench` extra).
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import Counter
from pathlib import Path

from curator.quality.filters.c4 import C4Filter
from curator.quality.filters.fineweb import FineWebFilter
from curator.quality.filters.gopher_quality import GopherQualityFilter
from curator.quality.filters.gopher_repetition import GopherRepetitionFilter
from curator.quality.heuristics import TextView


DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def load_documents(limit: int | None) -> list[tuple[str, str]]:
    docs = []
    with gzip.open(DATA / "trafilatura-eval" / "trafilatura_wetlike.jsonl.gz", "rt", errors="replace") as f:
        for line in f:
            row = json.loads(line)
            docs.append((f"web/{row['file']}", row["text"]))
    with gzip.open(DATA / "spamassassin" / "spamassassin.jsonl.gz", "rt", errors="replace") as f:
        for line in f:
            row = json.loads(line)
            docs.append((f"mail/{row['group']}/{row['id']}", row["text"]))
    docs = [(i, t) for i, t in docs if t and t.strip()]
    if limit and limit < len(docs):
        step = len(docs) / limit  # evenly spread, so web pages, ham and spam are all represented
        docs = [docs[int(i * step)] for i in range(limit)]
    return docs


FAMILIES = {
    "gopher_quality": GopherQualityFilter(),
    "gopher_repetition": GopherRepetitionFilter(),
    "c4": C4Filter(),
    "c4_fineweb_variant": C4Filter(drop_lines_without_terminal_punct=False),
    "fineweb": FineWebFilter(),
}


def datatrove_filters():
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    return {
        "gopher_quality": GopherQualityFilter(),
        "gopher_repetition": GopherRepetitionFilter(),
        "c4": C4QualityFilter(),
        "c4_fineweb_variant": C4QualityFilter(filter_no_terminal_punct=False),
        "fineweb": FineWebQualityFilter(),
    }


def datatrove_decide(filt, doc_id: str, text: str) -> str | None:
    """None = kept, else datatrove's reason."""
    from datatrove.data import Document

    result = filt.filter(Document(text=text, id=doc_id))  # a fresh Document: C4 rewrites doc.text
    if result is True or result == (True, None):
        return None
    return result[1] if isinstance(result, tuple) else "dropped"


def ours_decide(family, text: str) -> str | None:
    return family.evaluate(TextView(text, "en")).reason


class SpacyWordsView(TextView):
    """Our rules, fed datatrove's spaCy word tokens instead of our regex split."""

    def __init__(self, text: str):
        super().__init__(text, "en")
        from datatrove.utils.text import split_into_words

        self._words = list(split_into_words(text))


def explain(name: str, family, doc_id: str, text: str, theirs: str | None) -> str:
    """Why our decision differs from datatrove's on one document."""
    if name.startswith("c4"):
        # C4 counts sentences per kept line with spaCy's sentencizer: substitute it for our token-based count.
        from datatrove.utils.text import split_into_sentences

        import curator.quality.filters.c4 as h

        saved = h.split_words, h.count_sentences
        h.split_words = lambda line: line
        h.count_sentences = lambda line: len(split_into_sentences(line)) if line else 0
        try:
            again = family.evaluate(TextView(text, "en")).reason
        finally:
            h.split_words, h.count_sentences = saved
    else:
        again = family.evaluate(SpacyWordsView(text)).reason
    if (again is None) == (theirs is None):
        return "tokenization"
    return f"other (ours with spaCy words: {again}, datatrove: {theirs})"


def agreement(docs, dt_filters) -> dict:
    report = {}
    for name, family in FAMILIES.items():
        filt = dt_filters[name]
        agree = 0
        causes: Counter = Counter()
        examples = []
        for doc_id, text in docs:
            theirs = datatrove_decide(filt, doc_id, text)
            ours = ours_decide(family, text)
            if (theirs is None) == (ours is None):
                agree += 1
                continue
            cause = explain(name, family, doc_id, text, theirs)
            causes[cause.split(" (")[0]] += 1
            if len(examples) < 5 or not cause.startswith("tokenization"):
                examples.append(f"{doc_id}: ours={ours} datatrove={theirs} -> {cause}")
        report[name] = {"agree": agree, "n": len(docs), "causes": dict(causes), "examples": examples}
    return report


def time_ours(docs) -> float:
    families = [FAMILIES[n] for n in ("gopher_repetition", "gopher_quality", "c4", "fineweb")]
    start = time.perf_counter()
    for _, text in docs:
        view = TextView(text, "en")
        for family in families:
            family.evaluate(view)
    return time.perf_counter() - start


def time_datatrove(docs, dt_filters) -> float:
    from datatrove.data import Document

    filters = [dt_filters[n] for n in ("gopher_repetition", "gopher_quality", "c4", "fineweb")]
    start = time.perf_counter()
    for doc_id, text in docs:
        for filt in filters:
            filt.filter(Document(text=text, id=doc_id))
    return time.perf_counter() - start


def time_stage(docs) -> float:
    """Our QualityStage.process_batch as the pipeline runs it (first failure stops, Arrow in and out)."""
    import pyarrow as pa

    from curator.quality.stage import QualityConfig, QualityStage

    stage = QualityStage(QualityConfig(language="en"))
    stage._ensure_setup()
    batch = pa.RecordBatch.from_pylist([{"id": i, "text": t, "source": None, "url": None, "meta": None}
                                        for i, t in docs])
    start = time.perf_counter()
    for offset in range(0, batch.num_rows, 1000):
        stage.process_batch(batch.slice(offset, 1000))
    return time.perf_counter() - start


# -- human labels ---------------------------------------------------------------------------------------------------

HUMAN_LABELS = DATA / "dclm-quality-dev" / "majority_data.jsonl"
CV_FOLDS = Path(__file__).resolve().parent / "results" / "quality_score_cv_folds.json"
REPO = Path(__file__).resolve().parent.parent
# web_en's quality stage before issue #16 (rules + the general classifier at 0.2), kept here for comparison.
WEB_EN_BEFORE_16 = {
    "filters": ["gopher_repetition", "gopher_quality", {"use": "c4", "drop_lines_without_terminal_punct": False},
                "fineweb"],
    "classifier": {"model": "quality_classifier", "min_score": 0.2, "languages": ["en", "de"]},
}


def load_human_labels() -> list[tuple[str, int]]:
    """DCLM's 499 Common Crawl pages with majority human labels (1 = good)."""
    with HUMAN_LABELS.open() as f:
        return [(row["text"], int(row["label"])) for row in map(json.loads, f)]


def quality_entry(pipeline: str) -> dict | None:
    import yaml

    spec = yaml.safe_load((REPO / "pipelines" / pipeline).read_text())
    return next(({k: v for k, v in s.items() if k != "stage"} for s in spec["stages"] if s["stage"] == "quality"),
                None)


def stage_keeps(entry: dict, texts: list[str]) -> list[bool]:
    """Which documents a quality stage configured by ``entry`` keeps (documents labelled English, as langid would)."""
    import pyarrow as pa

    from curator.quality.stage import QualityConfig, QualityStage

    stage = QualityStage(QualityConfig.model_validate({**entry, "language": "en"}))
    stage.setup()
    batch = pa.RecordBatch.from_pylist([{"id": str(i), "text": t} for i, t in enumerate(texts)])
    return [reason is None for reason in stage.process_batch(batch).column("reason").to_pylist()]


def fold_score_models(tmp: Path) -> list[tuple[list[int], Path]]:
    """The cross-validation fold models of scripts/fit_quality_score.py as score model files: (test rows, path)."""
    folds = json.loads(CV_FOLDS.read_text())
    shipped = json.loads((REPO / "filters" / "quality_score.json").read_text())
    out = []
    for fold in folds["folds"]:
        model = {"features": folds["features"], "mean": fold["mean"], "scale": fold["scale"], "coef": fold["coef"],
                 "intercept": fold["intercept"], "threshold": fold["threshold"], "languages": shipped["languages"],
                 "classifiers": {name: {**spec, "model": str(REPO / "filters" / spec["model"])}
                                 for name, spec in folds["classifiers"].items()}}
        path = tmp / f"fold{fold['fold']}.json"
        path.write_text(json.dumps(model))
        out.append((fold["test_rows"], path))
    return out


def out_of_fold_keeps(entry: dict, texts: list[str], folds) -> list[bool]:
    """A recipe with a ``score`` run fold by fold: each page is judged by the fold model that never saw it (and
    that fold's own threshold, unless the recipe fixes min_score)."""
    keeps = [False] * len(texts)
    for rows, path in folds:
        fold_entry = {**entry, "score": {**entry["score"], "model": str(path)}}
        for row, kept in zip(rows, stage_keeps(fold_entry, [texts[r] for r in rows])):
            keeps[row] = kept
    return keeps


def out_of_fold_scores(texts: list[str], folds) -> list[float]:
    from curator.quality.classifier import load_model, score_texts
    from curator.quality.score import QualityScoreModel, feature_matrix

    scores = [0.0] * len(texts)
    for rows, path in folds:
        model = QualityScoreModel.load(path)
        subset = [texts[r] for r in rows]
        classifier_scores = {name: score_texts(load_model(spec.model), subset, spec.positive_label, spec.max_chars)
                             for name, spec in model.classifiers.items()}
        probabilities = model.probabilities(feature_matrix(model.features, subset, ["en"] * len(subset),
                                                           classifier_scores))
        for row, p in zip(rows, probabilities.tolist()):
            scores[row] = p
    return scores


def human_label_section() -> None:
    import tempfile

    from curator.quality.classifier import load_model, roc_auc, score_texts

    rows = load_human_labels()
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    lengths = [len(t) for t in texts]
    shipped = json.loads((REPO / "filters" / "quality_score.json").read_text())
    cv = shipped["report"]["cross_validation"]
    n_good, n_bad = sum(labels), len(labels) - sum(labels)
    print(f"\nhuman labels: {len(rows)} Common Crawl pages (DCLM majority labels: {n_good} good, {n_bad} low "
          "quality). The classifiers never saw them; the quality score was fitted on them, so every figure of a "
          "recipe with `score` is out-of-fold (5 folds, each page judged by the fold model fitted without it, "
          "at that fold's own threshold)\n")
    print("| score | ROC AUC vs human labels |\n|---|---|")
    print(f"| document length in characters (baseline) | {roc_auc(labels, lengths):.3f} |")
    for name in ("quality_classifier", "quality_instruct_en"):
        scores = score_texts(load_model(REPO / "filters" / f"{name}.ftz"), texts)
        print(f"| {name}.ftz (fastText) | {roc_auc(labels, scores):.3f} |")
    with tempfile.TemporaryDirectory() as tmp:
        folds = fold_score_models(Path(tmp))
        print(f"| quality_score, out-of-fold (5 folds) | {roc_auc(labels, out_of_fold_scores(texts, folds)):.3f} |")
        print(f"| quality_score, mean over {cv['folds']} CV folds (5-fold x 5, from filters/quality_score.json) | "
              f"{cv['fold_auc_mean']:.3f} ± {cv['fold_auc_std']:.3f} |")

        web_en = quality_entry("web_en.yaml")
        rules_only = {k: v for k, v in WEB_EN_BEFORE_16.items() if k != "classifier"}
        recipes = {
            "web_en.yaml before #16: rules + classifier >= 0.2": WEB_EN_BEFORE_16,
            "web_en.yaml before #16, rules only": rules_only,
            "quality_score alone (no rules)": {"filters": [], "score": {"model": "quality_score"}},
            "all four rule families + quality_score": {**rules_only, "score": {"model": "quality_score"}},
            "Gopher families + quality_score": {"filters": ["gopher_repetition", "gopher_quality"],
                                                "score": {"model": "quality_score"}},
            "Gopher families + FineWeb line punctuation + quality_score": {
                "filters": ["gopher_repetition", "gopher_quality",
                            {"use": "fineweb", "max_short_line_ratio": None, "max_char_dup_ratio": None,
                             "max_newline_word_ratio": None}],
                "score": {"model": "quality_score"}},
            "**web_en.yaml now**": web_en,
        }
        for pipeline in sorted(p.name for p in (REPO / "pipelines").glob("*.yaml")):
            entry = quality_entry(pipeline)
            if entry is not None and pipeline != "web_en.yaml":
                recipes[f"{pipeline}"] = entry
        print("\n| recipe | good kept | low-quality kept | precision | length cut at the same good kept: precision |")
        print("|---|---|---|---|---|")
        for name, recipe in recipes.items():
            recipe = {k: v for k, v in recipe.items() if k not in ("language",)}
            oof = "score" in recipe
            keeps = out_of_fold_keeps(recipe, texts, folds) if oof else stage_keeps(recipe, texts)
            good = sum(1 for k, y in zip(keeps, labels) if k and y)
            bad = sum(1 for k, y in zip(keeps, labels) if k and not y)
            precision = good / (good + bad) if good + bad else float("nan")
            baseline = length_cut_precision(lengths, labels, good / n_good) if good else float("nan")
            label = f"{name} (out-of-fold)" if oof else name
            print(f"| {label} | {good / n_good:.1%} ({good}/{n_good}) | {bad / n_bad:.1%} ({bad}/{n_bad}) | "
                  f"{precision:.3f} | {baseline:.3f} |")
        stage_cost(texts, {"web_en.yaml before #16 (rules + classifier)": WEB_EN_BEFORE_16,
                           "web_en.yaml now, without its score": {k: v for k, v in web_en.items() if k != "score"},
                           "web_en.yaml now (rules + score)": web_en})


def stage_cost(texts: list[str], recipes: dict[str, dict], repeats: int = 3) -> None:
    """docs/s of QualityStage.process_batch per recipe on the same pages, one process (the score's price)."""
    import pyarrow as pa

    from curator.quality.stage import QualityConfig, QualityStage

    batch = pa.RecordBatch.from_pylist([{"id": str(i), "text": t} for i, t in enumerate(texts)])
    print("\n| quality stage recipe (same 499 pages, one process) | docs/s | vs the first row |\n|---|---|---|")
    first = None
    for name, entry in recipes.items():
        stage = QualityStage(QualityConfig.model_validate({**entry, "language": "en"}))
        stage.setup()
        stage.process_batch(batch.slice(0, 20))  # warm-up: model loads, regex compilation
        start = time.perf_counter()
        for _ in range(repeats):
            stage.process_batch(batch)
        rate = repeats * len(texts) / (time.perf_counter() - start)
        first = first or rate
        print(f"| {name} | {rate:.0f} | {rate / first:.2f}x |")


def length_cut_precision(lengths: list[int], labels: list[int], good_kept: float) -> float:
    """Precision of keeping the longest documents, with the cut placed to keep the same share of good ones."""
    good = sorted((n for n, y in zip(lengths, labels) if y), reverse=True)
    cut = good[max(0, round(good_kept * len(good)) - 1)]
    kept = [y for n, y in zip(lengths, labels) if n >= cut]
    return sum(kept) / len(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="use N documents spread evenly over the set")
    parser.add_argument("--human-labels-only", action="store_true",
                        help="only the section against human labels (../shared/data/dclm-quality-dev)")
    args = parser.parse_args()
    if args.human_labels_only:
        human_label_section()
        return
    docs = load_documents(args.limit)
    dt = datatrove_filters()
    # warm-up: spaCy pipeline construction and regex compilation are not throughput
    for doc_id, text in docs[:20]:
        for filt in dt.values():
            filt.filter(__import__("datatrove.data", fromlist=["Document"]).Document(text=text, id=doc_id))
    n_chars = sum(len(t) for _, t in docs)
    print(f"documents: {len(docs)} ({n_chars / 1e6:.1f}M chars): trafilatura-eval pages + spamassassin messages\n")

    report = agreement(docs, dt)
    print(f"{'family':<22}{'agree':>8}{'of':>7}{'agreement':>11}   disagreements by cause")
    for name, r in report.items():
        print(f"{name:<22}{r['agree']:>8}{r['n']:>7}{r['agree'] / r['n']:>10.2%}   {r['causes'] or '-'}")
    print("\ndisagreement examples (all 'other' causes are listed):")
    for name, r in report.items():
        for line in r["examples"]:
            print(f"  [{name}] {line}")

    dt_seconds = time_datatrove(docs, dt)
    ours_seconds = time_ours(docs)
    stage_seconds = time_stage(docs)
    print("\nthroughput, one process, 4 families per document (gopher_repetition, gopher_quality, c4, fineweb):")
    print(f"{'implementation':<44}{'seconds':>9}{'docs/s':>10}{'vs datatrove':>14}")
    for label, secs in (("datatrove 0.10.1 (spaCy word tokenizer)", dt_seconds),
                        ("curator heuristics (all families, no exit)", ours_seconds),
                        ("curator QualityStage.process_batch", stage_seconds)):
        print(f"{label:<44}{secs:>9.2f}{len(docs) / secs:>10.1f}{dt_seconds / secs:>13.2f}x")
    if HUMAN_LABELS.is_file():
        human_label_section()


if __name__ == "__main__":
    main()
