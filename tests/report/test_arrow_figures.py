"""The report's figures over Arrow tables (a small run that never started Spark) equal the Spark figures."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.report import REPORT_HTML, REPORT_JSON, arrow_figures, write_reports
from curator.report.figures import collect_figures
from curator.report.run import read_run


@pytest.mark.spark
@pytest.mark.slow  # the shared small run (tests/report/conftest.py); .ci/run runs tests/report -m slow
def test_every_figure_equals_the_spark_figure(spark, small_run):
    run = read_run(small_run.root)
    on_spark, in_process = collect_figures(spark, run), arrow_figures.collect_figures(run)
    assert list(in_process) == list(on_spark)
    for name in on_spark:
        assert in_process[name] == on_spark[name], name
    # The run has something in every figure, so the comparison covers each rule.
    assert on_spark["histograms"] and on_spark["group_sizes"] and on_spark["tokenizer"]["bytes_per_token"]
    assert any(e.get("kept_counterpart") for g in on_spark["examples"] for e in g["examples"])


def write_stage(root, name: str, kept: dict, rejected: dict, stats: dict) -> None:
    stage = root / name
    (stage / "data").mkdir(parents=True)
    (stage / "rejected").mkdir()
    pq.write_table(pa.table(kept), stage / "data" / "part-0.parquet")
    pq.write_table(pa.table(rejected), stage / "rejected" / "part-0.parquet")
    (stage / "stats.json").write_text(json.dumps(stats))
    (stage / "_COMPLETE").write_text(json.dumps({"finished": 1}))


def test_in_process_report_of_a_small_run(tmp_path):
    write_stage(tmp_path, "quality",
                {"id": ["a", "b", "c", "d"], "text": ["xy", "é", None, "word"], "lang": ["en", "en", None, "de"],
                 "quality_score": [0.95, None, float("nan"), 0.5], "quality_count": [1, 2, 3, 4]},
                {"id": ["e", "f"], "text": ["yyy", "zz"], "lang": ["en", "fr"], "quality_score": [0.01, None],
                 "quality_count": [5, 6], "reason": ["quality_classifier_low_score"] * 2,
                 "reason_detail": [None, None], "stage": ["quality"] * 2},
                {"in": 6, "kept": 4, "rejected_total": 2, "kind": "quality",
                 "rejected": {"quality_classifier_low_score": 2}})
    run = read_run(tmp_path)
    figures = arrow_figures.collect_figures(run, examples_per_reason=1)
    [histogram] = figures["histograms"]  # the integer column is not a score; null and NaN scores are not counted
    assert histogram["column"] == "quality_score" and histogram["edges"][0] == 0.0
    assert sum(histogram["kept"]) == 2 and histogram["kept"][10] == 1 and histogram["rejected"][0] == 1
    [funnel] = figures["stages"]
    assert (funnel["docs_kept"], funnel["chars_kept"], funnel["docs_rejected"], funnel["chars_rejected"]) == (4, 7, 2, 5)
    languages = {r["lang"]: r for r in figures["languages"]["rows"]}
    assert languages["en"]["kept_docs"] == 2 and languages["(none)"]["kept_docs"] == 1
    assert languages["fr"]["removed_chars"] == 2
    [examples] = figures["examples"]
    assert examples["count"] == 2 and len(examples["examples"]) == 1
    path = write_reports(tmp_path, in_process=True)
    assert path.name == REPORT_HTML and json.loads((tmp_path / REPORT_JSON).read_text())["histograms"]
