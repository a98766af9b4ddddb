"""Checkpoints: atomic files, keep-last-K pruning, exact restore, clear errors."""

from __future__ import annotations

import pytest
import torch

from curator.trainer import checkpoint as ckpt
from curator.trainer.config import ModelConfig, OptimConfig
from curator.trainer.loop import build_optimizer
from curator.trainer.model import GPT


def model_and_optimizer(seed: int):
    torch.manual_seed(seed)
    model = GPT(ModelConfig(preset="debug", vocab_size=64))
    optimizer = build_optimizer(model, OptimConfig(), fused=False)
    loss = model(torch.randint(0, 64, (2, 8)), torch.randint(0, 64, (2, 8)))
    loss.backward()
    optimizer.step()  # populate Adam moments
    optimizer.zero_grad()
    return model, optimizer


def test_save_keeps_the_last_k_and_leaves_no_temporaries(tmp_path):
    model, optimizer = model_and_optimizer(0)
    for step in (10, 20, 30, 40):
        ckpt.save_checkpoint(tmp_path, step=step, model=model, optimizer=optimizer, extra={"note": step},
                             keep_last=2, is_main=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000030.pt", "step_00000040.pt"]
    assert ckpt.latest_checkpoint(tmp_path) == tmp_path / "step_00000040.pt"


def test_a_leftover_temporary_is_never_taken_for_a_checkpoint(tmp_path):
    (tmp_path / ".step_00000050.pt.tmp-123").write_bytes(b"half written")
    assert ckpt.latest_checkpoint(tmp_path) is None


def test_restore_reproduces_model_optimizer_and_rng(tmp_path):
    model, optimizer = model_and_optimizer(0)
    torch.manual_seed(99)
    path = ckpt.save_checkpoint(tmp_path, step=7, model=model, optimizer=optimizer, extra={"consumed_samples": 70},
                                keep_last=1, is_main=True)
    expected_draw = torch.rand(3)
    fresh, fresh_optimizer = model_and_optimizer(1)
    payload = ckpt.load_checkpoint(path, model=fresh, optimizer=fresh_optimizer, rank=0)
    assert payload["step"] == 7 and payload["consumed_samples"] == 70
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    state, fresh_state = optimizer.state_dict()["state"], fresh_optimizer.state_dict()["state"]
    assert state.keys() == fresh_state.keys()
    for key in state:
        torch.testing.assert_close(state[key]["exp_avg_sq"], fresh_state[key]["exp_avg_sq"], rtol=0, atol=0)
    torch.testing.assert_close(torch.rand(3), expected_draw)  # the RNG continues where it was saved


def test_unreadable_or_foreign_checkpoints_are_clear_errors(tmp_path):
    model, optimizer = model_and_optimizer(0)
    bad = tmp_path / "step_00000001.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ckpt.CheckpointError, match="not readable"):
        ckpt.load_checkpoint(bad, model=model, optimizer=optimizer, rank=0)
    with pytest.raises(ckpt.CheckpointError, match="does not exist"):
        ckpt.load_checkpoint(tmp_path / "missing.pt", model=model, optimizer=optimizer, rank=0)
    path = ckpt.save_checkpoint(tmp_path / "ok", step=1, model=model, optimizer=optimizer, extra={}, keep_last=1,
                                is_main=True)
    torch.manual_seed(0)
    bigger = GPT(ModelConfig(preset="debug", vocab_size=64, n_layer=3))
    with pytest.raises(ckpt.CheckpointError, match="does not fit this model"):
        ckpt.load_checkpoint(path, model=bigger, optimizer=build_optimizer(bigger, OptimConfig(), fused=False),
                             rank=0)
