"""line_dedup on real text from ../shared/data (an extra layer: skipped when the data is absent).

Web pages with their navigation and footers (trafilatura's annotated evaluation pages) and raw mailing-list mails
(SpamAssassin ham): repeated navigation lines, list footers and signatures must go, article prose must stay.
"""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from curator.linededup.evaluate import line_fates, mail_regions, snippet_chars
from curator.linededup.stage import LineDedupConfig, LineDedupStage
from curator.stage import StageContext
from tests.conftest import SHARED_DATA


pytestmark = [pytest.mark.spark, pytest.mark.slow]

SCHEMA = "id string, text string, source string, url string, meta string"


@pytest.fixture(scope="module")
def data_dir():
    """The shared data folder for module-scoped fixtures (the ``shared_data`` fixture is per test)."""
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA


def dedup(spark, docs: list[dict], tmp, **config) -> dict[str, str | None]:
    """Output text per id with the default config (None = rejected)."""
    shutil.rmtree(tmp, ignore_errors=True)
    ctx = StageContext(spark=spark, run_dir=tmp, scratch_dir=tmp / "scratch", stage_name="line_dedup")
    df = spark.createDataFrame([(d["id"], d["text"], "t", None, "{}") for d in docs], SCHEMA)
    annotated = LineDedupStage(LineDedupConfig(**config)).annotate(df, ctx)
    return {r["id"]: (r["text"] if r["reason"] is None else None)
            for r in annotated.frame.select("id", "text", "reason").toLocalIterator()}


@pytest.fixture(scope="module")
def pages(data_dir):
    with gzip.open(data_dir / "trafilatura-eval" / "trafilatura_wetlike.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    return [{"id": f"{r['dir']}/{r['file']}", "text": r["text"], "gold_with": r["gold_with"],
             "gold_without": r["gold_without"]} for r in rows]


@pytest.fixture(scope="module")
def page_outputs(spark, pages, tmp_path_factory):
    return dedup(spark, pages, tmp_path_factory.mktemp("pages"))


def test_web_pages_keep_main_content_and_lose_repeated_boilerplate(pages, page_outputs):
    main = [0, 0]
    boiler = [0, 0]
    for page in pages:
        for total, snippets in ((main, page["gold_with"]), (boiler, page["gold_without"])):
            present, survived = snippet_chars(page["text"], page_outputs[page["id"]], snippets)
            total[0] += present
            total[1] += survived
    assert main[1] / main[0] >= 0.97
    assert 1 - boiler[1] / boiler[0] >= 0.10


def test_comment_form_boilerplate_goes_except_on_the_first_page(pages, page_outputs):
    # WordPress's German comment form, on blogs of many different sites: the first page (by id) keeps it.
    line = "Deine E-Mail-Adresse wird nicht veröffentlicht. Erforderliche Felder sind mit * markiert."
    holders = sorted(p["id"] for p in pages if line in p["text"].split("\n"))
    assert len(holders) >= 10
    assert [i for i in holders if line in page_outputs[i].split("\n")] == holders[:1]
    # The articles on those pages stay.
    present = survived = 0
    for page in pages:
        if page["id"] in holders:
            p, s = snippet_chars(page["text"], page_outputs[page["id"]], page["gold_with"])
            present, survived = present + p, survived + s
    assert survived / present >= 0.97


@pytest.fixture(scope="module")
def mails(data_dir):
    with gzip.open(data_dir / "spamassassin" / "spamassassin.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    return [{"id": f"{r['group']}/{r['id']}", "text": r["text"]} for r in rows if r["group"] == "easy-ham-1"]


@pytest.fixture(scope="module")
def mail_outputs(spark, mails, tmp_path_factory):
    return dedup(spark, mails, tmp_path_factory.mktemp("mails"))


def test_mailing_list_footers_and_repeated_signatures_go(mails, mail_outputs):
    footer = "Irregulars mailing list"
    holders = sorted(m["id"] for m in mails if footer in m["text"].split("\n"))
    assert len(holders) >= 3
    kept_in = [i for i in holders if footer in mail_outputs[i].split("\n")]
    assert kept_in == holders[:1]
    # The signature of a frequent poster goes from every mail but the first one that carries it.
    signature = "Scottish Microelectronics Centre, University of Edinburgh."
    carriers = sorted(m["id"] for m in mails if signature in m["text"].split("\n"))
    assert len(carriers) >= 3
    assert [i for i in carriers if signature in mail_outputs[i].split("\n")] == carriers[:1]
    removed = kept = 0
    prose_removed = prose = 0
    for mail in mails:
        regions = mail_regions(mail["text"])
        fates = line_fates(mail["text"], mail_outputs[mail["id"]])
        for i in regions.footer:
            kept += not fates[i][1]
            removed += fates[i][1]
        for i in regions.prose:
            prose += len(fates[i][0])
            prose_removed += len(fates[i][0]) * fates[i][1]
    assert removed / (removed + kept) >= 0.5
    assert 1 - prose_removed / prose >= 0.85
