"""The calibrated quality score: pure feature extraction, the fitted model file, the stage path, languages."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from curator.hashing import file_sha256
from curator.quality.classifier import load_model, score_texts
from curator.quality.score import (
    CLASSIFIER_PREFIX,
    RULE_FEATURES,
    QualityScoreModel,
    classifier_logit,
    feature_matrix,
    rule_features,
)
from curator.quality.stage import SCORE_REASON, QualityConfig, QualityStage
from curator.specs import REPO_ROOT
from curator.stage import run_batch_stage
from tests.quality.docs import prose


FILTERS = REPO_ROOT / "filters"
MENU_PAGE = "\n".join(["Home", "About Us", "Contact", "Login | Register", "Best Deals 2024", "Cheap Flights Now",
                       "Hotels From $19", "Car Rental", "Terms", "Privacy Policy", "Site Map", "Follow Us"] * 3)
GERMAN = ("Der Ausschuss traf sich am Dienstag, um die geplanten Änderungen der Bauordnung zu besprechen. Viele "
          "Anwohner sorgten sich um den Verkehr und den Lärm, und einige baten um ein weiteres Gutachten.\n") * 6


def rows(*texts, lang=None):
    return [{"id": str(i), "text": t, **({"lang": lang} if lang else {})} for i, t in enumerate(texts)]


def write_model(tmp_path, **overrides) -> str:
    """A one-feature score model: p = sigmoid(intercept + coef * (capitalised_word_ratio - 0.5) / 0.25)."""
    model = {"features": ["capitalised_word_ratio"], "mean": [0.5], "scale": [0.25], "coef": [-3.0],
             "intercept": 0.5, "threshold": 0.4, "languages": ["en"], "classifiers": {}, **overrides}
    path = tmp_path / "score.json"
    path.write_text(json.dumps(model))
    return str(path)


# ------------------------------------------------------------------------------------------- features (pure)

def test_rule_features_measure_layout_and_words():
    text = "The cat sat on the mat, and then it slept for a while.\nHome\nAbout 2024"
    f = rule_features(text, "en")
    assert set(f) == set(RULE_FEATURES)
    lines = text.split("\n")
    assert f["punct_line_char_share"] == pytest.approx(len(lines[0]) / sum(map(len, lines)))
    assert f["long_line_char_share"] == pytest.approx(len(lines[0]) / sum(map(len, lines)))
    # word tokens starting with a letter: 13 in the sentence (The capitalised) + Home + About
    assert f["capitalised_word_ratio"] == pytest.approx(3 / 15)
    assert f["digit_char_ratio"] == pytest.approx(4 / len(text))
    assert f["log_chars"] == pytest.approx(math.log1p(len(text)))
    assert 0 < f["stop_word_ratio"] < 1 and all(math.isfinite(v) for v in f.values())


def test_feature_matrix_orders_columns_and_takes_classifier_logits():
    texts = [prose(seed=1), MENU_PAGE]
    features = ("digit_char_ratio", f"{CLASSIFIER_PREFIX}m", "log_chars")
    matrix = feature_matrix(features, texts, ["en", "en"], {"m": [0.9, 0.0]})
    assert matrix.shape == (2, 3)
    assert matrix[0, 1] == pytest.approx(math.log(0.9 / 0.1)) and matrix[1, 1] == pytest.approx(classifier_logit(0.0))
    assert np.isfinite(matrix).all() and matrix[1, 0] > matrix[0, 0] == 0.0
    assert matrix[0, 2] == pytest.approx(math.log1p(len(texts[0])))


def test_model_file_is_validated(tmp_path):
    def load(**overrides):
        return QualityScoreModel.load(write_model(tmp_path, **overrides))

    with pytest.raises(ValidationError, match="coef has 2 values for 1 features"):
        load(coef=[1.0, 2.0])
    with pytest.raises(ValidationError, match="unknown features"):
        load(features=["shouting"])
    with pytest.raises(ValidationError, match="does not name"):
        load(features=["classifier:x"])
    with pytest.raises(ValidationError, match="scale"):
        load(scale=[0.0])


# ------------------------------------------------------------------------------------------------ stage path

def test_stage_applies_the_coefficients_and_rejects_below_min_score(tmp_path):
    path = write_model(tmp_path)
    stage = QualityStage(QualityConfig(filters=[], score={"model": path}, language="en"))
    assert stage.config.score.min_score == 0.4 and stage.config.score.languages == ("en",)
    # the validated config round-trips (what the runner fingerprints and ships to executors)
    assert QualityConfig.model_validate(stage.config.model_dump()) == stage.config
    assert SCORE_REASON in QualityStage.reasons
    texts = [prose(seed=2), MENU_PAGE]
    kept, rejected = run_batch_stage(stage, rows(*texts))
    expected = [1 / (1 + math.exp(-(0.5 - 3.0 * (rule_features(t, "en")["capitalised_word_ratio"] - 0.5) / 0.25)))
                for t in texts]
    assert expected[0] > 0.4 > expected[1]
    assert [r["id"] for r in kept] == ["0"] and kept[0]["quality_score"] == pytest.approx(expected[0], rel=1e-6)
    assert rejected[0]["reason"] == SCORE_REASON and rejected[0]["quality_score"] == pytest.approx(expected[1],
                                                                                                  rel=1e-6)
    assert rejected[0]["reason_detail"].startswith("score 0.")
    # min_score from the spec wins over the fitted threshold
    lenient = QualityStage(QualityConfig(filters=[], score={"model": path, "min_score": 0.0}, language="en"))
    assert run_batch_stage(lenient, rows(*texts))[1] == []


def test_score_config_errors_name_the_field(tmp_path):
    with pytest.raises(ValidationError, match=r"score\.min_score"):
        QualityConfig(filters=[], score={"model": write_model(tmp_path), "min_score": 1.5}, language="en")
    with pytest.raises(ValidationError, match="score model 'nosuch' not found"):
        QualityConfig(filters=[], score={"model": "nosuch"}, language="en")
    with pytest.raises(ValidationError, match=r"score\.thresh"):
        QualityConfig(filters=[], score={"model": write_model(tmp_path), "thresh": 0.5}, language="en")
    # a score fitted with another classifier file refuses to run with this one
    stale = write_model(tmp_path, features=["classifier:general"], mean=[0.0], scale=[1.0], coef=[1.0],
                        classifiers={"general": {"model": "quality_classifier.ftz", "sha256": "0" * 64}})
    with pytest.raises(ValidationError, match="refit the score"):
        QualityConfig(filters=[], score={"model": stale}, language="en")


def test_rules_reject_first_and_unscored_rows_have_no_score(tmp_path):
    stage = QualityStage(QualityConfig(filters=["gopher_quality"], score={"model": write_model(tmp_path)},
                                       language="en"))
    kept, rejected = run_batch_stage(stage, rows("Too short.", prose(seed=3)))
    assert rejected[0]["reason"] == "gopher_short_doc" and rejected[0]["quality_score"] is None
    assert kept[0]["quality_score"] is not None


def test_classifier_probability_moves_aside_when_the_score_is_on(tmp_path):
    both = QualityStage(QualityConfig(filters=[], classifier={"model": "quality_classifier", "min_score": 0.0},
                                      score={"model": write_model(tmp_path), "min_score": 0.0}, language="en"))
    kept, _ = run_batch_stage(both, rows(prose(seed=4)))
    assert kept[0]["quality_classifier_score"] is not None and kept[0]["quality_score"] is not None
    assert {f.name for f in both.annotation_fields()} >= {"quality_classifier_score", "quality_score"}


# --------------------------------------------------------------------------------------------- shipped models

def test_shipped_score_loads_checks_its_classifier_and_separates_prose_from_menus():
    model = QualityScoreModel.load(FILTERS / "quality_score.json")
    paths = model.classifier_paths(FILTERS)  # raises if a classifier file changed since the fit
    assert set(paths) == set(model.classifiers) and model.languages == ("en",)
    assert 0.0 < model.threshold < 1.0
    cv = model.report["cross_validation"]
    assert cv["fold_auc_mean"] >= 0.82 and cv["oof_at_threshold"]["good_kept"] >= 0.80
    stage = QualityStage(QualityConfig(filters=[], score={"model": "quality_score", "min_score": 0.0},
                                       language="en"))
    texts = [prose(seed=s) for s in range(5)] + [MENU_PAGE]
    kept, _ = run_batch_stage(stage, rows(*texts))
    scores = [r["quality_score"] for r in kept]
    assert min(scores[:5]) > model.threshold > scores[5]


def test_shipped_instruction_classifier_is_small_english_and_reported():
    path = FILTERS / "quality_instruct_en.ftz"
    report = json.loads((FILTERS / "quality_instruct_en.ftz.json").read_text())
    assert path.stat().st_size < 2_000_000 and report["model_bytes"] == path.stat().st_size
    assert report["languages"] == ["en"] and report["dev_set"]["used_for_training"] is False
    assert not any("dclm" in entry["source"] for entry in report["inputs"])
    assert {"heldout", "params", "recipes_compared"} <= set(report) and "roc_auc" in report["dev_set"]
    model = load_model(path)
    assert sorted(model.get_labels()) == ["__label__hq", "__label__lq"]
    assert all(0.0 <= s <= 1.0 for s in score_texts(model, [prose(seed=1), MENU_PAGE]))


def test_english_models_are_not_applied_to_german():
    # the instruction classifier is English-only: a German page skips it (recorded), it is not rejected
    stage = QualityStage(QualityConfig(filters=[], classifier={"model": "quality_instruct_en", "min_score": 0.99,
                                                                "languages": ["en"]}))
    kept, rejected = run_batch_stage(stage, rows(GERMAN, lang="de"))
    assert rejected == [] and kept[0]["quality_skipped"] == "classifier" and kept[0]["quality_score"] is None
    # without a languages list, the model's training report (languages: [en]) decides
    default = QualityStage(QualityConfig(filters=[], classifier={"model": "quality_instruct_en", "min_score": 0.99}))
    assert default.config.classifier.languages == ("en",)
    kept, rejected = run_batch_stage(default, rows(GERMAN, lang="de"))
    assert rejected == [] and kept[0]["quality_skipped"] == "classifier"
    # ...and an English page is scored (and here rejected by the deliberately high bar)
    _, rejected = run_batch_stage(default, rows(prose(seed=7), lang="en"))
    assert rejected[0]["reason"] == "quality_classifier_low_score"
    # web_en's quality stage as shipped: the score (fitted on English) skips German pages the same way
    spec = yaml.safe_load((REPO_ROOT / "pipelines" / "web_en.yaml").read_text())
    entry = next({k: v for k, v in s.items() if k != "stage"} for s in spec["stages"] if s["stage"] == "quality")
    web_en = QualityStage(QualityConfig.model_validate({**entry, "filters": []}))
    kept, rejected = run_batch_stage(web_en, rows(GERMAN, lang="de"))
    assert rejected == [] and kept[0]["quality_score"] is None and "score" in kept[0]["quality_skipped"]
    # every language web_en scores is one its models were trained/fitted on
    assert set(web_en.config.score.languages) <= {"en"}


def test_score_model_records_what_it_was_fitted_with():
    model = json.loads((FILTERS / "quality_score.json").read_text())
    for spec in model["classifiers"].values():
        assert spec["sha256"] == file_sha256(FILTERS / spec["model"])
    assert model["report"]["data"]["documents"] == 499 and "command" in model["report"]


@pytest.mark.spark
@pytest.mark.slow
def test_score_in_a_spark_pipeline_accounts_for_every_document(spark, tmp_path):
    from curator.spark.runner import PipelineRunner
    from curator.specs import load_pipeline

    docs = rows(prose(seed=1), MENU_PAGE, prose(seed=2))
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    spec = tmp_path / "spec.yaml"
    spec.write_text(json.dumps({
        "name": "q", "input": {"paths": [str(tmp_path / "in.jsonl")]}, "output": str(tmp_path / "out"),
        "spark": {"master": "local[2]"},
        "stages": [{"stage": "ingest"}, {"stage": "quality", "filters": [],
                                         "score": {"model": "quality_score"}, "language": "en"}]}))
    runner = PipelineRunner(load_pipeline(spec))
    for name in ("ingest", "quality"):
        result = runner.run_stage(name)
    assert result.stats["in"] == 3 and result.stats["kept"] == 2
    assert result.stats["rejected"] == {SCORE_REASON: 1}
    kept = spark.read.parquet(str(tmp_path / "out" / "quality" / "data")).collect()
    threshold = QualityScoreModel.load(FILTERS / "quality_score.json").threshold
    assert len(kept) == 2 and all(r["quality_score"] >= threshold for r in kept)
    assert runner.write_ledger()["balanced"]


def test_signals_reused_from_the_rules_give_the_same_score():
    from curator.quality.score import reusable_families

    spec = yaml.safe_load((REPO_ROOT / "pipelines" / "web_en.yaml").read_text())
    entry = next({k: v for k, v in s.items() if k != "stage"} for s in spec["stages"] if s["stage"] == "quality")
    config = QualityConfig.model_validate({**entry, "score": {**entry["score"], "min_score": 0.0}, "language": "en"})
    # the Gopher families run at their defaults in web_en, C4 and FineWeb do not
    assert reusable_families(config.filters, ["en"]) == {"gopher_quality", "gopher_repetition"}
    # a family measuring differently for the scored language is measured again by the score
    other_en = QualityConfig(filters=[{"family": "gopher_quality", "stop_words": {"en": ["the"]}}], language="en")
    assert reusable_families(other_en.filters, ["en"]) == frozenset()
    texts = [prose(seed=s) + "\nPlease enable JavaScript to view the comments" for s in range(3)] + [
        prose(seed=9, lines=30)]
    kept, rejected = run_batch_stage(QualityStage(config), rows(*texts))
    assert rejected == [] and kept[0]["text"] != texts[0]  # C4 cleaned the page; the score saw it as it arrived
    model = QualityScoreModel.load(FILTERS / "quality_score.json")
    classifier = load_model(FILTERS / "quality_classifier.ftz")
    alone = model.probabilities(feature_matrix(model.features, texts, ["en"] * len(texts),
                                               {"quality_classifier": score_texts(classifier, texts)}))
    assert [r["quality_score"] for r in kept] == pytest.approx(alone.tolist(), rel=1e-6)
