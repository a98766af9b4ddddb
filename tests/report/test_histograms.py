"""Score histograms on Spark: missing (null) and NaN scores are left out, every other score is counted once."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.report.figures import score_histograms
from curator.report.run import read_run


pytestmark = [pytest.mark.spark, pytest.mark.slow]  # several small Spark jobs; .ci/run runs tests/report -m slow


def test_null_and_nan_scores_are_not_counted(spark, tmp_path):
    stage = tmp_path / "quality"
    (stage / "data").mkdir(parents=True)
    (stage / "rejected").mkdir()
    kept = {"id": ["a", "b", "c", "d"], "text": ["x"] * 4, "quality_score": [0.95, None, float("nan"), 0.5],
            "quality_count": [1, 2, 3, 4]}
    rejected = {"id": ["e", "f"], "text": ["y"] * 2, "quality_score": [0.01, None], "quality_count": [5, 6],
                "reason": ["quality_classifier_low_score"] * 2}
    pq.write_table(pa.table(kept), stage / "data" / "part-0.parquet")
    pq.write_table(pa.table(rejected), stage / "rejected" / "part-0.parquet")
    (stage / "stats.json").write_text(json.dumps({"in": 6, "kept": 4, "rejected_total": 2, "kind": "quality"}))
    (stage / "_COMPLETE").write_text(json.dumps({"finished": 1}))
    [histogram] = score_histograms(spark, read_run(tmp_path), bins=10)  # the integer column is not a score
    assert histogram["column"] == "quality_score" and histogram["edges"][0] == 0.0
    assert sum(histogram["kept"]) == 2 and histogram["kept"][9] == 1 and histogram["kept"][5] == 1
    assert sum(histogram["rejected"]) == 1 and histogram["rejected"][0] == 1
