"""Throughput accounting: FLOPs per token, device peak FLOPs, model FLOPs utilisation (MFU).

Convention (PaLM appendix B; torchtitan and nanoGPT use it too): training FLOPs per token =
``6 * N_matmul + 12 * L * d * T``, where ``N_matmul`` counts the parameters that take part in matrix multiplies
(every linear weight including the output head; the embedding lookup is excluded unless it is tied to the head,
in which case it is counted once as the head) and the attention term has no causal discount. Megatron and llm.c
use ``6 * L * d * T`` for attention, which gives about 7% lower MFU for the 124M model at T=1024.
"""

from __future__ import annotations

from curator.trainer.config import ModelConfig


# Dense bf16 tensor-core peaks, FLOP/s. Order matters: the first substring found in the device name wins.
PEAK_BF16_FLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989e12),
    ("H100 NVL", 835e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),  # SXM (e.g. "NVIDIA H100 80GB HBM3")
    ("GH200", 989e12),
    ("B200", 2250e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("A10G", 125e12),
    ("L4", 121e12),
)


def matmul_params(cfg: ModelConfig) -> int:
    """Parameters used in matrix multiplies, computed from the config (no model needed)."""
    assert cfg.vocab_size is not None
    d, kv = cfg.d_model, cfg.kv_heads * cfg.head_dim
    attention = d * d + 2 * d * kv + d * d  # wq, wk, wv, wo
    feed_forward = 3 * d * cfg.ffn_dim
    return cfg.n_layer * (attention + feed_forward) + d * cfg.vocab_size  # + output head


def total_params(cfg: ModelConfig) -> int:
    """All parameters, as ``GPT(cfg).num_params()`` counts them."""
    assert cfg.vocab_size is not None
    norms = (2 * cfg.n_layer + 1) * cfg.d_model
    embedding = 0 if cfg.tie_embeddings else cfg.vocab_size * cfg.d_model
    return matmul_params(cfg) + embedding + norms


def flops_per_token(cfg: ModelConfig, seq_len: int) -> int:
    """Forward + backward FLOPs per trained token: 6 * N_matmul + 12 * L * d * T."""
    return 6 * matmul_params(cfg) + 12 * cfg.n_layer * cfg.d_model * seq_len


def peak_flops(device_name: str) -> float | None:
    """Dense bf16 peak of a GPU by its name (``torch.cuda.get_device_name()``); None when unknown or a CPU."""
    for key, flops in PEAK_BF16_FLOPS:
        if key.lower() in device_name.lower():
            return flops
    return None


def mfu(tokens_per_second_per_device: float, flops_per_token_: float, peak: float | None) -> float | None:
    """Achieved FLOP/s over peak FLOP/s, per device; None when the peak is unknown."""
    if not peak:
        return None
    return tokens_per_second_per_device * flops_per_token_ / peak
