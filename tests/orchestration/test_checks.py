"""verify_run: the check that closes every orchestrated run (no Airflow needed)."""

from __future__ import annotations

import json

import pytest

from curator.errors import CuratorError, LedgerError
from curator.orchestration.checks import verify_run
from curator.spark.runner import MARKER, PipelineRunner
from curator.specs import load_pipeline
from tests.orchestration.conftest import write_tiny_spec


pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, spark):
    folder = tmp_path_factory.mktemp("checks")
    output = folder / "out"
    spec_path = write_tiny_spec(folder, "checks", output)
    runner = PipelineRunner(load_pipeline(spec_path), output=str(output), spark=spark)
    runner.run_all()
    return spec_path, output


def test_complete_run_returns_the_balanced_ledger(finished_run):
    spec_path, output = finished_run
    ledger = verify_run(spec_path, output)
    assert ledger["balanced"] and ledger["input"] == 5 and ledger["kept"] == 2
    assert [row["stage"] for row in ledger["stages"]] == ["ingest", "langid"]
    assert json.loads((output / "ledger.json").read_text()) == ledger


@pytest.mark.parametrize("marker_state", ["missing", "other_spec"])
def test_unfinished_or_stale_stages_are_named(finished_run, marker_state):
    spec_path, output = finished_run
    marker = output / "langid" / MARKER
    original = marker.read_text()
    try:
        if marker_state == "missing":
            marker.unlink()
        else:  # a marker left by a run of a different spec
            marker.write_text(json.dumps({**json.loads(original), "fingerprint": "0" * 20}))
        with pytest.raises(CuratorError, match=r"stages without a matching completion marker: langid$"):
            verify_run(spec_path, output)
    finally:
        marker.write_text(original)


def test_tampered_stats_fail_the_ledger(finished_run):
    spec_path, output = finished_run
    stats_file = output / "langid" / "stats.json"
    original = stats_file.read_text()
    stats = json.loads(original)
    stats["kept"] += 1  # one document appears from nowhere
    try:
        stats_file.write_text(json.dumps(stats))
        with pytest.raises(LedgerError, match="does not balance"):
            verify_run(spec_path, output)
    finally:
        stats_file.write_text(original)
