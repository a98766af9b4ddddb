"""Discovering a run's stages from its folder alone (no spec, no Spark)."""

from __future__ import annotations

import json

from curator.report.run import read_run


def write_stage(root, name, stats, finished, complete=True):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "stats.json").write_text(json.dumps(stats))
    if complete:
        (folder / "_COMPLETE").write_text(json.dumps({"fingerprint": "x", "finished": finished}))


def test_ledger_order_then_unlisted_document_stages_then_sinks(tmp_path):
    write_stage(tmp_path, "tokenize", {"sink": True, "kind": "tokenize"}, 50)
    write_stage(tmp_path, "train_tokenizer", {"sink": True, "kind": "train_tokenizer"}, 40)
    write_stage(tmp_path, "langid", {"in": 9, "kind": "langid"}, 20)
    write_stage(tmp_path, "ingest", {"in": 10, "kind": "ingest"}, 10)
    write_stage(tmp_path, "url_filter", {"in": 8, "kind": "url_filter"}, 30)  # a stage the ledger does not list
    write_stage(tmp_path, "half_done", {"in": 8}, 35, complete=False)  # no marker: not a completed stage
    (tmp_path / "_scratch").mkdir()
    (tmp_path / "ledger.json").write_text(json.dumps({"stages": [{"stage": "ingest"}, {"stage": "langid"}]}))
    run = read_run(tmp_path)
    assert [s.name for s in run.stages] == ["ingest", "langid", "url_filter", "train_tokenizer", "tokenize"]
    assert [s.name for s in run.sink_stages] == ["train_tokenizer", "tokenize"]
    assert run.stage("url_filter").kind == "url_filter" and run.of_kind("tokenize")[0].is_sink


def test_an_empty_folder_has_no_stages(tmp_path):
    assert read_run(tmp_path).stages == []
