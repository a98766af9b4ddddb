"""The loss-spike guard: pure detection, then restore-and-skip in a real CPU training run with an injected spike."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from curator.errors import CuratorError
from curator.trainer.config import SpikeGuardConfig, build_config
from curator.trainer.loop import Trainer
from curator.trainer.spike import SpikeGuard
from tests.trainer.conftest import write_token_folder


def test_guard_needs_patience_consecutive_high_losses():
    guard = SpikeGuard(SpikeGuardConfig(factor=2.0, patience=3, window=5, min_history=3))
    for step, loss in enumerate([4.0, 3.0, 3.0, 3.0]):
        assert guard.observe(step, loss) is None
    assert guard.observe(4, 9.0) is None and guard.observe(5, 9.0) is None
    assert guard.observe(6, 3.1) is None  # back to normal: the run of high losses is forgotten
    assert guard.observe(7, 9.0) is None and guard.observe(8, 9.0) is None
    spike = guard.observe(9, 9.5)
    assert spike is not None and (spike.first_step, spike.last_step) == (7, 9)
    assert spike.running_mean == pytest.approx((4.0 + 3.0 + 3.0 + 3.0 + 3.1) / 5)  # high losses stay out of the mean


def test_guard_waits_for_history_and_ignores_non_finite_and_disabled():
    guard = SpikeGuard(SpikeGuardConfig(patience=1, min_history=3, window=3))
    assert guard.observe(0, 1.0) is None and guard.observe(1, 100.0) is None  # too little history to judge
    assert guard.observe(2, float("nan")) is None
    off = SpikeGuard(SpikeGuardConfig(enabled=False, patience=1, min_history=1))
    assert off.observe(0, 1.0) is None and off.observe(1, 1000.0) is None


@pytest.fixture(scope="module")
def pattern_tokens(tmp_path_factory) -> Path:
    """Documents of arithmetic runs (learnable in a few dozen steps) in a 256-id vocabulary, EOD = 255."""
    rng = np.random.default_rng(0)
    docs = []
    for _ in range(400):
        start, stride, length = int(rng.integers(0, 200)), int(rng.integers(1, 4)), int(rng.integers(40, 120))
        docs.append([(start + stride * i) % 250 for i in range(length)] + [255])
    return write_token_folder(tmp_path_factory.mktemp("tokens") / "pattern", docs, vocab_size=256, eod_id=255,
                              tokenizer_hash="pattern-test")


def spike_config(tokens: Path, out: Path, **top):
    raw = {"model": {"preset": "debug"}, "data": {"folders": [str(tokens)], "val_fraction": 0.05},
           "optim": {"lr": 3e-3, "warmup_steps": 3}, "seq_len": 32, "micro_batch_size": 8, "global_batch_size": 8,
           "max_steps": 40, "log_every": 1, "eval_samples": 8, "output_dir": str(out),
           "checkpoint": {"every": 5, "keep_last": 10},
           "spike_guard": {"factor": 2.0, "patience": 2, "window": 10, "min_history": 5}}
    raw.update(top)
    return build_config(raw)


class PoisonedTrainer(Trainer):
    """Reports a 10x loss (and takes a 10x-lr update) while it reads the data of ``poisoned`` data steps: the
    effect of a bad batch, tied to the data position so that skipping the data ends it."""

    poisoned = range(22, 24)

    def train_step(self, step):
        data_step = step + self.data_offset
        if data_step not in self.poisoned:
            return super().train_step(step)
        for group in self.optimizer.param_groups:
            group["lr"] *= 10
        loss, norm, applied = super().train_step(step)
        return loss * 10, norm, applied


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_spike_restores_last_good_checkpoint_and_skips_the_window(pattern_tokens, tmp_path):
    trainer = PoisonedTrainer(spike_config(pattern_tokens, tmp_path))
    result = trainer.fit()
    # Poisoned data steps 22, 23 are read at steps 22, 23 (0-based); the spike is declared at step 23, the newest
    # checkpoint before step 22 is step 20; the run restarts at step 20 reading data step 24 onward (offset 4).
    assert len(result.spikes) == 1
    spike = result.spikes[0]
    assert (spike["first_step"], spike["step"], spike["restored_step"]) == (23, 24, 20)
    assert spike["skipped_data_steps"] == 4 and trainer.data_offset == 4
    assert all(math.isfinite(result.losses[s]) for s in range(40))
    assert sorted(result.losses) == list(range(40))
    events = [r["event"] for r in read_log(tmp_path)]
    assert events.count("spike") == len(result.spikes)
    assert result.losses[39] < result.losses[0] - 1.0  # training recovered and went on learning


def test_a_longer_bad_window_is_skipped_by_a_second_restore(pattern_tokens, tmp_path):
    trainer = PoisonedTrainer(spike_config(pattern_tokens, tmp_path))
    trainer.poisoned = range(22, 26)
    result = trainer.fit()
    # First restart reads data 24, 25 (still poisoned) at steps 20, 21 -> second spike, restore to 20 again.
    assert [(s["restored_step"], s["data_offset"]) for s in result.spikes] == [(20, 4), (20, 6)]
    assert all(math.isfinite(result.losses[s]) and result.losses[s] < 10 for s in range(40))


def test_no_checkpoint_before_the_spike_is_a_clear_error(pattern_tokens, tmp_path):
    cfg = spike_config(pattern_tokens, tmp_path, checkpoint={"every": 0})
    with pytest.raises(CuratorError, match="no checkpoint precedes it; set checkpoint.every"):
        PoisonedTrainer(cfg).fit()


def test_restores_are_capped(pattern_tokens, tmp_path):
    cfg = spike_config(pattern_tokens, tmp_path, spike_guard={"factor": 2.0, "patience": 2, "window": 10,
                                                               "min_history": 5, "max_restores": 0})
    with pytest.raises(CuratorError, match="after 0 restores"):
        PoisonedTrainer(cfg).fit()


def test_data_offset_survives_a_resume(pattern_tokens, tmp_path):
    cfg = spike_config(pattern_tokens, tmp_path, max_steps=40)
    first = PoisonedTrainer(cfg)
    first.fit(stop_after=30)
    resumed = PoisonedTrainer(cfg, resume=True)
    assert resumed.data_offset == first.data_offset > 0 and resumed.spikes == first.spikes
