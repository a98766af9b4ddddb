"""The command set and its behaviour on good and bad input, run as a user would (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parent.parent
CURATOR = [sys.executable, "-m", "curator"]


def curator(*args, cwd=REPO):
    return subprocess.run([*CURATOR, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_help_lists_the_command_set():
    out = curator("--help")
    assert out.returncode == 0
    for command in ("run", "stage", "validate", "ledger", "report", "show"):
        assert command in out.stdout
    for command in ("run", "stage", "validate", "report", "show"):
        assert curator(command, "--help").returncode == 0
    assert "--verbose" in out.stdout and curator("-v", "validate", "pipelines/demo.yaml").returncode == 0


def test_validate_shipped_demo_and_bad_spec(tmp_path):
    ok = curator("validate", "pipelines/demo.yaml")
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ninput: {paths: [a]}\nstages:\n  - stage: ingest\n  - {stage: langid, min_score: 2}\n")
    out = curator("validate", bad)
    assert out.returncode == 1
    assert "min_score" in out.stderr and "Traceback" not in out.stderr
    # every file is reported before the non-zero exit: the bad one, then the good one after it
    both = curator("validate", bad, "pipelines/demo.yaml")
    assert both.returncode == 1 and "min_score" in both.stderr and "ok pipelines/demo.yaml" in both.stderr


def test_every_shipped_pipeline_spec_validates():
    import glob

    out = curator("validate", *sorted(glob.glob("pipelines/*.yaml")))
    assert out.returncode == 0, out.stderr


def test_report_and_show_of_a_missing_run_are_clear_errors(tmp_path):
    for args in (("report", tmp_path / "nothing"), ("show", tmp_path / "nothing", "langid")):
        out = curator(*args)
        assert out.returncode == 1 and "Traceback" not in out.stderr
        assert "no completed stage" in out.stderr or "no run folder" in out.stderr


def test_unknown_stage_is_a_clear_error(tmp_path):
    out = curator("stage", "pipelines/demo.yaml", "nosuch", "--output", tmp_path)
    assert out.returncode == 1 and "no stage 'nosuch'" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.spark
def test_run_and_stage_commands_end_to_end(tmp_path):
    corpus = tmp_path / "in.jsonl"
    corpus.write_text('{"text": "The harbour was quiet in the early morning and the boats were still."}\n'
                      '{"text": 7}\n')
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: cli\ninput: {{paths: [{corpus}]}}\nspark: {{master: 'local[1]'}}\n"
                    "stages:\n  - stage: ingest\n  - {stage: langid, languages: [en]}\n")
    out_dir = tmp_path / "out"
    first = curator("stage", spec, "ingest", "--output", out_dir)
    assert first.returncode == 0, first.stderr
    run = curator("run", spec, "--output", out_dir)
    assert run.returncode == 0, run.stderr
    assert "ingest: already complete" in run.stderr and "balanced" in run.stderr
    # Progress: a line when each stage starts and ends; no raw Spark console bar; the report path last.
    assert "start langid" in run.stderr and "done langid: 1 in -> 1 kept" in run.stderr
    assert "[Stage" not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == f"report: {out_dir.resolve() / 'report.html'}"
    assert (out_dir / "report.html").stat().st_size > 0
    ledger = json.loads((out_dir / "ledger.json").read_text())
    assert ledger["input"] == 2 and ledger["kept"] == 1 and ledger["balanced"]
    # Two documents run in the driver process, unless --spark-only asks for Spark jobs; the books are the same.
    assert "(driver)" in run.stderr
    on_spark = curator("run", spec, "--output", tmp_path / "on_spark", "--spark-only")
    assert on_spark.returncode == 0, on_spark.stderr
    assert "done langid: 1 in -> 1 kept" in on_spark.stderr and "(driver)" not in on_spark.stderr
    assert json.loads((tmp_path / "on_spark" / "ledger.json").read_text()) == ledger
    # `curator report` rewrites the report of a small run without Spark, with the same figures.
    before = json.loads((out_dir / "report.json").read_text())
    (out_dir / "report.html").unlink()
    again = curator("report", out_dir)
    assert again.returncode == 0, again.stderr
    after = json.loads((out_dir / "report.json").read_text())
    assert (out_dir / "report.html").stat().st_size > 0
    assert {k: v for k, v in after.items() if k != "generated"} == {k: v for k, v in before.items() if k != "generated"}


def _user_error_cases(tmp_path) -> dict[str, tuple[list, str]]:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: errs\ninput: {paths: ['builtin:sample']}\nstages: [ingest]\n")
    bad_master = tmp_path / "bad_master.yaml"
    bad_master.write_text("name: errs\ninput: {paths: ['builtin:sample']}\nspark: {master: 'locl[2]'}\n"
                          "stages: [ingest]\n")
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    cases = {
        "output is a file": (["run", spec, "--output", a_file], f"output path {a_file} is a file"),
        "output below a file": (["run", spec, "--output", a_file / "out"], "cannot create the output folder"),
        "bad --master": (["run", spec, "--output", tmp_path / "o", "--master", "lokal[2]"],
                         "--master: 'lokal[2]' is not a Spark master URL"),
        "bad spark.master": (["run", bad_master, "--output", tmp_path / "o"], "spark.master: Value error, 'locl[2]'"),
        "ledger of no run": (["ledger", spec, "--output", tmp_path / "missing"], "no run at"),
    }
    if Path("/sys").is_dir():  # read-only even for root, unlike a chmod-ed folder
        cases["unwritable output"] = (["stage", spec, "ingest", "--output", "/sys/curator-test/out"],
                                      "cannot create the output folder /sys/curator-test/out")
    return cases


def test_user_errors_are_one_line_and_non_zero(tmp_path):
    for name, (args, expected) in _user_error_cases(tmp_path).items():
        out = curator(*args)
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert out.returncode == 1, (name, out.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (name, out.stderr)


def test_spark_that_cannot_start_is_one_error_line(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: errs\ninput: {paths: ['builtin:sample']}\n"
                    "spark: {master: 'local[1]', conf: {spark.driver.memory: lots}}\nstages: [ingest]\n")
    # --spark-only: the sample is small enough for the driver process, which would never start Spark.
    out = curator("run", spec, "--output", tmp_path / "out", "--spark-only")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    # The JVM prints its own complaint first; ours is the last line.
    assert out.stderr.strip().splitlines()[-1].startswith("error: could not start Spark with master 'local[1]'")


def test_ctrl_c_stops_a_run_with_status_130(tmp_path):
    import signal

    spec = tmp_path / "spec.yaml"
    spec.write_text("name: stop\ninput: {paths: ['builtin:sample']}\nspark: {master: 'local[1]'}\n"
                    "stages: [ingest, {stage: langid, languages: [en]}, quality]\n")
    # Default SIGINT handling in the child, as in a terminal (a shell's background job would ignore it).
    child = subprocess.Popen([*CURATOR, "run", str(spec), "--output", str(tmp_path / "out")], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in child.stderr:  # the progress lines
        if line.startswith("start langid"):
            child.send_signal(signal.SIGINT)
            break
    out, err = child.communicate(timeout=120)
    assert child.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == "error: interrupted" and "Traceback" not in err
    assert not (tmp_path / "out" / "quality" / "stats.json").exists()  # stopped before the last stage
