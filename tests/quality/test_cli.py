"""`curator quality train` end to end through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from curator.cli import main
from tests.quality.docs import prose


def test_quality_train_command(tmp_path, capsys):
    labelled = tmp_path / "labelled.jsonl"
    with labelled.open("w") as f:
        for s in range(50):
            f.write(json.dumps({"body": prose(lines=3, seed=s), "kind": "article"}) + "\n")
            spam = f"WIN cash now {s}!!! click free pills offer $$$ " * 4
            f.write(json.dumps({"body": spam, "kind": "spam"}) + "\n")
            f.write(json.dumps({"body": "ignored row", "kind": "other"}) + "\n")
    out = tmp_path / "model.ftz"
    main(["quality", "train", "-o", str(out), "--labelled", f"{labelled}::body", "--label-column", "kind",
          "--positive-labels", "article", "--negative-labels", "spam", "--epoch", "5", "--min-count", "1",
          "--holdout-fraction", "0.2"])  # returns normally on success
    report = json.loads((tmp_path / "model.ftz.json").read_text())
    assert out.is_file() and report["heldout"]["auc"] > 0.9
    assert report["train_examples"]["hq"] + report["heldout_examples"]["hq"] == 50  # "other" rows ignored
    assert "auc" in capsys.readouterr().err


def test_quality_train_needs_inputs(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["quality", "train", "-o", str(tmp_path / "m.ftz")])
    assert exit_info.value.code == 1
