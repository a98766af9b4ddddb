"""One calibrated quality score: a logistic regression over fastText classifier scores and the rule families' signals.

The model is data (``filters/quality_score.json``, fitted by ``scripts/fit_quality_score.py``): feature names,
standardisation constants, coefficients, intercept, the threshold chosen on human labels, the fastText models whose
scores it reads (with their SHA-256), the languages it was fitted for and its cross-validation report. Applying it
needs numpy only.

Features are measured on the text by the rule families at their published defaults (independent of which rules a
pipeline switches on), so a score means the same thing in every pipeline:

- ``log_chars``, ``log_words``, ``log_sentences``, ``log_chars_per_line``: sizes, on a log scale;
- ``stop_word_ratio``: Gopher's stop words per word; ``punct_line_char_share`` and ``long_line_char_share``: the share
  of characters in lines ending in punctuation / holding 10 words or more; ``capitalised_word_ratio``;
  ``digit_char_ratio``; the other Gopher quality, Gopher repetition and FineWeb signals
  as the families measure them (``gopher_alpha_words_ratio``, ``fineweb_line_punct_ratio``, ...);
- ``classifier:<name>``: the logit of a fastText model's positive-class probability.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np
from pydantic import Field, model_validator

from curator.config import StrictConfig
from curator.errors import CuratorError
from curator.hashing import file_sha256
from curator.quality.heuristics import TextView


CLASSIFIER_PREFIX = "classifier:"
# Signals used as they are (the families' own names); everything else is derived in rule_features().
PLAIN_SIGNALS = (
    "gopher_mean_word_length", "gopher_hash_ratio", "gopher_ellipsis_ratio", "gopher_bullet_lines_ratio",
    "gopher_ellipsis_lines_ratio", "gopher_alpha_words_ratio",
    "gopher_dup_para_frac", "gopher_dup_para_char_frac", "gopher_dup_line_frac", "gopher_dup_line_char_frac",
    "gopher_top_2_gram_char_frac", "gopher_top_3_gram_char_frac", "gopher_top_4_gram_char_frac",
    "gopher_dup_5_gram_char_frac", "gopher_dup_10_gram_char_frac",
    "c4_kept_lines_frac",
    "fineweb_line_punct_ratio", "fineweb_short_line_ratio", "fineweb_char_dup_ratio", "fineweb_newline_word_ratio",
)
DERIVED = ("log_chars", "log_words", "log_sentences", "log_chars_per_line", "stop_word_ratio",
           "punct_line_char_share", "long_line_char_share", "capitalised_word_ratio", "digit_char_ratio")
LONG_LINE_WORDS = 10
_LINE_END_PUNCT = frozenset(".!?\"'”’)")
RULE_FEATURES = DERIVED + PLAIN_SIGNALS
_LOGIT_EPS = 1e-4


MEASURED_FAMILIES = ("gopher_quality", "gopher_repetition", "c4", "fineweb")


def _families():
    """The four rule families at their defaults, as measuring instruments (built once per process)."""
    global _FAMILY_CACHE
    if _FAMILY_CACHE is None:
        from curator.quality.filters import build_filter

        # gopher_repetition: only the duplicate n-gram sizes the features read (5 and 10; each size is a pass over
        # the words). Values equal the default family's: if no 9-gram repeats, no 10-gram does.
        overrides = {"gopher_repetition": {"max_dup_ngram_char_frac": {5: 0.15, 10: 0.1}}}
        _FAMILY_CACHE = {name: build_filter({"family": name, **overrides.get(name, {})})
                         for name in MEASURED_FAMILIES}
    return _FAMILY_CACHE


_FAMILY_CACHE = None


def reusable_families(configured, languages: Sequence[str]) -> frozenset[str]:
    """Names of configured rule families that measure pages in ``languages`` exactly as the instruments do.

    The quality stage passes their signals (measured while deciding, on the text as it arrived) to
    :func:`rule_features`, so a page is not measured twice. Thresholds that are set do not change a measurement,
    but every field is compared anyway except ``skip_languages`` (the stage handles skipping) and stop-word lists of
    other languages."""
    from curator.quality.filters import build_filter

    def measurement(family) -> dict:
        fields = family.model_dump()
        fields.pop("skip_languages", None)
        if "stop_words" in fields:
            fields["stop_words"] = {lang: fields["stop_words"].get(lang) for lang in languages}
        return fields

    return frozenset(f.family for f in configured if f.family in MEASURED_FAMILIES
                     and measurement(f) == measurement(build_filter({"family": f.family})))


def rule_features(text: str, lang: str | None, view: TextView | None = None,
                  measured: dict[str, dict[str, float]] | None = None) -> dict[str, float]:
    """Every rule feature of one document (missing signals, e.g. stop words of a language without a list, are 0).

    ``view``: the document's TextView if the caller has one (its word split is reused). ``measured``: signals a
    family configured as in :func:`reusable_families` already measured on this text, by family name."""
    if view is None or view.text != text:
        view = TextView(text, lang)
    signals: dict[str, float] = {}
    for name, family in _families().items():
        if measured and name in measured:
            signals.update(measured[name])
        else:
            signals.update(family.evaluate(view, collect_all=True).signals)
    words = float(signals.get("gopher_words", len(view.words)))
    lines = [line.strip() for line in view.lines if line.strip()]
    line_chars = sum(map(len, lines)) or 1
    letter_words = [w for w in view.words if w[0].isalpha()]
    features = {
        "log_chars": math.log1p(len(text)),
        "log_words": math.log1p(words),
        "log_sentences": math.log1p(float(signals.get("c4_sentences", 0.0))),
        "log_chars_per_line": math.log1p(len(text) / max(1, len(lines))),
        "stop_word_ratio": float(signals.get("gopher_stop_words", 0.0)) / words if words else 0.0,
        # Character-weighted line measures: a page of prose with a few menu lines is still prose.
        "punct_line_char_share": sum(len(line) for line in lines if line[-1] in _LINE_END_PUNCT) / line_chars,
        "long_line_char_share": sum(len(line) for line in lines
                                    if len(line.split()) >= LONG_LINE_WORDS) / line_chars,
        # Menus, listings and headline lists are Title Case; running prose is mostly lowercase words.
        "capitalised_word_ratio": (sum(1 for w in letter_words if w[0].isupper()) / len(letter_words)
                                   if letter_words else 0.0),
        "digit_char_ratio": sum(map(str.isdigit, text)) / len(text) if text else 0.0,
    }
    for name in PLAIN_SIGNALS:
        value = float(signals.get(name, 0.0))
        features[name] = value if math.isfinite(value) else 0.0
    return features


def classifier_logit(probability: float) -> float:
    p = min(max(float(probability), _LOGIT_EPS), 1.0 - _LOGIT_EPS)
    return math.log(p / (1.0 - p))


def feature_matrix(features: Sequence[str], texts: Sequence[str], langs: Sequence[str | None],
                   classifier_scores: dict[str, Sequence[float]],
                   views: Sequence[TextView | None] | None = None,
                   measured: Sequence[dict[str, dict[str, float]] | None] | None = None) -> np.ndarray:
    """Rows = documents, columns = ``features`` in order; ``classifier_scores[name]`` are probabilities per text;
    ``views`` and ``measured``: per document, what the caller already has (see :func:`rule_features`)."""
    matrix = np.zeros((len(texts), len(features)), dtype=np.float64)
    needs_rules = any(not f.startswith(CLASSIFIER_PREFIX) for f in features)
    views = views or [None] * len(texts)
    measured = measured or [None] * len(texts)
    for i, (text, lang) in enumerate(zip(texts, langs)):
        values = rule_features(text, lang, views[i], measured[i]) if needs_rules else {}
        for j, name in enumerate(features):
            if name.startswith(CLASSIFIER_PREFIX):
                matrix[i, j] = classifier_logit(classifier_scores[name[len(CLASSIFIER_PREFIX):]][i])
            else:
                matrix[i, j] = values[name]
    return matrix


class ClassifierInput(StrictConfig):
    """A fastText model whose score is a feature: a file in filters/ and the SHA-256 the score was fitted with."""

    model: str = Field(description="file name in filters/ (or a path)")
    sha256: str
    positive_label: str = "hq"
    max_chars: int = Field(10_000, gt=0)


class QualityScoreModel(StrictConfig):
    """A fitted logistic regression over standardised features (the contents of filters/quality_score.json)."""

    features: tuple[str, ...] = Field(min_length=1)
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float = Field(ge=0.0, le=1.0, description="the min_score chosen on human labels")
    languages: tuple[str, ...] = Field(min_length=1, description="languages it was fitted for")
    classifiers: dict[str, ClassifierInput] = Field(default_factory=dict)
    report: dict = Field(default_factory=dict, description="how it was fitted: data, cross-validation, threshold")

    @model_validator(mode="after")
    def _consistent(self):
        n = len(self.features)
        for name in ("mean", "scale", "coef"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} values for {n} features")
        if any(s <= 0 for s in self.scale):
            raise ValueError("scale values must be positive")
        unknown = [f for f in self.features if not f.startswith(CLASSIFIER_PREFIX) and f not in RULE_FEATURES]
        if unknown:
            raise ValueError(f"unknown features {unknown}; rule features are {list(RULE_FEATURES)}")
        missing = {f[len(CLASSIFIER_PREFIX):] for f in self.features if f.startswith(CLASSIFIER_PREFIX)} - set(
            self.classifiers)
        if missing:
            raise ValueError(f"features read classifiers {sorted(missing)} that 'classifiers' does not name")
        return self

    @classmethod
    def load(cls, path: str | Path) -> "QualityScoreModel":
        path = Path(path)
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as e:
            raise CuratorError(f"cannot read quality score model {path}: {e}") from None

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        z = (matrix - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.coef) + self.intercept)))

    def classifier_paths(self, folder: Path) -> dict[str, Path]:
        """Each classifier's file (a path, or a name next to the score file or in filters/), checked against the
        SHA-256 the score was fitted with."""
        from curator.specs import REPO_ROOT

        paths = {}
        for name, spec in self.classifiers.items():
            candidates = [Path(spec.model)] if Path(spec.model).is_absolute() else [
                folder / spec.model, REPO_ROOT / "filters" / spec.model]
            path = next((c for c in candidates if c.is_file()), None)
            if path is None:
                raise ValueError(f"classifier {name!r}: model file not found (looked for "
                                 f"{', '.join(map(str, candidates))})")
            digest = file_sha256(path)
            if digest != spec.sha256:
                raise ValueError(f"classifier {name!r}: {path} has sha256 {digest}, the score was fitted with "
                                 f"{spec.sha256}; refit the score (scripts/fit_quality_score.py)")
            paths[name] = path.resolve()
        return paths
