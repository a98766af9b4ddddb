"""quality: heuristic rule families (Gopher quality/repetition, C4, FineWeb) and a fastText quality classifier.

Configured in a pipeline spec as::

    - stage: quality
      filters: [gopher_repetition, gopher_quality, c4, fineweb]   # filters/<name>.yaml, applied in this order
      classifier: {model: quality_classifier, min_score: 0.25, languages: [en]}
      score: {model: quality_score}          # filters/quality_score.json; min_score defaults to its fitted threshold
      keep_signals: false

Filter names are resolved to ``filters/*.yaml`` and validated on the driver into the frozen rule-family objects of
``curator.quality.filters`` (one class per family, registered by name), which are what travel to executors. A filter
entry may also be ``{use: NAME, <overrides>}`` or an inline mapping with a ``family`` key. The classifier model is resolved to an absolute path and its SHA-256 is part of the config (so a
retrained model invalidates the stage's completion marker).

Language: rules such as stop words depend on the document's language, taken from the ``lang`` column (the langid
stage) or, for documents without one, from the stage's ``language`` option; a pipeline with quality before langid must
set ``language`` (validated with the spec), and a batch with neither is an error, never assumed English.

Score: the optional ``score`` is one calibrated probability of "good" (``curator.quality.score``): a logistic
regression, fitted on human labels, over the rule families' signals and fastText classifier scores, measured on the
document as it arrived. It is written to ``quality_score`` (the classifier's own probability then moves to
``quality_classifier_score``) and documents below ``min_score`` are rejected as ``low_quality_score``. It applies to the
languages it was fitted for; others skip it (``score`` in ``quality_skipped``).

Decisions: the first failing rule rejects a document with that rule's reason; then the classifier, then the score.
Documents whose ``lang`` (from the langid stage) is listed in a family's ``skip_languages``, or has no stop-word list,
skip that rule or family; the ``quality_skipped`` column names what was skipped, so no language is rejected silently by
rules written for another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import BaseModel, Field, SerializeAsAny, field_validator, model_validator

from curator.config import StrictConfig
from curator.errors import SpecError
from curator.hashing import file_sha256
from curator.quality.filters import QualityFilter, build_filter, builtin_reasons
from curator.quality.heuristics import TextView
from curator.quality.score import QualityScoreModel
from curator.stage import BatchStage, StageConfig, finish_batch


DEFAULT_FILTERS = ("gopher_repetition", "gopher_quality", "c4", "fineweb")
EMPTY_REASON = "quality_empty_doc"
CLASSIFIER_REASON = "quality_classifier_low_score"
SCORE_REASON = "low_quality_score"


def load_filter_entry(entry: Any) -> dict:
    """A filter entry from a spec (name, path, ``{use: name, ...overrides}`` or inline mapping) as a plain dict."""
    from curator.specs import load_yaml, resolve_spec_file

    if isinstance(entry, BaseModel):
        return entry.model_dump()
    if isinstance(entry, str):
        return load_yaml(resolve_spec_file(entry, "filters"))
    if isinstance(entry, dict) and "use" in entry:
        overrides = {k: v for k, v in entry.items() if k != "use"}
        return {**load_yaml(resolve_spec_file(entry["use"], "filters")), **overrides}
    if isinstance(entry, dict):
        return entry
    raise ValueError(f"a filter is a name, a path or a mapping, got {entry!r}")


class ClassifierConfig(StrictConfig):
    """The fastText quality classifier and how its score decides."""

    model: str = Field("quality_classifier", description="a .ftz/.bin path, or a model name in filters/")
    model_sha256: str | None = Field(None, description="filled in on the driver from the model file")
    positive_label: str = "hq"
    keep: Literal["threshold", "pareto"] = Field(
        "threshold", description="threshold: keep if score >= min_score; pareto: GPT-3 stochastic keep")
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    pareto_alpha: float = Field(9.0, gt=0.0)
    seed: int = 0
    languages: tuple[str, ...] | None = Field(
        None, description="score only these `lang` values; others skip the classifier (recorded); null = the "
                          "languages its training report (<model>.json) declares, or all if it declares none")
    max_chars: int = Field(10_000, gt=0)

    @model_validator(mode="after")
    def _resolve_model(self):
        path = Path(self.model)
        if not path.is_file():
            from curator.specs import REPO_ROOT

            candidates = [REPO_ROOT / "filters" / f"{self.model}{suffix}" for suffix in (".ftz", ".bin")]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise ValueError(f"classifier model {self.model!r} not found (looked for {path} and "
                                 f"{', '.join(map(str, candidates))})")
            path = found
        digest = file_sha256(path)
        if self.model_sha256 is not None and self.model_sha256 != digest:
            raise ValueError(f"classifier model {path} changed: sha256 {digest} != {self.model_sha256}")
        object.__setattr__(self, "model", str(path.resolve()))
        object.__setattr__(self, "model_sha256", digest)
        if self.languages is None:
            # A model trained on one language (quality_instruct_en) must not judge others by default.
            declared = _declared_languages(Path(f"{path}.json"))
            if declared is not None:
                object.__setattr__(self, "languages", declared)
        return self


def _declared_languages(report: Path) -> tuple[str, ...] | None:
    """The ``languages`` a classifier's training report (``<model>.json``) declares, if any."""
    if not report.is_file():
        return None
    try:
        languages = json.loads(report.read_text(encoding="utf-8")).get("languages")
    except (OSError, ValueError, AttributeError):
        return None
    return tuple(languages) if isinstance(languages, list) and languages else None


class ScoreConfig(StrictConfig):
    """The calibrated quality score (a fitted model in filters/) and its threshold."""

    model: str = Field("quality_score", description="a .json path, or a score model name in filters/")
    model_sha256: str | None = Field(None, description="filled in on the driver from the model file")
    min_score: float | None = Field(
        None, ge=0.0, le=1.0, description="reject below this score; null = the threshold fitted with the model")
    languages: tuple[str, ...] | None = Field(
        None, description="score only these `lang` values (others skip it, recorded); null = the model's languages")
    classifier_paths: dict[str, str] = Field(
        default_factory=dict, description="filled in on the driver: the fastText models the score reads")

    @model_validator(mode="after")
    def _resolve_model(self):
        from curator.specs import REPO_ROOT

        path = Path(self.model)
        if not path.is_file():
            candidate = REPO_ROOT / "filters" / f"{self.model}.json"
            if not candidate.is_file():
                raise ValueError(f"score model {self.model!r} not found (looked for {path} and {candidate})")
            path = candidate
        digest = file_sha256(path)
        if self.model_sha256 is not None and self.model_sha256 != digest:
            raise ValueError(f"score model {path} changed: sha256 {digest} != {self.model_sha256}")
        fitted = QualityScoreModel.load(path)
        paths = fitted.classifier_paths(path.parent)
        object.__setattr__(self, "model", str(path.resolve()))
        object.__setattr__(self, "model_sha256", digest)
        object.__setattr__(self, "classifier_paths", {name: str(p) for name, p in paths.items()})
        if self.min_score is None:
            object.__setattr__(self, "min_score", fitted.threshold)
        if self.languages is None:
            object.__setattr__(self, "languages", fitted.languages)
        return self


class QualityConfig(StageConfig):
    # SerializeAsAny: dumps (completion markers, worker caches) carry each family's own fields.
    filters: tuple[SerializeAsAny[QualityFilter], ...] = Field(
        DEFAULT_FILTERS, validate_default=True, description="rule families in application order")
    classifier: ClassifierConfig | None = None
    score: ScoreConfig | None = Field(
        None, description="calibrated quality score; rejects below score.min_score as low_quality_score")
    keep_signals: bool = Field(
        False, description="evaluate every rule and keep the measured values as quality_<signal> columns")
    lang_column: str = "lang"
    language: str | None = Field(
        None, min_length=1,
        description="language of documents with no `lang` value (e.g. 'en'); required when no langid stage runs "
                    "before quality, because stop words and word rules depend on the language")

    @field_validator("filters", mode="before")
    @classmethod
    def _load_filters(cls, entries):
        if isinstance(entries, (str, dict)):
            entries = [entries]
        loaded = [e if isinstance(e, QualityFilter) else build_filter(load_filter_entry(e)) for e in entries]
        families = [e.family for e in loaded]
        duplicates = sorted({f for f in families if families.count(f) > 1})
        if duplicates:
            raise ValueError(f"filter families listed twice: {duplicates}")
        return loaded


class QualityStage(BatchStage):
    name = "quality"
    Config = QualityConfig
    reasons: ClassVar[tuple[str, ...]] = (EMPTY_REASON, *builtin_reasons(), CLASSIFIER_REASON, SCORE_REASON)

    def setup(self) -> None:
        from curator.quality.classifier import load_model
        from curator.spark.adapters import shipped_path

        self.model = None
        if self.config.classifier is not None:
            self.model = load_model(self._model_path())
        self.score_model, self.score_classifiers, self._reusable = None, {}, frozenset()
        if self.config.score is not None:
            from curator.quality.score import reusable_families

            self._reusable = reusable_families(self.config.filters, self.config.score.languages)
            self.score_model = QualityScoreModel.load(shipped_path(self.config.score.model))
            self.score_classifiers = {name: load_model(shipped_path(path))
                                      for name, path in self.config.score.classifier_paths.items()}

    def _model_path(self) -> str:
        from curator.spark.adapters import shipped_path

        return shipped_path(self.config.classifier.model)

    def prepare(self, ctx):
        from curator.spark.adapters import ship_file

        if self.config.classifier is not None:
            ship_file(ctx.spark, self.config.classifier.model)
        if self.config.score is not None:
            for path in (self.config.score.model, *self.config.score.classifier_paths.values()):
                ship_file(ctx.spark, path)
        return super().prepare(ctx)

    def classifier_column(self) -> str:
        """The classifier's probability column: ``quality_score`` unless the calibrated score takes that name."""
        return "quality_classifier_score" if self.config.score is not None else "quality_score"

    def signal_columns(self) -> list[str]:
        if not self.config.keep_signals:
            return []
        return [f"quality_{name}" for family in self.config.filters for name in family.signal_names()]

    def annotation_fields(self) -> list[pa.Field]:
        fields = [pa.field("quality_skipped", pa.string())]
        if self.config.classifier is not None:
            fields.append(pa.field(self.classifier_column(), pa.float32()))
        if self.config.score is not None:
            fields.append(pa.field("quality_score", pa.float32()))
        fields += [pa.field(name, pa.float64()) for name in self.signal_columns()]
        return fields

    def process_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        config = self.config
        names = batch.schema.names
        texts = batch.column("text").to_pylist()
        n = len(texts)
        if config.lang_column in names:
            langs = [lang or config.language for lang in batch.column(config.lang_column).to_pylist()]
        elif config.language is not None:
            langs = [config.language] * n
        else:
            # Never guess English: rules written for one language would silently judge every other one.
            raise SpecError(f"quality: the input has no {config.lang_column!r} column and the stage sets no "
                            "'language'; run langid before quality or set e.g. 'language: en'")
        out_texts = list(texts)
        reasons: list[str | None] = [None] * n
        details: list[str | None] = [None] * n
        skipped_col: list[str | None] = [None] * n
        signal_cols = {name: [None] * n for name in self.signal_columns()}
        collect = config.keep_signals
        original_views: list[TextView | None] = [None] * n  # the score measures the text as it arrived
        # signals the score can take from the rules instead of measuring again (families configured as its own)
        reuse = self._reusable if config.score is not None else frozenset()
        measured: list[dict[str, dict[str, float]]] = [{} for _ in range(n)] if reuse else []

        for i, (text, lang) in enumerate(zip(texts, langs)):
            if text is None or not text.strip():
                reasons[i] = EMPTY_REASON
                continue
            view = original_views[i] = TextView(text, lang)
            skipped: list[str] = []
            for family in config.filters:
                if lang is not None and lang in family.skip_languages:
                    skipped.append(family.family)
                    continue
                result = family.evaluate(view, collect_all=collect)
                if family.family in reuse and view is original_views[i]:
                    measured[i][family.family] = result.signals
                skipped += result.skipped
                for key, value in result.signals.items():
                    if collect:
                        signal_cols[f"quality_{key}"][i] = float(value)
                if result.failures and reasons[i] is None:
                    reasons[i] = result.failures[0]
                    details[i] = _detail(result.signals)
                    if not collect:
                        break
                if result.text is not None and reasons[i] is None:  # a family that rewrites the text (C4)
                    if not result.text:
                        reasons[i] = family.empty_after_rewrite_reason
                        if not collect:
                            break
                    elif result.text != view.text:
                        view = TextView(result.text, lang)  # later families see the rewritten text, as in C4
                        out_texts[i] = result.text
            skipped_col[i] = ",".join(skipped) or None
            if reasons[i] is not None:
                out_texts[i] = text  # rejected rows keep their original text

        annotations: dict[str, Any] = {"text": out_texts, "quality_skipped": skipped_col}
        if config.classifier is not None:
            annotations[self.classifier_column()] = self._classify(batch, out_texts, langs, reasons, details,
                                                                   skipped_col)
        if config.score is not None:
            annotations["quality_score"] = self._score(texts, original_views, measured, langs, reasons, details,
                                                       skipped_col)
        annotations.update(signal_cols)
        fields = self.annotation_fields() + [pa.field("text", pa.string())]
        return finish_batch(batch, annotations, reasons, details, fields)

    def _classify(self, batch, texts, langs, reasons, details, skipped_col) -> list[float | None]:
        """Score documents still kept (one batched predict) and reject those below the bar."""
        from curator.quality.classifier import pareto_keep, score_texts

        c = self.config.classifier
        scores: list[float | None] = [None] * len(texts)
        todo = []
        for i, lang in enumerate(langs):
            if reasons[i] is not None:
                continue
            if c.languages is not None and lang not in c.languages:
                skipped_col[i] = ",".join(filter(None, [skipped_col[i], "classifier"]))
                continue
            todo.append(i)
        ids = batch.column("id").to_pylist()
        for i, score in zip(todo, score_texts(self.model, [texts[i] for i in todo], c.positive_label, c.max_chars)):
            scores[i] = score
            if c.keep == "threshold" and score < c.min_score:
                reasons[i], details[i] = CLASSIFIER_REASON, f"score {score:.3f} < {c.min_score}"
            elif c.keep == "pareto" and not pareto_keep(score, ids[i], c.seed, c.pareto_alpha):
                reasons[i], details[i] = CLASSIFIER_REASON, f"score {score:.3f}, pareto(alpha={c.pareto_alpha}) draw"
        return scores


    def _score(self, texts, views, measured, langs, reasons, details, skipped_col) -> list[float | None]:
        """The calibrated score of documents still kept, on their text as it arrived; reject below min_score."""
        from curator.quality.classifier import score_texts
        from curator.quality.score import feature_matrix

        config, model = self.config.score, self.score_model
        scores: list[float | None] = [None] * len(texts)
        todo = []
        for i, lang in enumerate(langs):
            if reasons[i] is not None:
                continue
            if lang not in config.languages:
                skipped_col[i] = ",".join(filter(None, [skipped_col[i], "score"]))
                continue
            todo.append(i)
        if not todo:
            return scores
        todo_texts = [texts[i] for i in todo]
        classifier_scores = {
            name: score_texts(self.score_classifiers[name], todo_texts, spec.positive_label, spec.max_chars)
            for name, spec in model.classifiers.items()}
        matrix = feature_matrix(model.features, todo_texts, [langs[i] for i in todo], classifier_scores,
                                [views[i] for i in todo], [measured[i] for i in todo] if measured else None)
        for i, probability in zip(todo, model.probabilities(matrix).tolist()):
            scores[i] = probability
            if probability < config.min_score:
                reasons[i], details[i] = SCORE_REASON, f"score {probability:.3f} < {config.min_score:.4g}"
        return scores


def _detail(signals: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in signals.items())
