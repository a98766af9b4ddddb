"""WARC/WET through the real runner: documents with URLs, every record accounted for, url_filter after ingest."""

from __future__ import annotations

import json

import pytest

from tests.io import warc_fixture as wf


def run_pipeline(spark, tmp_path, paths, stages):
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    spec = PipelineSpec.model_validate({"name": "warc-test", "input": {"paths": [str(p) for p in paths]},
                                        "output": str(tmp_path / "run"), "stages": stages})
    runner = PipelineRunner(spec, spark=spark)
    return runner, runner.run_all()


@pytest.mark.spark
def test_generated_crawl_through_ingest_and_url_filter(spark, tmp_path):
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    wf.write_warc(crawl / "a.warc.gz", wf.crawl_records())
    wf.write_warc(crawl / "b.warc.wet.gz", [wf.warcinfo(), wf.conversion("https://blocked.example.com/p", "Text.")])
    (crawl / "c.jsonl").write_text('{"id": "j1", "text": "A JSONL document beside the crawl."}\n')
    runner, results = run_pipeline(spark, tmp_path, [crawl], [
        {"stage": "ingest", "extractor": "resiliparse"},
        {"stage": "url_filter", "domains": ["example.com"]},
    ])
    ingest, url_filter = results[0].stats, results[1].stats
    # 6 responses + 1 conversion + 1 JSONL line are documents; warcinfo/request/metadata are tallied, not rows.
    assert ingest["in"] == 8 and ingest["kept"] == 4
    assert ingest["rejected"] == {"empty_extraction": 1, "http_status": 1, "non_html": 1, "undecodable": 1}
    assert ingest["extra"]["warc_records"] == {"conversion": 1, "metadata": 1, "request": 1, "response": 6,
                                               "warcinfo": 2}
    assert ingest["extra"]["warc_records_not_documents"] == {"metadata": 1, "request": 1, "warcinfo": 2}
    assert url_filter["rejected"] == {"url_blocked": 1} and url_filter["kept"] == 3
    assert runner.ledger()["balanced"]
    kept = {r["url"]: r.asDict() for r in spark.read.parquet(str(tmp_path / "run" / "url_filter" / "data")).collect()}
    assert set(kept) == {"https://harbour.example.org/day", "https://harbour.example.ru/gavan", None}
    assert wf.ARTICLE_PARAGRAPHS[0] in kept["https://harbour.example.org/day"]["text"]
    assert json.loads(kept["https://harbour.example.ru/gavan"]["meta"])["charset"] == "cp1251"
    rejected = spark.read.parquet(str(tmp_path / "run" / "url_filter" / "rejected")).collect()
    assert [(r["url"], r["reason_detail"]) for r in rejected] == [("https://blocked.example.com/p",
                                                                   "domain:example.com")]


@pytest.mark.spark
@pytest.mark.slow
def test_real_crawl_files_through_the_runner(spark, tmp_path, shared_data):
    paths = [shared_data / "resiliparse-cc-warc", shared_data / "commoncrawl-whirlwind"]
    runner, results = run_pipeline(spark, tmp_path, paths, [{"stage": "ingest"}])  # default: trafilatura
    stats = results[0].stats
    records = stats["extra"]["warc_records"]
    # 16 + 29 + 1 responses, 1 WET conversion; the WAT file holds only warcinfo + metadata
    assert records["response"] == 46 and records["conversion"] == 1 and stats["in"] == 47
    assert sum(records.values()) - sum(stats["extra"]["warc_records_not_documents"].values()) == stats["in"]
    assert set(stats["rejected"]) <= {"empty_extraction"} and stats["kept"] >= 40
    assert runner.ledger()["balanced"]
    kept = spark.read.parquet(str(tmp_path / "run" / "ingest" / "data")).collect()
    assert all(r["url"].startswith("http") and r["text"].strip() for r in kept)
    assert all("<div" not in r["text"] and "<p>" not in r["text"] for r in kept)
