"""Trainer throughput: tokens/s, MFU and peak memory of the bundled GPT on synthetic tokens (no shards needed).

Runs the trainer's own optimizer step (``Trainer.train_step``: autocast, gradient accumulation, clipping, fused
AdamW, non-finite guard) on random token ids, one process, and prints a table. MFU uses 6*N_matmul + 12*L*d*T FLOPs
per token (PaLM convention; ``curator/trainer/metrics.py``) over the device's dense bf16 peak (H100 SXM / H200
989 TFLOP/s, H100 PCIe 756, A100 312), found from the device name.

    # one H100, the acceptance measurement (goal: >= 40% MFU)
    python benchmarks/bench_trainer.py --preset 124m --device cuda --dtype bf16 --compile \\
        --steps 30 --warmup-steps 10 --batch-size 16 --seq-len 1024
    # CPU smoke run (what the CPU-only test machine measures)
    python benchmarks/bench_trainer.py --preset debug --device cpu --dtype fp32 --steps 20 --batch-size 8 --seq-len 128

``--compare-eager`` adds an eager (uncompiled) row measured in the same process, for the compile speed-up. The
published rows are context from ``/work/shared/reference/megatron-format-and-trainers.md`` B.3, not measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


PUBLISHED = [  # (what, tokens/s per GPU, MFU) for GPT-2 124M on one H100 SXM; see the module docstring
    ("published: llm.c CUDA, GPT-2 124M, H100 SXM", 471_000, 0.41),
    ("published: PyTorch compile + flash (derived), H100", 440_000, None),
]


class SyntheticSamples:
    """Random token windows, reproducible per sample id; looks like ``BlendedSamples`` to the trainer."""

    def __init__(self, vocab_size: int, seq_len: int, num_samples: int, seed: int = 0):
        self.vocab_size, self.seq_len, self.num_samples, self.seed = vocab_size, seq_len, num_samples, seed

    def __getitem__(self, sample_id: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, sample_id])
        return rng.integers(0, self.vocab_size, self.seq_len + 1, dtype=np.int64)


class SyntheticData:
    """Stands in for ``PretrainData``: the same attributes, random tokens, no validation split."""

    def __init__(self, vocab_size: int, seq_len: int, num_samples: int):
        from curator.trainer.data import TokenizerInfo

        self.tokenizer = TokenizerInfo(hash="synthetic", vocab_size=vocab_size, eod_id=0)
        self.train = SyntheticSamples(vocab_size, seq_len, num_samples)
        self.val = None


def run_variant(args, *, compile_model: bool) -> dict:
    import torch

    from curator.trainer.config import build_config
    from curator.trainer.loop import Trainer

    steps_total = args.warmup_steps + args.steps
    raw = {
        "model": {"preset": args.preset, "vocab_size": args.vocab_size},
        "data": {"folders": ["<synthetic>"], "val_fraction": 0.0},
        "seq_len": args.seq_len, "micro_batch_size": args.batch_size,
        "global_batch_size": args.batch_size * args.grad_accum, "max_steps": steps_total,
        "optim": {"warmup_steps": 0}, "device": args.device, "dtype": args.dtype,
        "parallel": {"compile": compile_model, "activation_checkpointing": args.activation_checkpointing},
        "output_dir": tempfile.mkdtemp(prefix="bench_trainer_"), "eval_samples": 0,
    }
    raw["model"]["max_seq_len"] = max(args.seq_len, 256)
    cfg = build_config(raw)
    data = SyntheticData(args.vocab_size, args.seq_len, steps_total * cfg.global_batch_size)
    trainer = Trainer(cfg, data=data)
    cuda = trainer.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()

    def sync():
        if cuda:
            torch.cuda.synchronize()

    started = time.perf_counter()
    for step in range(args.warmup_steps):  # compilation and allocator warm-up
        trainer.train_step(step)
    sync()
    warmup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    losses = []
    for step in range(args.warmup_steps, steps_total):
        loss, _, _ = trainer.train_step(step)  # float(loss) syncs every step, as in training
        losses.append(loss)
    sync()
    seconds = time.perf_counter() - started
    tokens = args.steps * cfg.tokens_per_step
    tokens_per_second = tokens / seconds
    mfu = (tokens_per_second * trainer.flops_per_token / trainer.peak_flops) if trainer.peak_flops else None
    if args.peak_tflops and not trainer.peak_flops:
        mfu = tokens_per_second * trainer.flops_per_token / (args.peak_tflops * 1e12)
    if cuda:
        peak_memory = torch.cuda.max_memory_allocated() / 2**30
    else:  # ru_maxrss is in KiB on Linux: the whole process, not only tensors
        peak_memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {
        "variant": f"ours: {args.preset} {'compile' if compile_model else 'eager'} {args.dtype}"
                   + (" +AC" if args.activation_checkpointing else ""),
        "device": torch.cuda.get_device_name(trainer.device) if cuda else "cpu",
        "params": trainer.model.num_params(), "flops_per_token": trainer.flops_per_token,
        "peak_tflops": (trainer.peak_flops or (args.peak_tflops or 0) * 1e12) / 1e12 or None,
        "batch_size": args.batch_size, "grad_accum": args.grad_accum, "seq_len": args.seq_len, "steps": args.steps,
        "warmup_s": round(warmup_seconds, 2), "step_ms": round(1000 * seconds / args.steps, 2),
        "tokens_per_s": round(tokens_per_second, 1), "mfu": None if mfu is None else round(mfu, 4),
        "peak_mem_gib": round(peak_memory, 2), "mem_kind": "cuda max allocated" if cuda else "process max RSS",
        "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
        "torch": torch.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="debug", choices=["debug", "124m", "350m", "1b"])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--dtype", default="auto", choices=["auto", "bf16", "fp32"])
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (loss included)")
    parser.add_argument("--compare-eager", action="store_true", help="also measure the eager model")
    parser.add_argument("--activation-checkpointing", action="store_true")
    parser.add_argument("--steps", type=int, default=20, help="timed optimizer steps")
    parser.add_argument("--warmup-steps", type=int, default=5, help="untimed steps first (compilation)")
    parser.add_argument("--batch-size", type=int, default=8, help="micro-batch size (sequences)")
    parser.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--vocab-size", type=int, default=50304, help="GPT-2 vocabulary padded to 64")
    parser.add_argument("--peak-tflops", type=float, default=None, help="peak for MFU when the device is unknown")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup_steps < 1:
        parser.error("--steps and --warmup-steps must be at least 1 (the first step carries start-up costs)")
    if args.device != "cuda":
        import torch

        if args.device == "cpu" or not torch.cuda.is_available():
            torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))

    variants = [args.compile] + ([False] if args.compare_eager and args.compile else [])
    rows = []
    for compile_model in variants:
        try:
            rows.append(run_variant(args, compile_model=compile_model))
        except Exception as error:  # e.g. CUDA OOM: report the row, keep the others
            rows.append({"variant": f"ours: {args.preset} {'compile' if compile_model else 'eager'}",
                         "error": f"{type(error).__name__}: {str(error)[:300]}"})
        finally:
            _free_cuda()
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all("error" not in r for r in rows) else 1


def _free_cuda() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def print_table(rows: list[dict]) -> None:
    header = f"{'variant':<48} {'device':<24} {'tokens/s':>12} {'MFU':>7} {'step ms':>9} {'peak GiB':>9} {'loss':>15}"
    print(header)
    print("-" * len(header))
    for row in rows:
        if "error" in row:
            print(f"{row['variant']:<48} ERROR {row['error']}")
            continue
        mfu = f"{100 * row['mfu']:.1f}%" if row["mfu"] is not None else "n/a"
        loss = f"{row['loss_first']:.2f}->{row['loss_last']:.2f}"
        print(f"{row['variant']:<48} {row['device'][:24]:<24} {row['tokens_per_s']:>12,.0f} {mfu:>7} "
              f"{row['step_ms']:>9.1f} {row['peak_mem_gib']:>9.2f} {loss:>15}")
    measured = [r for r in rows if "error" not in r]
    if measured and measured[0]["device"] != "cpu" and measured[0]["params"] > 100e6:
        for what, tokens_per_second, mfu in PUBLISHED:
            mfu_text = f"{100 * mfu:.0f}%" if mfu else "n/a"
            ratio = measured[0]["tokens_per_s"] / tokens_per_second
            print(f"{what:<48} {'(not measured here)':<24} {tokens_per_second:>12,.0f} {mfu_text:>7}   "
                  f"ours/this = {ratio:.2f}")
    for row in measured:
        print(f"# {row['variant']}: params {row['params']:,}, {row['flops_per_token'] / 1e6:.1f} MFLOP/token "
              f"(6N+12LdT), peak {row['peak_tflops'] or 'unknown'} TFLOP/s, batch {row['batch_size']}x"
              f"{row['grad_accum']}x{row['seq_len']}, warm-up {row['warmup_s']} s, {row['mem_kind']}, "
              f"torch {row['torch']}")
    print("# json: " + json.dumps(rows))


if __name__ == "__main__":
    sys.exit(main())
