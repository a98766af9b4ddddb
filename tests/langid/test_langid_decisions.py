"""langid decisions: calibrated thresholds, code resolution, scripts, CLD2, custom models, paragraphs, und, stats."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from pydantic import ValidationError

from curator.langid.codes import UnknownLanguageCode, resolve_language
from curator.langid.detect import Decision, decide
from curator.langid.scripts import dominant_script, script_counts
from curator.langid.stage import THRESHOLDS_FILE, LangIdConfig, LangIdStage, load_thresholds, paragraphs
from curator.specs import REPO_ROOT
from curator.stage import run_batch_stage


EN = "The weather was lovely, so we walked along the river until the sun went down."
EN2 = "After dinner the children read their books by the fire while the rain kept falling outside."
DE = "Wir sind gestern mit dem Zug nach Hamburg gefahren und haben dort Freunde besucht."
DE2 = "Am Abend haben wir in einem kleinen Restaurant am Hafen gegessen und lange geredet."
PT = "Ontem fomos ao mercado comprar frutas e legumes frescos para o almoço de domingo."
ZU = "Ngiyabonga kakhulu ngosizo lwakho, umndeni wami uyajabula kakhulu namuhla."
SR_CYRL = "Ово је реченица на српском језику о лепом времену и нашим пријатељима."
TAI_THAM = "ᨠᩣ᩠ᨿᩯᨷᩩᨶ ᨾᩦᨶᩣᨾ ᨠᩥ᩠ᨶᨡᩮᩢ᩶ᩣ ᩋᩢᨶᨶᩦ᩶ ᨾᩦᨾᩣ᩠ᨿ"


@pytest.fixture(scope="module")
def stage():
    s = LangIdStage()
    s._ensure_setup()
    return s


def run(config: LangIdConfig, texts: list[str]):
    return run_batch_stage(LangIdStage(config), [{"id": str(i), "text": t} for i, t in enumerate(texts)])


def test_stage_declares_its_reasons():
    assert LangIdStage.reasons == ("lid_no_text", "lid_script_mismatch", "lid_wrong_language", "lid_low_score")


# -- 1. calibrated per-language thresholds ------------------------------------------------------------------------


def test_defaults_use_the_shipped_calibrated_thresholds(stage):
    data = load_thresholds()
    assert THRESHOLDS_FILE == REPO_ROOT / "filters" / "langid_thresholds.json"
    assert data["model"] == "lid.176.ftz" and data["fitted_by"] == "scripts/fit_langid_thresholds.py"
    assert len(data["thresholds"]) >= 70 and stage.threshold("sk") == data["thresholds"]["sk"]
    assert stage.threshold("sco") == data["default"]  # no calibration data: the pooled default
    # lid.176 alone has real per-language differences (FineWeb-2's observation): Swahili far below Thai.
    alone = data["fasttext_only"]["thresholds"]
    assert alone["sw"] < 0.2 and alone["th"] > 0.6
    solo = LangIdStage(LangIdConfig(second_detector="none"))
    solo._ensure_setup()
    assert solo.threshold("sw") == alone["sw"]


def test_spec_overrides_thresholds():
    stage = LangIdStage(LangIdConfig(thresholds={"sk": 0.9, "nb": 0.2}))
    stage._ensure_setup()
    assert stage.threshold("sk") == 0.9 and stage.threshold("no") == 0.2  # nb resolves to lid.176's "no"
    glob = LangIdStage(LangIdConfig(min_score=0.42, thresholds={"sk": 0.9}))
    glob._ensure_setup()
    assert glob.threshold("de") == 0.42 and glob.threshold("sk") == 0.9
    kept, rejected = run(LangIdConfig(thresholds={"en": 0.99}), ["ok", "Thanks"])
    assert {r["reason"] for r in rejected} == {"lid_low_score"} and kept == []
    with pytest.raises(ValidationError, match="threshold for 'sk'"):
        LangIdConfig(thresholds={"sk": 1.5})
    with pytest.raises(ValidationError, match="thresholds: language code 'xq'"):
        LangIdConfig(thresholds={"xq": 0.5})


def test_fitting_script_writes_thresholds_from_labelled_text(tmp_path):
    # A tiny labelled set in lingua's layout: the script fits one threshold per language with enough texts.
    for task in ("sentences", "word-pairs"):
        folder = tmp_path / "data" / "language-testdata" / task
        folder.mkdir(parents=True)
        (folder / "en.txt").write_text("\n".join([EN, EN2] * 4) + "\n")
        (folder / "de.txt").write_text("\n".join([DE, DE2] * 4) + "\n")
    out = tmp_path / "thresholds.json"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "fit_langid_thresholds.py"), "--data", str(tmp_path / "data"),
         "--out", str(out), "--min-texts", "4", "--cap", "1.0"],
        check=True, capture_output=True, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
    )
    data = json.loads(out.read_text())
    assert set(data["thresholds"]) == {"en", "de"} and data["fasttext_only"]["correct_texts"] == {"en": 8, "de": 8}
    assert all(0.5 < v <= 1.0 for v in data["thresholds"].values())
    stage = LangIdStage(LangIdConfig(thresholds_file=out))
    stage._ensure_setup()
    assert stage.threshold("en") == data["thresholds"]["en"]


# -- 2. language codes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code, labels", [
    ("nb", {"no"}), ("no", {"no"}), ("NOB", {"no"}), ("iw", {"he"}), ("he", {"he"}), ("zh-CN", {"zh"}),
    ("zh_Hant", {"zh"}), ("deu", {"de"}), ("ger", {"de"}), ("pt-BR", {"pt"}), ("fil", {"tl"}), ("jw", {"jv"}),
    ("sr", {"sr", "sr_Cyrl", "sr_Latn"}), ("sr_Latn", {"sr_Latn"}), ("zul", {"zu"}), ("sco", {"sco"}),
])
def test_codes_resolve_to_what_the_detectors_emit(stage, code, labels):
    all_labels = stage.fasttext_set | stage.cld2_set
    assert resolve_language(code, all_labels, {"sr": ("Cyrl", "Latn")}) == labels


def test_codes_resolve_against_script_tagged_model_labels():
    labels = {"eng_Latn", "srp_Cyrl", "srp_Latn", "deu_Latn"}
    assert resolve_language("en", labels) == {"eng_Latn"}
    assert resolve_language("sr", labels) == {"srp_Cyrl", "srp_Latn"}
    assert resolve_language("sr_Latn", labels) == {"srp_Latn"}
    with pytest.raises(UnknownLanguageCode):
        resolve_language("fr", labels)


@pytest.mark.parametrize("code", ["xx", "english", "e", "zu_Cyrl", "zz-ZZ"])
def test_impossible_codes_are_spec_errors(code):
    with pytest.raises(ValidationError, match=r"languages: language code .* is not one the language detector"):
        LangIdConfig(languages=["en", code])


def test_zulu_needs_cld2():
    LangIdConfig(languages=["zu"])  # CLD2 can emit it
    with pytest.raises(ValidationError, match="'zu'"):
        LangIdConfig(languages=["zu"], second_detector="none")


def test_norwegian_and_hebrew_aliases_keep_their_documents():
    nb = "Vi dro til hytta i helgen og gikk lange turer i skogen sammen med hele familien."
    he = "אתמול הלכנו לים עם כל המשפחה ונהנינו מאוד מהשמש ומהמים."
    kept, rejected = run(LangIdConfig(languages=["nb", "iw"]), [nb, he, EN])
    assert [r["lang"] for r in kept] == ["no", "he"] and [r["reason"] for r in rejected] == ["lid_wrong_language"]


# -- 3. scripts -----------------------------------------------------------------------------------------------


def test_dominant_script():
    assert dominant_script(EN) == "Latn" and dominant_script(SR_CYRL) == "Cyrl"
    assert dominant_script(TAI_THAM) == "Lana"
    assert dominant_script("日本語のテキストです") == "Jpan" and dominant_script("中文文本") == "Hani"
    assert dominant_script("한국어 文章") == "Kore"
    assert dominant_script("12345 !!!") is None
    assert script_counts("abc Ωμέγα") == Counter({"Grek": 5, "Latn": 3})


def test_text_in_a_script_the_language_does_not_use_is_not_kept_with_that_label():
    kept, rejected = run(LangIdConfig(), [TAI_THAM, EN])
    assert [r["id"] for r in kept] == ["1"]
    assert rejected[0]["reason"] == "lid_script_mismatch" and rejected[0]["lang"] == "und"
    assert "Lana script" in rejected[0]["reason_detail"]


def test_labels_carry_the_script_where_it_matters():
    sr_latn = "Ovo je rečenica na srpskom jeziku o lepom vremenu i našim prijateljima iz Beograda."
    kept, _ = run(LangIdConfig(), [SR_CYRL, EN, sr_latn])
    assert kept[0]["lang"] == "sr_Cyrl" and kept[1]["lang"] == "en"
    # Latin Serbian is labelled Serbo-Croatian family by both detectors; whichever it is, the script is explicit.
    assert kept[2]["lang"].endswith("_Latn") or kept[2]["lang"] in ("hr", "bs")
    kept, rejected = run(LangIdConfig(languages=["sr_Latn"]), [SR_CYRL])
    assert kept == [] and rejected[0]["reason"] == "lid_wrong_language"


def test_cjk_text_quoting_code_keeps_its_label():
    from curator.langid.scripts import script_share

    # 14 Han characters beside 25 Latin letters of a command line: still Chinese text.
    zh = "使用 touch 命令修改已存在文件的时间戳。 $ LANG=C ls -l foo bar baz"
    assert 0.25 < script_share("zh", zh) < 0.75 and script_share("en", zh) < 0.75
    assert script_share("zh", "Hello world, how are you today 你") < 0.25


def test_malay_in_jawi_script_is_ms_arab_not_arabic():
    jawi = "ڤرليمبڠن ڤرسكوتوان مليسيا دان بهاس ملايو دالم توليسن جاوي"  # Malay written in Jawi
    arabic = "ذهبنا أمس إلى السوق واشترينا الكثير من الفواكه والخضروات الطازجة."
    persian = "دیروز با دوستانم به پارک رفتیم و تا غروب آفتاب آنجا ماندیم."
    kept, _ = run(LangIdConfig(), [jawi, arabic, persian])
    assert [r["lang"] for r in kept] == ["ms_Arab", "ar", "fa"]
    kept, _ = run(LangIdConfig(languages=["ms"]), [jawi, "Saya suka membaca buku di perpustakaan setiap petang."])
    assert {r["lang"] for r in kept} <= {"ms_Arab", "ms_Latn"} and kept[0]["lang"] == "ms_Arab"


def test_english_words_inside_an_urdu_text_do_not_make_a_script_mismatch():
    urdu = "میں نے کل اپنے دوستوں کے ساتھ Facebook اور YouTube پر ویڈیو دیکھی اور بہت مزہ آیا۔"
    kept, _ = run(LangIdConfig(), [urdu])
    assert [r["lang"] for r in kept] == ["ur"]


# -- 4. second detector and custom models ---------------------------------------------------------------------


def test_decide_rules():
    ft_set, cld_set = {"en", "ms", "id", "als", "de"}, {"en", "ms", "id", "de", "zu"}
    # agreement: both probabilities count
    assert decide([("en", 0.6)], ("en", 0.9), ft_set, cld_set) == Decision("en", pytest.approx(0.96), "en", "en")
    # a reliable CLD2 overrules an unsure fastText on a language both know
    assert decide([("ms", 0.5), ("id", 0.4)], ("id", 0.95), ft_set, cld_set).lang == "id"
    # ... but not on a language CLD2 cannot emit (Alemannic reads as German to CLD2)
    assert decide([("als", 0.6), ("de", 0.3)], ("de", 0.9), ft_set, cld_set).lang == "als"
    assert decide([("als", 0.4), ("de", 0.3)], ("de", 0.9), ft_set, cld_set).lang == "de"  # unless very unsure
    # a language only CLD2 knows
    assert decide([("en", 0.4)], ("zu", 0.98), ft_set, cld_set) == Decision("zu", 0.98, "en", "zu")
    # CLD2 not reliable, or not run
    assert decide([("en", 0.4)], ("und", 0.0), ft_set, cld_set) == Decision("en", 0.4, "en", "und")
    assert decide([("en", 0.95)], None, ft_set, cld_set) == Decision("en", 0.95, "en", None)


def test_cld2_adds_languages_lid176_cannot_emit(stage):
    assert "zu" not in stage.fasttext_set and "zu" in stage.cld2_set
    kept, _ = run(LangIdConfig(languages=["zu"]), [ZU])
    assert [r["lang"] for r in kept] == ["zu"]


def test_cld2_rescues_a_short_text_fasttext_is_unsure_of():
    # fastText alone gives "Guten Tag" 0.56 (below the old 0.65); CLD2 agrees, so it is kept with lid.176+CLD2.
    kept, rejected = run(LangIdConfig(min_score=0.65), ["Guten Tag"])
    assert [r["lang"] for r in kept] == ["de"]
    kept, rejected = run(LangIdConfig(min_score=0.65, second_detector="none"), ["Guten Tag"])
    assert kept == [] and rejected[0]["reason"] == "lid_low_score"


def test_any_fasttext_lid_model_by_path(tmp_path):
    import fasttext

    # A real (tiny) fastText LID model with GlotLID-style labels, trained here on the inline sentences.
    train = tmp_path / "train.txt"
    lines = [f"__label__eng_Latn {t}" for t in (EN, EN2)] + [f"__label__deu_Latn {t}" for t in (DE, DE2)]
    train.write_text("\n".join(lines * 20) + "\n")
    model = fasttext.train_supervised(str(train), epoch=30, lr=0.5, minn=2, maxn=4, dim=16, verbose=0)
    path = tmp_path / "tiny_lid.bin"
    model.save_model(str(path))

    config = LangIdConfig(model_path=path, languages=["en"], min_score=0.5)
    kept, rejected = run(config, [EN, DE])
    assert [r["lang"] for r in kept] == ["eng_Latn"] and [r["lang"] for r in rejected] == ["deu_Latn"]
    with pytest.raises(ValueError, match="'fr' is not one the language detector can produce"):
        run(LangIdConfig(model_path=path, languages=["fr"]), [EN])
    with pytest.raises(ValidationError, match="model_path: no such file"):
        LangIdConfig(model_path=tmp_path / "missing.bin")


# -- 5. paragraphs --------------------------------------------------------------------------------------------


def test_paragraph_split_merges_short_parts():
    text = f"{EN}\n\n{EN2}\n\nshort\n\n{DE}"
    assert paragraphs(text, 50) == [EN, EN2, f"short\n{DE}"]
    assert paragraphs("one line\nsecond line", 5) == ["one line", "second line"]  # no blank lines: lines
    assert paragraphs("tiny\n\nbits", 100) == ["tiny\nbits"]


MIXED = "\n\n".join([PT, DE, DE2, EN])


def test_majority_mode_keeps_the_document_under_its_majority_language():
    kept, rejected = run(LangIdConfig(paragraph_mode="majority", paragraph_min_chars=20), [MIXED])
    assert rejected == [] and kept[0]["lang"] == "de" and kept[0]["text"] == MIXED
    shares = dict(kept[0]["lang_shares"])
    assert set(shares) == {"de", "pt", "en"} and shares["de"] > 0.5
    assert sum(shares.values()) == pytest.approx(1.0)
    kept, rejected = run(LangIdConfig(paragraph_mode="majority", paragraph_min_chars=20, languages=["pt"]), [MIXED])
    assert kept == [] and rejected[0]["reason"] == "lid_wrong_language" and "de (" in rejected[0]["reason_detail"]


def test_split_mode_keeps_only_the_wanted_paragraphs():
    kept, _ = run(LangIdConfig(paragraph_mode="split", paragraph_min_chars=20, languages=["pt", "en"]), [MIXED])
    assert kept[0]["text"] == f"{PT}\n\n{EN}" and kept[0]["lang"] in ("pt", "en")
    assert dict(kept[0]["lang_shares"])["de"] > 0.5  # the shares describe the original document
    kept, rejected = run(LangIdConfig(paragraph_mode="split", paragraph_min_chars=20, languages=["fr"]), [MIXED])
    assert kept == [] and rejected[0]["reason"] == "lid_wrong_language"


def test_paragraph_mode_reasons():
    kept, rejected = run(LangIdConfig(paragraph_mode="majority"), ["", "12 34\n\n56", "ok", EN])
    assert [r["reason"] for r in rejected] == ["lid_no_text", "lid_no_text", "lid_low_score"]
    assert [r["lang"] for r in rejected] == ["und", "und", "und"] and kept[0]["lang"] == "en"


# -- 6. non-text ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t", "12345 67890", "3.14 + 2.71 = 5.85 !!!", "https://example.com/a/b?c=d",
                                  "www.example.org", "someone@example.org", "  —  ***  "])
def test_non_text_is_und_with_its_own_reason(text):
    kept, rejected = run(LangIdConfig(), [text])
    assert kept == [] and (rejected[0]["lang"], rejected[0]["reason"]) == ("und", "lid_no_text")


def test_a_lone_surrogate_does_not_break_the_batch(stage):
    # Arrow batches cannot hold one (ingest rejects them), but classify() is also called on plain Python strings.
    assert [r[0] for r in stage.classify([f"{EN} \ud800", DE])] == ["en", "de"]


def test_text_containing_a_url_is_still_text():
    kept, _ = run(LangIdConfig(), [f"{EN} See https://example.com/weather for details."])
    assert kept[0]["lang"] == "en"


# -- 7. per-language stats through the runner -----------------------------------------------------------------


@pytest.mark.spark
@pytest.mark.slow
def test_stats_count_kept_and_rejected_documents_and_chars_per_language(spark, tmp_path):
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    docs = {"en1": EN, "en2": EN2, "de1": DE, "pt1": PT, "num": "12345 67890", "tai": TAI_THAM}
    corpus = tmp_path / "in.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in docs.items()))
    spec = PipelineSpec.model_validate({
        "name": "langid-stats", "input": {"paths": [str(corpus)]}, "output": str(tmp_path / "run"),
        "stages": [{"stage": "ingest"}, {"stage": "langid", "languages": ["en", "de"]}],
    })
    stats = PipelineRunner(spec, spark=spark).run_all()[1].stats
    assert stats["rejected"] == {"lid_no_text": 1, "lid_script_mismatch": 1, "lid_wrong_language": 1}
    by_lang = stats["by_lang"]
    assert by_lang["en"] == {"kept_docs": 2, "kept_chars": len(EN) + len(EN2), "rejected_docs": 0,
                             "rejected_chars": 0}
    assert by_lang["de"]["kept_docs"] == 1 and by_lang["pt"] == {
        "kept_docs": 0, "kept_chars": 0, "rejected_docs": 1, "rejected_chars": len(PT)}
    assert by_lang["und"]["rejected_docs"] == 2
    written = json.loads((tmp_path / "run" / "langid" / "stats.json").read_text())
    assert written["by_lang"] == by_lang


# -- shared data (extra layer) --------------------------------------------------------------------------------


def test_script_table_fits_every_lingua_language(shared_data):
    from curator.langid.scripts import script_share

    folder = shared_data / "lingua-language-testdata" / "language-testdata" / "sentences"
    for path in sorted(folder.glob("*.txt")):
        label = {"nb": "no"}.get(path.stem, path.stem)
        lines = path.read_text(encoding="utf-8").splitlines()[:300]
        mismatched = sum(script_share(label, line) < 0.25 for line in lines)
        assert mismatched <= 3, (path.stem, mismatched)


def test_a_replaced_model_or_edited_thresholds_file_changes_the_fingerprint(tmp_path):
    import os
    import shutil

    from curator.langid.detect import lid_model_path

    assert "files_sha256" not in LangIdConfig().model_dump()  # default files: the config dumps as before
    thresholds = tmp_path / "thresholds.json"
    shutil.copy(THRESHOLDS_FILE, thresholds)
    before = LangIdConfig(thresholds_file=thresholds).model_dump_json()
    assert before == LangIdConfig(thresholds_file=thresholds).model_dump_json()
    thresholds.write_text(THRESHOLDS_FILE.read_text().replace('"default"', '"default" ', 1))
    assert LangIdConfig(thresholds_file=thresholds).model_dump_json() != before

    model = tmp_path / "lid.ftz"
    shutil.copy(lid_model_path(), model)
    before = LangIdConfig(model_path=model).model_dump_json()
    os.utime(model, ns=(0, 0))  # a model copied over the old one: another modification time
    assert LangIdConfig(model_path=model).model_dump_json() != before
    with pytest.raises(ValidationError, match="thresholds_file: no such file"):
        LangIdConfig(thresholds_file=tmp_path / "missing.json")


def test_an_unreadable_thresholds_file_is_a_config_error(tmp_path, monkeypatch):
    import curator.langid.stage as langid_stage

    def refuse(path):
        raise PermissionError(13, "Permission denied")

    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text("{}")
    monkeypatch.setattr(langid_stage, "file_sha256", refuse)  # as root, chmod cannot make a file unreadable
    with pytest.raises(ValidationError, match="thresholds_file: cannot read .*Permission denied"):
        LangIdConfig(thresholds_file=thresholds)
