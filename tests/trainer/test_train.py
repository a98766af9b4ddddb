"""End-to-end training on CPU with the debug preset, on shards written by the real tokenize job."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from curator.errors import CuratorError
from curator.trainer.config import build_config
from curator.trainer.loop import Trainer, train


REPO = Path(__file__).resolve().parents[2]


def debug_config(tokens: Path, out: Path, **top):
    raw = {"model": {"preset": "debug"}, "data": {"folders": [str(tokens)], "val_fraction": 0.05},
           "optim": {"lr": 3e-3, "warmup_steps": 5}, "seq_len": 32, "micro_batch_size": 8, "global_batch_size": 16,
           "max_steps": 40, "log_every": 1, "eval_samples": 16, "output_dir": str(out)}
    raw.update(top)
    return raw


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_debug_loss_falls_and_everything_is_logged(english_tokens, tmp_path):
    cfg = build_config(debug_config(english_tokens, tmp_path, eval_every=20))
    result = train(cfg)
    losses = [result.losses[s] for s in range(40)]
    assert math.log(1024) - 0.3 < losses[0] < math.log(1024) + 0.3  # starts near uniform over the padded vocab
    assert sum(losses[-5:]) / 5 < losses[0] - 1.0, losses
    assert set(result.val_losses) == {20, 40} and result.val_losses[40] < result.val_losses[20] < losses[0]
    records = read_log(tmp_path)
    train_records = [r for r in records if r["event"] == "train"]
    assert [r["step"] for r in train_records] == list(range(1, 41))
    for key in ("loss", "lr", "grad_norm", "tokens_per_s", "mfu", "tokens_seen"):
        assert key in train_records[-1]
    assert train_records[-1]["tokens_seen"] == 40 * 16 * 32
    assert train_records[-1]["tokens_per_s"] > 0
    assert result.last_checkpoint == tmp_path / "checkpoints" / "step_00000040.pt"


def test_stop_and_resume_continues_with_the_same_losses(english_tokens, tmp_path):
    raw = debug_config(english_tokens, tmp_path / "straight", max_steps=12)
    straight = train(build_config(raw))

    sliced_raw = debug_config(english_tokens, tmp_path / "sliced", max_steps=12)
    first = train(build_config(sliced_raw), stop_after=5)
    assert sorted(first.losses) == list(range(5))
    assert first.last_checkpoint.name == "step_00000005.pt"
    second = train(build_config(sliced_raw), resume=True)  # a new Trainer: everything comes from the file
    assert sorted(second.losses) == list(range(5, 12))
    resumed = {**first.losses, **second.losses}
    for step in range(12):
        assert resumed[step] == pytest.approx(straight.losses[step], rel=1e-6, abs=1e-6), step
    assert second.val_losses[12] == pytest.approx(straight.val_losses[12], rel=1e-6)
    assert any(r["event"] == "resume" and r["step"] == 5 for r in read_log(tmp_path / "sliced"))


def test_resume_refuses_a_different_global_batch(english_tokens, tmp_path):
    raw = debug_config(english_tokens, tmp_path, max_steps=4)
    train(build_config(raw), stop_after=2)
    with pytest.raises(CuratorError, match="used global_batch_size 16"):
        Trainer(build_config({**raw, "global_batch_size": 8}), resume=True)


def test_non_finite_steps_are_skipped_then_abort(english_tokens, tmp_path):
    cfg = build_config(debug_config(english_tokens, tmp_path, max_consecutive_skips=3))
    trainer = Trainer(cfg)
    with torch.no_grad():
        trainer.model.layers[0].attention.wq.weight[0, 0] = float("nan")
    before = trainer.model.layers[1].feed_forward.w1.weight.clone()
    with pytest.raises(CuratorError, match="non-finite loss or gradient norm for 3 steps in a row"):
        trainer.fit()
    assert trainer.skipped_steps == [0, 1, 2]
    torch.testing.assert_close(trainer.model.layers[1].feed_forward.w1.weight, before, rtol=0, atol=0)
    assert [r["step"] for r in read_log(tmp_path) if r["event"] == "skipped"] == [1, 2, 3]


def test_ddp_two_processes_match_one_process(english_tokens, tmp_path):
    """2 gloo ranks x micro-batch 8 and 1 process x 2 accumulated micro-batches see the same 16 samples per step."""
    raw = debug_config(english_tokens, tmp_path / "one", max_steps=6)
    single = train(build_config(raw))
    config_path = tmp_path / "ddp.yaml"
    config_path.write_text(yaml.safe_dump({**raw, "output_dir": str(tmp_path / "two")}))
    env = {**os.environ, "NPROC_PER_NODE": "2", "OMP_NUM_THREADS": "1", "PYTHON": sys.executable,
           "MASTER_PORT": "29517"}
    done = subprocess.run([str(REPO / "pipelines" / "launch_train.sh"), str(config_path)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    records = read_log(tmp_path / "two")
    start = next(r for r in records if r["event"] == "start")
    assert (start["world_size"], start["strategy"], start["grad_accum"]) == (2, "ddp", 1)
    ddp_losses = {r["step"] - 1: r["loss"] for r in records if r["event"] == "train"}
    for step in range(6):
        assert ddp_losses[step] == pytest.approx(single.losses[step], rel=1e-5), step
    ddp_val = next(r["val_loss"] for r in records if r["event"] == "val")
    assert ddp_val == pytest.approx(single.val_losses[6], rel=1e-5)


def test_curator_train_command(english_tokens, tmp_path, capsys):
    from curator.cli import main

    config_path = tmp_path / "cfg.yaml"
    config_path.write_text(yaml.safe_dump(debug_config(english_tokens, tmp_path / "run", max_steps=2)))
    main(["train", str(config_path), "max_steps=3", "log_every=3"])
    assert "[train] train: step 3" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(config_path), f"data.folders=[{tmp_path / 'nowhere'}]"])
    assert exit_info.value.code == 1
    assert "does not exist; run `curator tokenize` first" in " ".join(capsys.readouterr().err.split())


def test_activation_checkpointing_changes_memory_not_losses(english_tokens, tmp_path):
    plain = train(build_config(debug_config(english_tokens, tmp_path / "plain", max_steps=3)))
    recomputed = train(build_config({**debug_config(english_tokens, tmp_path / "ac", max_steps=3),
                                     "parallel": {"activation_checkpointing": True}}))
    for step in range(3):
        assert recomputed.losses[step] == pytest.approx(plain.losses[step], rel=1e-6)


@pytest.mark.slow
def test_fsdp_two_processes_match_one_process_and_resume(english_tokens, tmp_path):
    raw = debug_config(english_tokens, tmp_path / "one", max_steps=4)
    single = train(build_config(raw))
    config_path = tmp_path / "fsdp.yaml"
    config_path.write_text(yaml.safe_dump({**raw, "output_dir": str(tmp_path / "two"),
                                           "parallel": {"strategy": "fsdp"}}))
    env = {**os.environ, "NPROC_PER_NODE": "2", "PYTHON": sys.executable, "MASTER_PORT": "29518"}
    for extra in (["--stop-after", "2"], ["--resume"]):
        done = subprocess.run([str(REPO / "pipelines" / "launch_train.sh"), str(config_path), *extra], env=env,
                              cwd=REPO, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    records = read_log(tmp_path / "two")
    fsdp_losses = {r["step"] - 1: r["loss"] for r in records if r["event"] == "train"}
    assert sorted(fsdp_losses) == [0, 1, 2, 3]
    for step in range(4):
        assert fsdp_losses[step] == pytest.approx(single.losses[step], rel=1e-5), step
