"""Training configs: presets, shipped YAML, overrides, errors, the learning-rate schedule."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from curator.errors import SpecError
from curator.trainer.config import ModelConfig, OptimConfig, build_config, load_config, parse_overrides
from curator.trainer.loop import lr_at
from curator.trainer.metrics import flops_per_token, peak_flops, total_params
from curator.trainer.model import GPT


REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"model": {"preset": "debug"}, "data": {"folders": ["x"]}, "seq_len": 32, "micro_batch_size": 2,
           "global_batch_size": 4, "max_steps": 10}


@pytest.mark.parametrize("preset, low, high", [("124m", 120e6, 130e6), ("350m", 330e6, 370e6),
                                               ("1b", 1.0e9, 1.15e9)])
def test_presets_have_their_nominal_size(preset, low, high):
    cfg = ModelConfig(preset=preset, vocab_size=50304)
    with torch.device("meta"):  # no memory: only shapes
        model = GPT(cfg)
    assert model.num_params() == total_params(cfg)
    assert low < total_params(cfg) < high


def test_flops_per_token_matches_the_palm_formula_for_124m():
    cfg = ModelConfig(preset="124m", vocab_size=50304)
    # 6 * N_matmul + 12 * L * d * T; N_matmul = 12 layers * (4 d^2 + 3 d * 2048) + head d * V
    n_matmul = 12 * (4 * 768 ** 2 + 3 * 768 * 2048) + 768 * 50304
    assert flops_per_token(cfg, 1024) == 6 * n_matmul + 12 * 12 * 768 * 1024
    assert 850e6 < flops_per_token(cfg, 1024) < 870e6  # reference note: 860.1 MFLOP/token for GPT-2 124M


def test_peak_flops_by_device_name():
    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_flops("NVIDIA H100 PCIe") == 756e12
    assert peak_flops("NVIDIA H200") == 989e12
    assert peak_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert peak_flops("cpu") is None


@pytest.mark.parametrize("name", ["train_debug", "train_124m", "train_350m", "train_1b"])
def test_shipped_configs_validate(name):
    cfg = load_config(REPO / "configs" / "train" / f"{name}.yaml")
    assert cfg.model.preset == name.removeprefix("train_")
    assert cfg.grad_accum_steps(1) >= 1


def test_overrides_reach_nested_fields_and_parse_yaml_values():
    assert parse_overrides(["optim.lr=3e-4", "data.folders=[a, b]", "max_steps=5"]) == {
        "optim": {"lr": 3e-4}, "data": {"folders": ["a", "b"]}, "max_steps": 5}
    cfg = build_config(MINIMAL, ["model.n_layer=3", "optim.warmup_steps=0", "parallel.compile=true"])
    assert (cfg.model.n_layer, cfg.model.d_model, cfg.optim.warmup_steps, cfg.parallel.compile) == (3, 64, 0, True)


def test_errors_name_the_field():
    with pytest.raises(SpecError, match="optim.lrr: Extra inputs are not permitted"):
        build_config(MINIMAL, ["optim.lrr=1"])
    with pytest.raises(SpecError, match="not a multiple of micro_batch_size"):
        build_config(MINIMAL, ["global_batch_size=5"])
    with pytest.raises(SpecError, match="exceeds model.max_seq_len"):
        build_config(MINIMAL, ["seq_len=4096"])
    with pytest.raises(SpecError, match="not a multiple of n_kv_head"):
        build_config(MINIMAL, ["model.n_kv_head=3"])
    with pytest.raises(SpecError, match="must look like section.field=value"):
        build_config(MINIMAL, ["max_steps"])
    with pytest.raises(SpecError, match="micro_batch_size 2 x world size 4"):
        build_config(MINIMAL).grad_accum_steps(4)


def test_vocab_is_padded_from_the_tokenizer():
    assert ModelConfig(preset="debug").with_vocab(1000).vocab_size == 1024
    assert ModelConfig(preset="debug", vocab_size=2000).with_vocab(1000).vocab_size == 2000


def test_lr_warms_up_linearly_then_decays_by_cosine_to_ten_percent():
    cfg = OptimConfig(lr=1.0, warmup_steps=10)
    assert lr_at(0, cfg, 110) == pytest.approx(0.1)
    assert lr_at(9, cfg, 110) == pytest.approx(1.0)
    assert lr_at(60, cfg, 110) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_at(110, cfg, 110) == pytest.approx(0.1)
    assert lr_at(500, cfg, 110) == pytest.approx(0.1)
    lrs = [lr_at(s, cfg, 110) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))
