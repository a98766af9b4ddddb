"""Every rejection reason of every rule family, each triggered by a document that trips exactly that rule."""

from __future__ import annotations

import pytest

from curator.quality.filters import FILTERS, filter_class
from curator.quality.filters.c4 import C4Filter
from curator.quality.filters.fineweb import FineWebFilter
from curator.quality.filters.gopher_quality import GopherQualityFilter
from curator.quality.filters.gopher_repetition import GopherRepetitionFilter
from curator.quality.heuristics import TextView, count_sentences, is_symbol_token, split_words
from tests.quality.docs import prose


GQ, GR, C4, FW = GopherQualityFilter(), GopherRepetitionFilter(), C4Filter(), FineWebFilter()
BASE = prose()


def failures(text: str, config, lang: str | None = None) -> list[str]:
    return config.evaluate(TextView(text, lang), collect_all=True).failures


@pytest.mark.parametrize("config", [GQ, GR, C4, FW], ids=lambda c: c.family)
def test_clean_prose_passes_every_family(config):
    assert failures(BASE, config) == []


def test_word_splitting_follows_spacy_conventions():
    assert split_words("It's well-known: e.g. 1,000.5 items (see http://x.org/a).") == [
        "It", "'s", "well", "-", "known", ":", "e.g.", "1,000.5", "items", "(", "see", "http://x.org/a", ")", "."]
    assert split_words("Wait... ----- COVID-19 a@b.com") == ["Wait", "...", "-----", "COVID-19", "a@b.com"]
    assert count_sentences(split_words('He left. "Why?" she asked. Mr. Smith 3.5 stayed.')) == 4


def long_words_prose() -> str:
    return "\n".join(f"The internationalization of characterization{i} and responsibilities with "
                     f"telecommunications infrastructure{i} notwithstanding reconsiderations." for i in range(12))


GOPHER_QUALITY_CASES = {
    "gopher_short_doc": "The painter and the farmer walked with their students to the harbor.",
    "gopher_long_doc": (BASE + "\n") * 420,
    "gopher_short_mean_word": "\n".join(
        "I am to be at the zoo by six of it so we go on up to do it." for _ in range(6)),
    "gopher_long_mean_word": long_words_prose(),
    "gopher_too_many_hashes": BASE + "\n" + " ".join(f"x#y{i}" for i in range(40)),
    "gopher_too_many_ellipsis": "\n".join(
        "We walked slowly to the river ...... and we watched the boats sailing home ...... "
        "with the children that evening." for _ in range(8)),
    "gopher_too_many_bullet_lines": "\n".join(f"- the {w} of the garden with a quiet bridge and candle {i}"
                                              for i, w in enumerate(["river"] * 12)),
    "gopher_too_many_ellipsis_lines": "\n".join(
        line if i % 2 else line[:-1] + " ..." for i, line in enumerate(BASE.split("\n"))),
    "gopher_few_alpha_words": BASE + "\n" + " ".join(str(1000 + i) for i in range(200)),
}


@pytest.mark.parametrize("reason", list(GOPHER_QUALITY_CASES))
def test_gopher_quality_reasons(reason):
    assert failures(GOPHER_QUALITY_CASES[reason], GQ) == [reason]


def test_gopher_stop_words_per_language():
    german = GopherQualityFilter(stop_words={"en": ("the", "of"), "de": ("der", "die", "und")})
    assert failures(BASE, german, lang="de") == ["gopher_few_stop_words"]
    assert failures(BASE, german, lang="en") == []
    # a language without a list skips the rule (recorded), it is never rejected by English stop words
    result = german.evaluate(TextView(BASE, "sw"), collect_all=True)
    assert result.failures == [] and result.skipped == ["gopher_stop_words"]


def test_gopher_alpha_words_ratio_leaves_punctuation_tokens_out():
    # Heavily punctuated prose: a third of the tokens are punctuation, every word holds letters.
    punctuated = "\n".join(f"Indeed, the river (quiet, gentle) met the garden; yes, the candle {w}: bright!"
                            for w in ("burned", "glowed", "flickered", "shone", "faded", "waited"))
    assert sum(map(is_symbol_token, split_words(punctuated))) / len(split_words(punctuated)) > 0.3
    result = GQ.evaluate(TextView(punctuated, "en"), collect_all=True)
    assert result.signals["gopher_alpha_words_ratio"] == 1.0
    assert "gopher_few_alpha_words" not in result.failures
    # numbers are words without letters and still count against the ratio
    assert failures(GOPHER_QUALITY_CASES["gopher_few_alpha_words"], GQ, "en") == ["gopher_few_alpha_words"]


def test_gopher_stop_words_never_assume_english():
    # a document without a language is not judged by English stop words: the rule is skipped and says so
    result = GQ.evaluate(TextView("\n".join(["Ein ruhiger Fluss fliesst langsam durch einen alten Garten."] * 8)),
                         collect_all=True)
    assert "gopher_few_stop_words" not in result.failures and result.skipped == ["gopher_stop_words"]
    assert "default_language" not in GopherQualityFilter.model_fields


# Sentences written for these tests, and the same languages' nouns shuffled into word salad (no function words).
MORE_LANGUAGES = {
    "pl": ("To jest dom, w którym mieszka mój brat i jego żona, ale oni nie mają psa.",
           "dom brat żona pies ogród rzeka miasto okno szkoła droga"),
    "sv": ("Det är ett hus där min bror bor med sin fru, men de har inte någon hund.",
           "hus bror fru hund trädgård flod stad fönster skola väg"),
    "tr": ("Bu ev benim kardeşimin evi ve o burada eşi ile birlikte çok mutlu yaşıyor.",
           "ev kardeş eş köpek bahçe nehir şehir pencere okul yol"),
    "no": ("Det er et hus der min bror bor med sin kone, men de har ikke noen hund.",
           "hus bror kone hund hage elv by vindu skole vei"),
}


@pytest.mark.parametrize("lang", list(MORE_LANGUAGES))
def test_gopher_stop_words_from_spacy_beyond_the_listed_languages(lang):
    prose_text, salad = MORE_LANGUAGES[lang]
    assert lang not in GQ.stop_words  # not one of the hand-written lists: spaCy's list is used
    passing = GQ.evaluate(TextView("\n".join([prose_text] * 6), lang), collect_all=True)
    assert "gopher_few_stop_words" not in passing.failures and passing.signals["gopher_stop_words"] >= 2
    assert "gopher_few_stop_words" in failures("\n".join([salad] * 8), GQ, lang)


def test_gopher_stop_words_skip_languages_with_no_list_anywhere():
    salad = "\n".join(["nyumba kaka mke mbwa bustani mto mji dirisha shule njia"] * 8)
    result = GQ.evaluate(TextView(salad, "sw"), collect_all=True)  # Swahili: no list here nor in spaCy
    assert "gopher_few_stop_words" not in result.failures and result.skipped == ["gopher_stop_words"]
    serbian_latin = "\n".join(["kuća brat žena pas bašta reka grad prozor škola put"] * 8)
    assert "gopher_few_stop_words" in failures(serbian_latin, GQ, "sr_Latn")  # script suffix: the language's list
    no_spacy = GopherQualityFilter(spacy_stop_words=False)
    polish_salad = "\n".join([MORE_LANGUAGES["pl"][1]] * 8)
    assert no_spacy.evaluate(TextView(polish_salad, "pl"), collect_all=True).skipped == ["gopher_stop_words"]


def paragraphs(n: int, lines: int = 4, seed: int = 1) -> list[str]:
    return [prose(lines=lines, sentences_per_line=1, seed=seed + i) for i in range(n)]


def only(config: GopherRepetitionFilter, rule: str, **value) -> GopherRepetitionFilter:
    """The family with every rule but ``rule`` switched off (used where one rule implies another)."""
    off = {k: None for k in ("max_dup_para_frac", "max_dup_para_char_frac", "max_dup_line_frac",
                             "max_dup_line_char_frac")}
    return GopherRepetitionFilter(**{**off, **value}, max_top_ngram_char_frac={}, max_dup_ngram_char_frac={})


def repetition_cases() -> list[tuple[GopherRepetitionFilter, str]]:
    """(config, text) for each repetition reason in declared order; configs switch off rules the text also trips."""
    cases = []
    # many one-line duplicate paragraphs among long unique ones: paragraph fraction only
    cases.append((GR, "\n\n".join(paragraphs(7, lines=6) + ["Short note here."] * 5)))
    # a long duplicated paragraph repeats its lines and n-grams too
    paras = paragraphs(3, lines=4)
    cases.append((only(GR, "max_dup_para_char_frac", max_dup_para_char_frac=0.2), "\n\n".join(paras + [paras[0]])))
    # duplicate lines spread inside paragraphs: line fraction only
    lines = [line for p in paragraphs(6, lines=3) for line in p.split("\n")]
    cases.append((GR, "\n".join(line + "\nOk fine." for line in lines)))
    cases.append((only(GR, "max_dup_line_char_frac", max_dup_line_char_frac=0.2), "\n\n".join(paras + [paras[0]])))
    for n in (2, 3, 4):
        text = BASE + "\n" + " ".join(["alpha beta gamma delta"[: 11 * (n - 1) - 1]] * 60)
        cases.append((GopherRepetitionFilter(max_top_ngram_char_frac={n: GR.max_top_ngram_char_frac[n]},
                                             max_dup_ngram_char_frac={}, max_dup_line_char_frac=None), text))
    for n in range(5, 11):
        repeated = " ".join(f"w{i}" for i in range(n))
        text = prose(lines=20, seed=7) + "\n" + " and ".join([repeated] * 40)
        cases.append((GopherRepetitionFilter(max_top_ngram_char_frac={},
                                             max_dup_ngram_char_frac={n: GR.max_dup_ngram_char_frac[n]}), text))
    return cases


@pytest.mark.parametrize("case", range(len(repetition_cases())))
def test_gopher_repetition_reasons(case):
    config, text = repetition_cases()[case]
    assert failures(text, config) == [GR.emitted_reasons()[case]]


@pytest.mark.parametrize("rule", ["max_dup_para_char_frac", "max_dup_line_char_frac"])
def test_gopher_repetition_char_fraction_rules_pass_clean_prose(rule):
    assert failures(prose(), only(GR, rule, **{rule: 0.2})) == []


def test_gopher_repetition_defaults_catch_boilerplate_loops():
    text = "\n".join(["Click here to subscribe to our newsletter today."] * 30)
    assert failures(text, GR)[0] == "gopher_dup_line_frac"


C4_CASES = {
    "c4_lorem_ipsum": BASE + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "c4_curly_bracket": BASE + "\nWrite the value inside {braces} like this.",
    "c4_too_few_sentences": "The first line has one sentence here.\nThe second line has another one.",
}


@pytest.mark.parametrize("reason", list(C4_CASES))
def test_c4_reasons(reason):
    assert failures(C4_CASES[reason], C4) == [reason]


def test_c4_line_cleaning_rewrites_text():
    text = (BASE + "\nMenu\nPlease enable JavaScript to view the comments.\nRead our privacy policy today."
            "\nA cite[1] here is fine.")
    result = C4.evaluate(TextView(text))
    assert result.reason is None
    assert result.text == BASE + "\nA cite here is fine."
    # FineWeb's variant keeps lines without terminal punctuation
    fineweb_c4 = C4Filter(drop_lines_without_terminal_punct=False, min_words_per_line=None)
    assert "Menu" in fineweb_c4.evaluate(TextView(text)).text


FINEWEB_CASES = {
    "fineweb_line_punct_ratio": "\n".join(s.rstrip(".") for s in BASE.split("\n")),
    "fineweb_short_line_ratio": "\n".join(f"The {w} sat on a mat {i}." for i, w in enumerate(["cat"] * 20)),
    "fineweb_char_dup_ratio": BASE + "\n" + BASE.split("\n")[0],
    "fineweb_list_ratio": "\n".join(f"Incomprehensibilities{i} notwithstanding." for i in range(20)),
}


@pytest.mark.parametrize("reason", list(FINEWEB_CASES))
def test_fineweb_reasons(reason):
    assert failures(FINEWEB_CASES[reason], FW) == [reason]


def test_every_reason_is_tested_and_family_prefixed():
    tested = (set(GOPHER_QUALITY_CASES) | set(C4_CASES) | set(FINEWEB_CASES) | {"gopher_few_stop_words"}
              | {"gopher_dup_para_frac", "gopher_dup_line_frac", "gopher_dup_para_char_frac",
                 "gopher_dup_line_char_frac"} | {f"gopher_top_{n}_gram" for n in (2, 3, 4)}
              | {f"gopher_dup_{n}_gram" for n in range(5, 11)})
    declared = {family: filter_class(family).reasons for family in FILTERS}
    # c4_empty_after_cleaning is decided by the stage (tests/quality/test_stage.py)
    assert {r for rs in declared.values() for r in rs} == tested | {"c4_empty_after_cleaning"}
    for family, reasons in declared.items():
        assert all(r.startswith(family.split("_")[0] + "_") for r in reasons)


def test_switched_off_rules_never_fire():
    config = GopherQualityFilter(min_doc_words=None)
    assert "gopher_short_doc" not in failures(GOPHER_QUALITY_CASES["gopher_short_doc"], config)
    assert failures("", GopherQualityFilter()) == ["gopher_short_doc"]
    assert failures("", FW) == [] and failures("", GR) == []


def test_long_punctuation_runs_split_in_linear_time():
    # two join alternatives can match the same character; without possessive quantifiers this input backtracks
    # exponentially and never returns
    assert split_words("a" + "=" * 5000 + " x") == ["a"] + ["="] * 5000 + ["x"]


def test_texts_without_links_split_as_with_the_link_alternatives():
    # split_words runs chunk by chunk, takes all-alphanumeric chunks whole and drops the URL / e-mail / www
    # alternatives for chunks holding none of LINK_MARKERS; on random texts over the characters every alternative
    # (and every kind of whitespace) reacts to, it gives the tokens of the whole pattern over the whole text.
    import random

    from curator.quality.heuristics import LINK_MARKERS, WORD_SPLIT_RE

    # Every kind of whitespace str.split() and the pattern's \s know (split_words works chunk by chunk).
    pieces = list("aAbZz09 .,;:-_/<>='\u2019\u2026+!?()\"\n\t&\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000\u200b²٣") + [
        "Mr", "St", "approx", "e.g.", "U.S.", "L.", "it's", "don't", "...", "--", "é", "日", "1,000", "COVID-19"]
    links = ["http://", "https://", "ftp://", "mailto:", "@", "www.", "x.org", "a@b.co"]
    rng = random.Random(3)
    with_links = 0
    for _ in range(20_000):
        text = "".join(rng.choice(pieces + links * (rng.random() < 0.5)) for _ in range(rng.randrange(1, 30)))
        with_links += any(marker in text for marker in LINK_MARKERS)
        assert split_words(text) == WORD_SPLIT_RE.findall(text), text
    assert 5_000 < with_links < 15_000


def test_word_ngrams_equal_the_reference_repetition_measures():
    # WordNgrams (integer n-gram keys, what the gopher_repetition family runs) against the plain definitions, on
    # random documents with small vocabularies and periodic runs, where repeats, overlaps and skips are frequent.
    import random
    from itertools import accumulate

    from curator.quality.heuristics import WordNgrams, duplicate_ngram_chars, top_ngram_chars

    rng = random.Random(7)
    for _ in range(600):
        # words pandas could take for missing values stay words (the keys come from pandas.factorize)
        vocabulary = [f"w{i}" + "x" * rng.randrange(3) for i in range(rng.choice([1, 2, 3, 8, 40]))]
        vocabulary += rng.sample(["nan", "NaN", "None", "NA", "null"], rng.randrange(3))
        words = [rng.choice(vocabulary) for _ in range(rng.choice([0, 1, 3, 9, 40, 200]))]
        if len(words) > 10 and rng.random() < 0.3:
            period = rng.randrange(2, 8)
            words = (words[:period] * len(words))[:len(words)] + words[:5]
        ngrams = WordNgrams(words)
        cumulative = [0, *accumulate(map(len, words))]
        for n in range(1, 11):
            assert ngrams.top_chars(n) == top_ngram_chars(words, n), (n, words)
            assert ngrams.duplicate_chars(n) == duplicate_ngram_chars(words, n, cumulative), (n, words)
