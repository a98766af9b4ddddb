"""The run report over a real small run: every figure checked against the stats, the written data or the corpus."""

from __future__ import annotations

import json
import re

import pytest

from curator.report import REPORT_HTML, REPORT_JSON, REPORT_MD, write_reports
from curator.report.figures import collect_figures, histogram_edges
from curator.report.html import SECTIONS
from curator.report.run import read_run


# The shared run takes a minute or more on 2 cores: these run in CI through .ci/run (`pytest -m slow tests/report`).
pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def figures(spark, small_run):
    return collect_figures(spark, read_run(small_run.root))


def test_run_all_writes_the_three_reports(small_run):
    for name in (REPORT_HTML, REPORT_MD, REPORT_JSON):
        assert (small_run.root / name).stat().st_size > 0
    assert json.loads((small_run.root / REPORT_JSON).read_text())["ledger"]["balanced"]


def test_stages_are_discovered_in_run_order(small_run):
    run = read_run(small_run.root)
    assert [s.name for s in run.stages] == ["ingest", "langid", "quality", "dedup", "pii", "train_tokenizer",
                                            "tokenize"]
    assert [s.name for s in run.sink_stages] == ["train_tokenizer", "tokenize"]


def test_funnel_counts_documents_and_characters_from_the_data(figures, small_run):
    rows = {r["stage"]: r for r in figures["stages"]}
    well_formed_chars = sum(len(r["text"]) for r in small_run.corpus)
    ingest = rows["ingest"]
    assert ingest["docs_kept"] == len(small_run.corpus) and ingest["docs_rejected"] == 1  # the malformed line
    assert ingest["chars_kept"] == well_formed_chars
    previous = None
    for name in ("ingest", "langid", "quality", "dedup", "pii"):
        stats, row = small_run.stats(name), rows[name]
        assert (row["docs_in"], row["docs_kept"], row["docs_rejected"]) == (
            stats["in"], stats["kept"], stats["rejected_total"])
        if previous is not None:
            assert row["chars_in"] == previous["chars_kept"]
        assert row["chars_in"] == row["chars_kept"] + row["chars_rejected"] + row["chars_edited"]
        previous = row
    # The pii stage rewrote one e-mail address into a placeholder: characters edited, no document rejected.
    assert rows["pii"]["docs_rejected"] == 0
    assert rows["pii"]["chars_edited"] == len("jane.doe@example.org") - len("<EMAIL_ADDRESS>")
    assert rows["tokenize"]["sink"]


def test_languages_account_for_every_document_and_token(figures, small_run):
    languages = figures["languages"]
    by_lang = {r["lang"]: r for r in languages["rows"]}
    ledger = json.loads((small_run.root / "ledger.json").read_text())
    assert sum(r["kept_docs"] for r in by_lang.values()) == ledger["kept"]
    assert sum(r["removed_docs"] for r in by_lang.values()) == ledger["rejected_total"]
    assert by_lang["fr"]["kept_docs"] == 0 and by_lang["fr"]["removed_docs"] == 2
    assert by_lang["(none)"]["removed_docs"] == 1  # the malformed line, rejected before langid
    assert by_lang["de"]["kept_docs"] > 0
    # Tokens counted by the report = tokens in the shards minus one end-of-document token per document.
    shards = json.loads((small_run.root / "tokenize" / "tokens" / "manifest.json").read_text())
    assert languages["tokens"]
    assert sum(r["kept_tokens"] for r in by_lang.values()) == shards["tokens"] - shards["documents"]


def test_histograms_cover_every_document_of_the_stage_that_added_the_score(figures, small_run):
    by_column = {h["column"]: h for h in figures["histograms"]}
    lang_score = by_column["lang_score"]
    assert lang_score["stage"] == "langid" and len(lang_score["edges"]) == 21
    stats = small_run.stats("langid")
    assert sum(lang_score["kept"]) == stats["kept"] and sum(lang_score["rejected"]) == stats["rejected_total"]
    assert [h["column"] for h in figures["histograms"]].count("lang_score") == 1  # not repeated downstream
    assert all(not c.startswith("dup_") for c in by_column)  # integer columns are not scores


def test_histogram_edges():
    assert histogram_edges(0.2, 0.9, 4) == [0.0, 0.25, 0.5, 0.75, 1.0]  # scores in [0, 1] use the unit range
    assert histogram_edges(2.0, 10.0, 4) == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert histogram_edges(3.0, 3.0, 2) == [3.0, 3.5, 4.0]
    assert histogram_edges(None, None, 4) is None


def test_duplicate_groups_and_totals(figures, small_run):
    dedup = small_run.stats("dedup")
    sizes = figures["group_sizes"]
    assert list(sizes) == ["dedup"]  # shown where the column was added, not for the stages that carry it on
    assert sum(sizes["dedup"].values()) == dedup["extra"]["groups"] > 0
    assert figures["totals"]["pii"]["pii_email_address"] == 1


def test_examples_cover_every_reason_and_show_duplicate_survivors(figures, small_run):
    groups = {(g["stage"], g["reason"]): g for g in figures["examples"]}
    expected = {(stage, reason) for stage in ("ingest", "langid", "quality", "dedup", "pii")
                for reason in small_run.stats(stage)["rejected"]}
    assert set(groups) == expected
    assert ("dedup", "exact_duplicate") in groups
    for group in groups.values():
        assert 1 <= len(group["examples"]) <= 3
    for example in groups[("dedup", "exact_duplicate")]["examples"]:
        survivor = example["kept_counterpart"]
        assert survivor["id"] == example["annotations"]["reason_detail"] and survivor["text"] == example["text"]


def test_tokenizer_bytes_per_token_on_held_out_documents(figures, spark, small_run):
    from curator.tokenization.train import heldout_documents

    tokenizer = figures["tokenizer"]
    assert tokenizer["vocab_size"] <= 400 and tokenizer["measured_on"].startswith("held-out")
    heldout = (spark.read.parquet(str(small_run.root / "pii" / "data")).where(heldout_documents(0.25, 1234))
               .groupBy("lang").count().collect())
    assert {r["lang"]: r["docs"] for r in tokenizer["bytes_per_token"]} == {r["lang"]: r["count"] for r in heldout}
    assert sum(r["docs"] for r in tokenizer["bytes_per_token"]) < small_run.stats("pii")["kept"]
    for row in tokenizer["bytes_per_token"]:
        assert row["bytes_per_token"] == pytest.approx(row["bytes"] / row["tokens"], abs=1e-3)
    assert small_run.stats("train_tokenizer")["sampled_documents"] + sum(
        r["docs"] for r in tokenizer["bytes_per_token"]) == small_run.stats("pii")["kept"]


def test_shards_match_the_manifest(figures, small_run):
    manifest = json.loads((small_run.root / "tokenize" / "tokens" / "manifest.json").read_text())
    shards = figures["shards"]
    assert (shards["documents"], shards["tokens"], shards["dtype"]) == (
        manifest["documents"], manifest["tokens"], manifest["dtype"])
    assert sum(s["tokens"] for s in shards["shards"]) == manifest["tokens"]


def test_html_is_self_contained_escaped_and_complete(small_run):
    page = (small_run.root / REPORT_HTML).read_text(encoding="utf-8")
    for key, _ in SECTIONS:
        assert f'<section id="{key}">' in page
    assert "<script" not in page  # the French document's markup is escaped, and the page has no script
    assert "&lt;script&gt;alert(&#x27;report&#x27;)&lt;/script&gt;" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing loaded from elsewhere
    charts = re.findall(r'data-chart="([^"]+)"', page)
    assert {"funnel", "reasons", "languages", "hist-lang_score", "group-sizes-dedup", "totals-pii",
            "bytes-per-token", "shards"} <= set(charts)
    svg_ids = re.findall(r'<svg[^>]*>|id="([^"]+)"', page)
    ids = [i for i in svg_ids if i]
    assert len(ids) == len(set(ids))  # chart element ids never clash between the inline SVGs


def test_markdown_without_spark_is_written_after_every_stage(small_run, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(small_run.root, copy)
    path = write_reports(copy)  # no Spark session: report.md from the stats alone
    text = path.read_text()
    assert path.name == REPORT_MD and "| dedup |" in text and "curator report RUN_DIR" in text


def test_full_markdown_has_the_figures(small_run):
    text = (small_run.root / REPORT_MD).read_text()
    for heading in ("## Languages", "## Score columns", "## Duplicate groups (dedup)", "## Totals (pii)",
                    "## Tokenizer", "## Token shards", "## Rejected examples"):
        assert heading in text
