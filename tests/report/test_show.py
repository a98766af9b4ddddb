"""`curator show`: filtering, seeded sampling, errors that name what exists, and the JSON output."""

from __future__ import annotations

import json

import pytest

from curator.errors import CuratorError
from curator.report.show import documents_json, render_documents, sample_documents


pytestmark = [pytest.mark.spark, pytest.mark.slow]  # uses the shared small run (see conftest.py)


def test_kept_documents_with_their_annotations(spark, small_run):
    docs = sample_documents(spark, small_run.root, "langid", n=4)
    assert len(docs) == 4
    for doc in docs:
        assert doc["lang"] in ("en", "de") and 0 <= doc["lang_score"] <= 1 and "reason" not in doc
        assert doc["chars"] >= len(doc["text"])


def test_reason_implies_rejected_and_filters(spark, small_run):
    docs = sample_documents(spark, small_run.root, "langid", reason="lid_wrong_language", n=10)
    assert {d["id"] for d in docs} == {"fr-0", "fr-1"}
    assert {d["reason"] for d in docs} == {"lid_wrong_language"} and {d["stage"] for d in docs} == {"langid"}


def test_lang_filter_seed_and_n(spark, small_run):
    german = sample_documents(spark, small_run.root, "pii", lang="de", n=3, seed=1)
    assert len(german) == 3 and {d["lang"] for d in german} == {"de"}
    assert [d["id"] for d in sample_documents(spark, small_run.root, "pii", lang="de", n=3, seed=1)] == \
        [d["id"] for d in german]  # same seed, same documents
    all_german = sample_documents(spark, small_run.root, "pii", lang="de", n=100, seed=1)
    other_seed = sample_documents(spark, small_run.root, "pii", lang="de", n=100, seed=2)
    assert sorted(d["id"] for d in all_german) == sorted(d["id"] for d in other_seed)
    assert [d["id"] for d in all_german] != [d["id"] for d in other_seed]  # another seed, another order


def test_max_chars_cuts_text(spark, small_run):
    doc = sample_documents(spark, small_run.root, "ingest", n=1, max_chars=20)[0]
    assert len(doc["text"]) == 20 and doc["chars"] > 20


def test_errors_name_what_exists(spark, small_run):
    with pytest.raises(CuratorError, match="document stages: ingest, langid"):
        sample_documents(spark, small_run.root, "nope")
    with pytest.raises(CuratorError, match="curator inspect"):
        sample_documents(spark, small_run.root, "tokenize")
    with pytest.raises(CuratorError, match=r"its reasons: .*lid_wrong_language \(2\)"):
        sample_documents(spark, small_run.root, "langid", reason="gopher_short_doc")
    with pytest.raises(CuratorError, match="no `lang` column"):
        sample_documents(spark, small_run.root, "ingest", lang="en")
    with pytest.raises(CuratorError, match="no run folder"):
        sample_documents(spark, small_run.root / "missing", "ingest")


def test_rendering_keeps_markup_as_text(spark, small_run):
    from rich.console import Console

    docs = sample_documents(spark, small_run.root, "langid", reason="lid_wrong_language", n=10)
    console = Console(record=True, width=100)
    render_documents(docs, console, "langid rejected")
    out = console.export_text()
    assert "<script>alert('report')</script>" in out and "lid_wrong_language" in out
    assert [json.loads(line)["id"] for line in documents_json(docs).splitlines()] == [d["id"] for d in docs]


def test_cli_json(spark, small_run, capsys):
    from curator.cli import main

    main(["show", str(small_run.root), "dedup", "--reason", "exact_duplicate", "-n", "5", "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert rows and {r["reason"] for r in rows} == {"exact_duplicate"}
    assert {r["id"] for r in rows} >= {"en-copy-0", "en-copy-1"} - {r["reason_detail"] for r in rows}


def test_arrow_sampling_shows_the_same_documents_as_spark(spark, small_run):
    for kwargs in ({"stage_name": "langid", "n": 4}, {"stage_name": "langid", "reason": "lid_wrong_language", "n": 10},
                   {"stage_name": "pii", "lang": "de", "n": 3, "seed": 1}, {"stage_name": "dedup", "rejected": True},
                   {"stage_name": "quality", "n": 100, "max_chars": None}):
        on_spark = sample_documents(spark, small_run.root, **kwargs)
        assert sample_documents(None, small_run.root, **kwargs) == on_spark and on_spark, kwargs
