"""Typed training configuration, validated once: a YAML file plus ``section.field=value`` overrides.

A config is a tree of frozen pydantic models (extra keys are errors, so a typo never passes silently)::

    model:      architecture; ``preset: debug | 124m | 350m | 1b`` fills the fields, explicit fields override it
    data:       token folders written by ``curator tokenize`` (each with a manifest.json), blend weights, split
    optim:      AdamW and the learning-rate schedule
    parallel:   DDP / FSDP2, activation checkpointing, torch.compile
    checkpoint: where, how often, how many to keep
    spike_guard: on a sustained loss spike, restore the last good checkpoint and skip the data window
    (top level) sequence length, batch sizes, steps, evaluation and logging cadence, device, dtype, seed

Example (``configs/train/train_debug.yaml``)::

    model: {preset: debug}
    data: {folders: [runs/demo/tokens]}
    seq_len: 128
    micro_batch_size: 8
    global_batch_size: 16
    max_steps: 200

Sizes are counted in samples of ``seq_len`` tokens: ``global_batch_size`` samples per optimizer step across all
ranks, ``micro_batch_size`` per rank per forward pass; gradient accumulation makes up the difference.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from curator.config import StrictConfig as _Strict
from curator.errors import SpecError, field_errors


# Model presets. The vocabulary comes from the tokenizer (padded to a multiple of 64) unless vocab_size is set;
# the quoted parameter counts assume the GPT-2 padded vocabulary of 50304 with tied embeddings.
MODEL_PRESETS: dict[str, dict[str, Any]] = {
    # Tiny, for CPU tests: trains to a falling loss in seconds.
    "debug": dict(n_layer=2, n_head=4, n_kv_head=2, d_model=64, max_seq_len=256),
    # GPT-2 small shape: 12 x 768, ~124M parameters with tied embeddings.
    "124m": dict(n_layer=12, n_head=12, d_model=768, max_seq_len=1024),
    # GPT-2 medium shape: 24 x 1024, ~360M.
    "350m": dict(n_layer=24, n_head=16, d_model=1024, max_seq_len=2048),
    # Llama-3.2-1B-like shape: 16 x 2048, GQA with 8 KV heads, ffn 8192, ~1.07B.
    "1b": dict(n_layer=16, n_head=32, n_kv_head=8, d_model=2048, ffn_hidden=8192, max_seq_len=2048),
}


class ModelConfig(_Strict):
    """Decoder-only GPT: pre-norm RMSNorm, RoPE, SwiGLU, optional GQA, no biases."""

    preset: Literal["debug", "124m", "350m", "1b"] | None = None
    vocab_size: int | None = Field(None, gt=0, description="None: the tokenizer's vocabulary, padded to a "
                                   "multiple of pad_vocab_multiple")
    pad_vocab_multiple: int = Field(64, gt=0, description="round an inferred vocab up (tensor-core friendly)")
    n_layer: int = Field(gt=0)
    n_head: int = Field(gt=0)
    n_kv_head: int | None = Field(None, gt=0, description="key/value heads; < n_head is grouped-query attention")
    d_model: int = Field(gt=0)
    ffn_hidden: int | None = Field(None, gt=0, description="SwiGLU width; None: 8/3 * d_model rounded up to 256")
    max_seq_len: int = Field(gt=0, description="longest sequence RoPE tables are built for")
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True
    init_std: float = 0.02

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("preset") is not None:
            preset = MODEL_PRESETS.get(raw["preset"])
            if preset is None:
                raise ValueError(f"unknown preset {raw['preset']!r}; known: {sorted(MODEL_PRESETS)}")
            return {**preset, **raw}
        return raw

    @model_validator(mode="after")
    def _check_heads(self) -> "ModelConfig":
        if self.d_model % self.n_head:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_head {self.n_head}")
        if (self.d_model // self.n_head) % 2:
            raise ValueError("head dimension d_model / n_head must be even for RoPE")
        if self.n_head % self.kv_heads:
            raise ValueError(f"n_head {self.n_head} is not a multiple of n_kv_head {self.kv_heads}")
        return self

    @property
    def kv_heads(self) -> int:
        return self.n_kv_head or self.n_head

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    @property
    def ffn_dim(self) -> int:
        if self.ffn_hidden is not None:
            return self.ffn_hidden
        # SwiGLU has three matrices, so 8/3*d keeps the parameter count of a 4*d GELU MLP (Shazeer 2020).
        return 256 * math.ceil(8 * self.d_model / 3 / 256)

    def with_vocab(self, tokenizer_vocab: int) -> "ModelConfig":
        """This config with ``vocab_size`` resolved against the tokenizer's vocabulary."""
        if self.vocab_size is None:
            padded = self.pad_vocab_multiple * math.ceil(tokenizer_vocab / self.pad_vocab_multiple)
            return self.model_copy(update={"vocab_size": padded})
        return self


class DataConfig(_Strict):
    """Token folders (each holds a ``manifest.json``) and how they are mixed."""

    folders: list[str] = Field(min_length=1, description="tokens folders written by `curator tokenize`")
    weights: list[float] | None = Field(None, description="sampling share of each folder (normalised); "
                                        "None: proportional to its token count")
    tokenizer_hash: str | None = Field(None, description="expected tokenizer hash; None: every folder must agree")
    val_fraction: float = Field(0.01, ge=0, lt=1, description="share of each folder's documents held out")
    verify_checksums: bool = Field(True, description="sha256 every shard against the manifest at start-up "
                                   "(reads all data once; set false for very large data)")

    @model_validator(mode="after")
    def _check_weights(self) -> "DataConfig":
        if self.weights is not None:
            if len(self.weights) != len(self.folders):
                raise ValueError(f"{len(self.weights)} weights for {len(self.folders)} folders")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative with a positive sum")
        return self


class OptimConfig(_Strict):
    """AdamW with decoupled weight decay on matrices only; linear warmup then cosine decay."""

    lr: float = Field(6e-4, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="cosine decays to lr * min_lr_ratio")
    warmup_steps: int = Field(100, ge=0)
    decay_steps: int | None = Field(None, gt=0, description="end of the cosine; None: max_steps")
    weight_decay: float = Field(0.1, ge=0)
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = Field(1.0, gt=0)


class ParallelConfig(_Strict):
    strategy: Literal["auto", "none", "ddp", "fsdp"] = Field("auto", description="auto: DDP when world > 1")
    compile: bool = False
    activation_checkpointing: bool = False


class CheckpointConfig(_Strict):
    dir: str | None = Field(None, description="None: <output_dir>/checkpoints")
    every: int = Field(0, ge=0, description="save every N steps (0: only at the end)")
    keep_last: int = Field(3, gt=0)
    save_final: bool = True


class SpikeGuardConfig(_Strict):
    """Restore the last good checkpoint and skip the offending data when the loss spikes (see trainer/spike.py)."""

    enabled: bool = True
    factor: float = Field(2.0, gt=1, description="a loss above factor x the running mean is suspicious")
    patience: int = Field(3, gt=0, description="consecutive suspicious steps that make a spike")
    window: int = Field(50, gt=1, description="healthy steps in the running mean")
    min_history: int = Field(10, gt=0, description="healthy steps needed before spikes are judged")
    max_restores: int = Field(5, ge=0, description="abort after this many restores in one run")


class TrainConfig(_Strict):
    """Everything one training run needs. See the module docstring for the YAML shape."""

    model: ModelConfig
    data: DataConfig
    optim: OptimConfig = Field(default_factory=OptimConfig)
    parallel: ParallelConfig = Field(default_factory=ParallelConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    spike_guard: SpikeGuardConfig = Field(default_factory=SpikeGuardConfig)

    seq_len: int = Field(gt=0)
    micro_batch_size: int = Field(gt=0, description="samples per rank per forward/backward")
    global_batch_size: int = Field(gt=0, description="samples per optimizer step, all ranks together")
    max_steps: int = Field(gt=0)
    eval_every: int = Field(0, ge=0, description="validation every N steps (0: only at the end, if any val data)")
    eval_samples: int = Field(64, ge=0, description="validation samples per evaluation (all ranks together)")
    log_every: int = Field(10, gt=0)
    output_dir: str = "runs/train"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "bf16", "fp32"] = Field("auto", description="auto: bf16 autocast on CUDA, fp32 on CPU")
    seed: int = 1234
    max_consecutive_skips: int = Field(10, gt=0, description="abort after this many non-finite steps in a row")
    log_documents: bool = Field(False, description="write documents_seen.rank<r>.jsonl: the source documents "
                                                   "(id, shard, position) of every sample each step trained on")

    @model_validator(mode="after")
    def _check_sizes(self) -> "TrainConfig":
        if self.seq_len > self.model.max_seq_len:
            raise ValueError(f"seq_len {self.seq_len} exceeds model.max_seq_len {self.model.max_seq_len}")
        if self.global_batch_size % self.micro_batch_size:
            raise ValueError(f"global_batch_size {self.global_batch_size} is not a multiple of "
                             f"micro_batch_size {self.micro_batch_size}")
        return self

    def grad_accum_steps(self, world_size: int) -> int:
        """Micro-batches per rank per optimizer step; raises when the batch does not split evenly."""
        per_step = self.micro_batch_size * world_size
        if self.global_batch_size % per_step:
            raise SpecError(f"global_batch_size {self.global_batch_size} is not a multiple of micro_batch_size "
                            f"{self.micro_batch_size} x world size {world_size}")
        return self.global_batch_size // per_step

    @property
    def planned_data_steps(self) -> int:
        """Steps of data the run may read: ``max_steps`` plus what spike restores can skip (each restore skips at
        most one checkpoint interval plus the suspicious steps)."""
        guard = self.spike_guard
        if not guard.enabled or not self.checkpoint.every:
            return self.max_steps
        return self.max_steps + guard.max_restores * (self.checkpoint.every + 2 * guard.patience)

    @property
    def tokens_per_step(self) -> int:
        return self.global_batch_size * self.seq_len


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """``["optim.lr=3e-4", "model.preset=124m"]`` -> nested dict; values are parsed as YAML scalars/lists."""
    tree: dict[str, Any] = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"override {item!r} must look like section.field=value")
        node = tree
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SpecError(f"override {item!r} conflicts with another override of {part!r}")
        node[leaf] = _parse_value(value)
    return tree


def _parse_value(text: str) -> Any:
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 reads "3e-4" (no dot) as a string
        except ValueError:
            pass
    return value


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_config(raw: dict[str, Any], overrides: list[str] | None = None, *, where: str = "config") -> TrainConfig:
    """Validate a config dict (plus overrides); errors name every bad field."""
    merged = _merge(raw, parse_overrides(overrides or []))
    try:
        return TrainConfig.model_validate(merged)
    except ValidationError as error:
        problems = "; ".join(field_errors(error))
        raise SpecError(f"{where}: {problems}") from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Load a training YAML. Relative data folders and output paths stay relative to the working directory."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"training config {path} does not exist")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a training config must be a mapping")
    return build_config(raw, overrides, where=str(path))
