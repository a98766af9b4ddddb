"""The GPT model: shapes, causality, GQA, tying, initial loss, optimizer groups."""

from __future__ import annotations

import math

import torch

from curator.trainer.config import ModelConfig, OptimConfig
from curator.trainer.loop import build_optimizer
from curator.trainer.model import GPT, apply_rope, rope_tables


def tiny(**fields) -> GPT:
    torch.manual_seed(0)
    return GPT(ModelConfig(**{"preset": "debug", "vocab_size": 128, **fields}))


def test_logits_shape_and_initial_loss_near_uniform():
    model = tiny()
    idx = torch.randint(0, 128, (3, 20))
    assert model(idx).shape == (3, 20, 128)
    loss = model(idx, torch.randint(0, 128, (3, 20)))
    assert abs(loss.item() - math.log(128)) < 0.1  # small init: close to the uniform distribution


def test_attention_is_causal():
    model = tiny().eval()
    idx = torch.randint(0, 128, (1, 16))
    changed = idx.clone()
    changed[0, 10:] = (changed[0, 10:] + 1) % 128
    with torch.no_grad():
        a, b = model(idx), model(changed)
    torch.testing.assert_close(a[:, :10], b[:, :10])
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_grouped_query_attention_has_fewer_kv_parameters():
    full, grouped = tiny(n_kv_head=4), tiny(n_kv_head=1)
    assert grouped.layers[0].attention.wk.weight.shape == (16, 64)
    assert full.num_params() - grouped.num_params() == 2 * 2 * (64 * 64 - 64 * 16)
    idx = torch.randint(0, 128, (2, 12))
    assert grouped(idx).shape == (2, 12, 128)


def test_tied_and_untied_embeddings():
    tied, untied = tiny(), tiny(tie_embeddings=False)
    assert tied.output.weight is tied.tok_embeddings.weight
    assert untied.num_params() - tied.num_params() == 128 * 64


def test_rope_preserves_norm_and_encodes_relative_position():
    cos, sin = rope_tables(8, 32, 10000.0)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)

    def at(x, pos):
        return apply_rope(x.expand(1, 1, 32, 8), cos, sin)[0, 0, pos]

    torch.testing.assert_close(at(q, 5).norm(), q.norm())
    # <R(m) q, R(n) k> depends on m - n only.
    torch.testing.assert_close(at(q, 7) @ at(k, 3), at(q, 24) @ at(k, 20), rtol=1e-4, atol=1e-5)


def test_weight_decay_only_on_matrices():
    model = tiny()
    optimizer = build_optimizer(model, OptimConfig(), fused=False)
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decayed["params"]) and all(p.dim() == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))
    assert optimizer.defaults["betas"] == (0.9, 0.95)
