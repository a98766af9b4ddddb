"""The training loop. It only orchestrates: build data, model, parallelism and optimizer, then step.

    trainer = Trainer(cfg, resume=True)   # collective under torchrun: every rank builds the same trainer
    result = trainer.fit()                # per-step losses, final validation loss, last checkpoint

Each optimizer step runs ``grad_accum_steps`` micro-batches per rank (DDP syncs gradients only on the last),
averages the loss over ranks, clips the global gradient norm to ``optim.grad_clip``, and skips the update when
the loss or the norm is not finite (logged as ``skipped``; ``max_consecutive_skips`` in a row abort the run).
The learning rate is a pure function of the step (``lr_at``). The data a step reads is a pure function of the step
plus ``data_offset``: the loss-spike guard (``trainer/spike.py``) restores the last good checkpoint and advances the
offset past the batches around the spike, so the restarted run never sees them again.

Guard rails: a new run refuses an output folder that already holds a run (``overwrite`` starts over); a resume
refuses a config whose learning-rate schedule differs from the checkpoint's (``allow_schedule_change``), falls back
from a damaged newest checkpoint to the newest intact one, and drops ``metrics.jsonl`` records past the step it
resumes from, so no step is logged twice.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist

from curator.errors import CuratorError
from curator.trainer import checkpoint as ckpt
from curator.trainer.config import OptimConfig, TrainConfig
from curator.trainer.data import PretrainData, micro_batch_ids
from curator.trainer.metrics import flops_per_token, mfu, peak_flops
from curator.trainer.model import GPT
from curator.trainer.parallelize import DistInfo, init_distributed, parallelize, resolve_strategy
from curator.trainer.spike import Spike, SpikeGuard


class TrainingError(CuratorError):
    """Training cannot continue (non-finite losses, out of memory, a checkpoint from another run)."""


def lr_at(step: int, cfg: OptimConfig, max_steps: int) -> float:
    """Linear warmup over ``warmup_steps`` to ``lr``, then cosine decay to ``lr * min_lr_ratio`` at ``decay_steps``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    decay_steps = cfg.decay_steps or max_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, decay_steps - cfg.warmup_steps))
    min_lr = cfg.lr * cfg.min_lr_ratio
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.lr - min_lr)


def build_optimizer(model: torch.nn.Module, cfg: OptimConfig, *, fused: bool) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices (embeddings, linear weights) only, never on norm gains."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, fused=fused)


@dataclass
class TrainResult:
    losses: dict[int, float] = field(default_factory=dict)  # step -> mean training loss (NaN when skipped)
    val_losses: dict[int, float] = field(default_factory=dict)
    skipped_steps: list[int] = field(default_factory=list)
    spikes: list[dict] = field(default_factory=list)  # one record per restore by the spike guard
    last_checkpoint: Path | None = None
    tokens_per_second: float | None = None  # per device, over the run's steps after the first


class MetricsLog:
    """One JSON object per line in ``<output_dir>/metrics.jsonl`` plus a console line; rank 0 only."""

    def __init__(self, output_dir: Path, enabled: bool):
        self.enabled = enabled
        self.path = output_dir / "metrics.jsonl"
        if enabled:
            output_dir.mkdir(parents=True, exist_ok=True)

    def has_records(self) -> bool:
        return self.path.is_file() and self.path.stat().st_size > 0

    def drop_after(self, step: int, keep_events: tuple[str, ...] = ()) -> int:
        """Remove records of steps after ``step`` (logged by a run that died before its next checkpoint, or
        undone by a spike restore), except events named in ``keep_events``."""
        if not self.enabled or not self.path.is_file():
            return 0
        import json

        from curator.io.run_files import atomic_write_text

        kept, dropped = [], 0
        for line in self.path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # a line torn by the kill
                dropped += 1
                continue
            if isinstance(record.get("step"), int) and record["step"] > step and record.get("event") not in keep_events:
                dropped += 1
            else:
                kept.append(line)
        atomic_write_text(self.path, "".join(line + "\n" for line in kept))
        return dropped

    def write(self, record: dict) -> None:
        if not self.enabled:
            return

        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        shown = "  ".join(f"{k} {_fmt(v)}" for k, v in record.items() if k != "event")
        print(f"[train] {record.get('event', '')}: {shown}", flush=True)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class Trainer:
    """Builds everything for one run. ``data`` replaces the shards (benchmarks feed synthetic tokens)."""

    def __init__(self, cfg: TrainConfig, *, resume: bool | str | Path = False, data: PretrainData | None = None,
                 allow_schedule_change: bool = False, overwrite: bool = False):
        self.cfg = cfg
        self.allow_schedule_change = allow_schedule_change
        self.dist: DistInfo = init_distributed(cfg.device)
        self.device = self.dist.device
        cuda = self.device.type == "cuda"
        self.bf16 = cfg.dtype == "bf16" or (cfg.dtype == "auto" and cuda)
        self.strategy = resolve_strategy(cfg.parallel, self.dist.world_size)
        self.grad_accum = cfg.grad_accum_steps(self.dist.world_size)
        if cuda:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

        self.data = data if data is not None else PretrainData(cfg, world_size=self.dist.world_size)
        self.model_cfg = cfg.model.with_vocab(self.data.tokenizer.vocab_size)
        torch.manual_seed(cfg.seed)  # identical initial weights on every rank
        self.model = GPT(self.model_cfg).to(self.device)
        self.runner = parallelize(self.model, cfg.parallel, self.dist, bf16=self.bf16)
        self.optimizer = build_optimizer(self.model, cfg.optim, fused=cuda)

        self.output_dir = Path(cfg.output_dir)
        self.checkpoint_dir = Path(cfg.checkpoint.dir) if cfg.checkpoint.dir else self.output_dir / "checkpoints"
        self.log = MetricsLog(self.output_dir, self.dist.is_main)
        if not resume:
            self._claim_output(overwrite)
        self.flops_per_token = flops_per_token(self.model_cfg, cfg.seq_len)
        self.peak_flops = peak_flops(torch.cuda.get_device_name(self.device)) if cuda else None
        self.start_step = 0
        self.skipped_steps: list[int] = []
        self.data_offset = 0  # steps of data skipped by spike restores
        self.spikes: list[dict] = []
        self.spike_guard = SpikeGuard(cfg.spike_guard)
        if resume:
            self._resume(resume)

    # -- checkpoints ------------------------------------------------------------------------------------------

    def _claim_output(self, overwrite: bool) -> None:
        """A new run must not prune another run's checkpoints or append to its log."""
        existing = [str(p) for _, p in ckpt.list_checkpoints(self.checkpoint_dir)]
        if self.log.has_records():
            existing.append(str(self.log.path))
        if dist.is_initialized():
            dist.barrier()  # every rank looks before any rank writes (rank 0's log would look like another run)
        if not existing:
            return
        if not overwrite:
            raise TrainingError(
                f"{self.output_dir} already holds a run ({len(existing)} file(s): {existing[0]}, ...); pass --resume "
                "to continue it, --overwrite to start over (deletes its checkpoints and metrics.jsonl), or set "
                "another output_dir"
            )
        if self.dist.is_main:
            for path in existing:
                Path(path).unlink(missing_ok=True)
        if dist.is_initialized():
            dist.barrier()

    def schedule(self) -> dict:
        """What the learning rate at every step depends on (see ``lr_at``)."""
        optim = self.cfg.optim
        return {"lr": optim.lr, "min_lr_ratio": optim.min_lr_ratio, "warmup_steps": optim.warmup_steps,
                "decay_steps": optim.decay_steps or self.cfg.max_steps}

    def _checkpoint_extra(self, step: int) -> dict:
        return {"schedule": self.schedule(),
                "consumed_samples": (step + self.data_offset) * self.cfg.global_batch_size,
                "data_offset": self.data_offset,
                "spikes": list(self.spikes),
                "global_batch_size": self.cfg.global_batch_size,
                "model_config": self.model_cfg.model_dump(mode="json"),
                "tokenizer_hash": self.data.tokenizer.hash,
                "skipped_steps": list(self.skipped_steps),
                "world_size": self.dist.world_size}

    def _resume(self, resume: bool | str | Path) -> None:
        if resume is True:
            found = ckpt.read_latest_intact(self.checkpoint_dir)
            if found is None:
                self.log.drop_after(0)
                self.log.write({"event": "resume", "note": f"no checkpoint in {self.checkpoint_dir}; starting fresh"})
                return
            path, payload, passed_over = found
            for reason in passed_over:
                self.log.write({"event": "resume_fallback", "note": f"{reason}; using {path.name} instead"})
        else:
            path = Path(resume)
            payload = ckpt.read_checkpoint(path)
        self._check_schedule(path, payload)
        payload = ckpt.apply_checkpoint(payload, path, model=self.model, optimizer=self.optimizer,
                                        rank=self.dist.rank)
        if payload["tokenizer_hash"] != self.data.tokenizer.hash:
            raise TrainingError(f"checkpoint {path} was trained on tokenizer {payload['tokenizer_hash'][:16]}..., "
                                f"the data uses {self.data.tokenizer.hash[:16]}...")
        if payload["model_config"] != self.model_cfg.model_dump(mode="json"):
            raise TrainingError(f"checkpoint {path} holds a different model configuration")
        if payload["global_batch_size"] != self.cfg.global_batch_size:
            raise TrainingError(f"checkpoint {path} used global_batch_size {payload['global_batch_size']}; "
                                f"resume with the same value (the data position is counted in samples)")
        self.start_step = payload["step"]
        self.skipped_steps = list(payload.get("skipped_steps", []))
        self.data_offset = int(payload.get("data_offset", 0))
        self.spikes = list(payload.get("spikes", []))
        dropped = self.log.drop_after(self.start_step)
        self.log.write({"event": "resume", "checkpoint": str(path), "step": self.start_step,
                        "consumed_samples": payload["consumed_samples"],
                        **({"dropped_log_records": dropped} if dropped else {})})

    def _check_schedule(self, path: Path, payload: dict) -> None:
        saved = payload.get("schedule")
        if saved is None or saved == self.schedule() or self.allow_schedule_change:
            return
        changed = ", ".join(f"{key} {saved.get(key)} -> {value}" for key, value in self.schedule().items()
                            if saved.get(key) != value)
        step = payload["step"]
        before = _lr_from(saved, step)
        after = lr_at(step, self.cfg.optim, self.cfg.max_steps)
        raise TrainingError(
            f"checkpoint {path} was trained with another learning-rate schedule ({changed}); resuming would move "
            f"the learning rate at step {step} from {before:.3g} to {after:.3g}. Resume with the checkpoint's values "
            "(train in slices with --stop-after), or pass --allow-schedule-change"
        )

    def save(self, step: int) -> Path:
        return ckpt.save_checkpoint(self.checkpoint_dir, step=step, model=self.model, optimizer=self.optimizer,
                                    extra=self._checkpoint_extra(step), keep_last=self.cfg.checkpoint.keep_last,
                                    is_main=self.dist.is_main)

    # -- steps ------------------------------------------------------------------------------------------------

    def autocast(self):
        """The mixed-precision context of a forward pass (bf16 autocast when enabled).

        FSDP2 casts parameters itself (MixedPrecisionPolicy), so under it autocast stays off."""
        enabled = self.bf16 and self.strategy != "fsdp"
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=enabled)

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda":
            return tensor.contiguous().pin_memory().to(self.device, non_blocking=True)
        return tensor.contiguous()

    def _all_mean(self, value: torch.Tensor) -> torch.Tensor:
        if self.dist.world_size > 1:
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
            value = value / self.dist.world_size
        return value

    def train_step(self, step: int) -> tuple[float, float, bool]:
        """One optimizer step. Returns (mean loss over ranks, gradient norm, whether the update was applied)."""
        cfg = self.cfg
        lr = lr_at(step, cfg.optim, cfg.max_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=self.device)
        for micro in range(self.grad_accum):
            ids = micro_batch_ids(step=step + self.data_offset, micro=micro, rank=self.dist.rank, world_size=self.dist.world_size,
                                  micro_batch_size=cfg.micro_batch_size, global_batch_size=cfg.global_batch_size)
            inputs, targets = (self._to_device(t) for t in PretrainData.batch(self.data.train, ids))
            if cfg.log_documents:
                self._log_documents(step, ids)
            last = micro == self.grad_accum - 1
            with self._sync_context(last), self.autocast():
                loss = self.runner(inputs, targets) / self.grad_accum
                loss.backward()
            loss_sum += loss.detach()
        loss_mean = self._all_mean(loss_sum)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.optim.grad_clip)
        if hasattr(grad_norm, "full_tensor"):  # FSDP2: a DTensor
            grad_norm = grad_norm.full_tensor()
        loss_value, norm_value = float(loss_mean), float(grad_norm)  # every rank sees the same values
        applied = math.isfinite(loss_value) and math.isfinite(norm_value)
        if applied:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_value, norm_value, applied

    def _log_documents(self, step: int, sample_ids) -> None:
        """Append which source documents this rank's samples hold (``log_documents``, off by default)."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with open(self.output_dir / f"documents_seen.rank{self.dist.rank}.jsonl", "a") as handle:
            for sample in sample_ids:
                handle.write(json.dumps({"step": step, "sample": sample,
                                         "documents": self.data.train.documents(sample)}) + "\n")

    def _sync_context(self, last_micro: bool):
        # Gradient all-reduce only once per optimizer step.
        if last_micro:
            return contextlib.nullcontext()
        if self.strategy == "ddp":
            return self.runner.no_sync()
        if self.strategy == "fsdp":
            self.model.set_requires_gradient_sync(False)
            return _restore_fsdp_sync(self.model)
        return contextlib.nullcontext()

    @torch.no_grad()
    def evaluate(self) -> float | None:
        """Mean loss over the fixed validation samples (the same ones at every evaluation)."""
        if self.data.val is None:
            return None
        cfg = self.cfg
        per_rank = cfg.eval_samples // self.dist.world_size  # equal counts: FSDP forwards are collective
        ids = list(range(self.dist.rank * per_rank, (self.dist.rank + 1) * per_rank))
        self.runner.eval()
        total = torch.zeros((), device=self.device)
        for begin in range(0, len(ids), cfg.micro_batch_size):
            chunk = ids[begin:begin + cfg.micro_batch_size]
            inputs, targets = (self._to_device(t) for t in PretrainData.batch(self.data.val, chunk))
            with self.autocast():
                total += self.runner(inputs, targets).float() * len(chunk)
        self.runner.train()
        return float(self._all_mean(total / max(1, per_rank)))

    # -- the loop ---------------------------------------------------------------------------------------------

    def fit(self, *, stop_after: int | None = None) -> TrainResult:
        """Train from the current step to ``max_steps``, or stop early after step ``stop_after`` with a checkpoint
        (training in slices, e.g. under a job time limit; the schedule still spans ``max_steps``)."""
        cfg = self.cfg
        end = cfg.max_steps if stop_after is None else min(stop_after, cfg.max_steps)
        result = TrainResult(skipped_steps=self.skipped_steps, spikes=self.spikes)
        if self.start_step >= end:  # resumed a finished run (or slice): evaluating and saving again would log twice
            result.last_checkpoint = ckpt.latest_checkpoint(self.checkpoint_dir)
            self.log.write({"event": "done", "note": f"already at step {self.start_step}; nothing to train"})
            return result
        self.runner.train()
        if self.start_step == 0:
            self.log.write({"event": "start", "params": self.model.num_params(), "world_size": self.dist.world_size,
                            "strategy": self.strategy, "grad_accum": self.grad_accum, "bf16": self.bf16,
                            "device": str(self.device), "flops_per_token": self.flops_per_token,
                            "train_tokens_planned": cfg.max_steps * cfg.tokens_per_step})
        tokens_per_step_per_device = cfg.tokens_per_step / self.dist.world_size
        consecutive_skips = 0
        window_start, window_steps = time.perf_counter(), 0
        run_time, run_steps, first_window = 0.0, 0, True
        step = self.start_step
        while step < end:
            try:
                loss, grad_norm, applied = self.train_step(step)
            except torch.OutOfMemoryError as error:
                raise TrainingError(
                    f"out of memory at step {step} (micro_batch_size {cfg.micro_batch_size}, seq_len {cfg.seq_len}): "
                    "lower micro_batch_size (gradient accumulation keeps the global batch), set "
                    "parallel.activation_checkpointing=true, or use parallel.strategy=fsdp"
                ) from error
            done = step + 1
            window_steps += 1
            result.losses[step] = loss if applied else float("nan")
            if not applied:
                consecutive_skips += 1
                self.skipped_steps.append(step)
                self.log.write({"event": "skipped", "step": done, "loss": loss, "grad_norm": grad_norm})
                if consecutive_skips >= cfg.max_consecutive_skips:
                    raise TrainingError(f"non-finite loss or gradient norm for {consecutive_skips} steps in a row "
                                        f"(last at step {done}); lower optim.lr or check the data")
            else:
                consecutive_skips = 0
                spike = self.spike_guard.observe(step, loss)
                if spike is not None:
                    self.log.write({"event": "train", "step": done, "loss": loss, "grad_norm": grad_norm,
                                    "lr": lr_at(step, cfg.optim, cfg.max_steps), "skipped": len(self.skipped_steps)})
                    step = self._restore_before(spike)
                    window_start, window_steps = time.perf_counter(), 0
                    continue
            if done % cfg.log_every == 0 or done == end:
                elapsed = time.perf_counter() - window_start
                tokens_per_second = tokens_per_step_per_device * window_steps / elapsed
                if not first_window:  # the first window carries start-up and compilation
                    run_time, run_steps = run_time + elapsed, run_steps + window_steps
                first_window = False
                utilisation = mfu(tokens_per_second, self.flops_per_token, self.peak_flops)
                self.log.write({"event": "train", "step": done, "loss": loss, "lr": lr_at(step, cfg.optim, cfg.max_steps),
                                "grad_norm": grad_norm, "tokens_per_s": tokens_per_second,
                                "mfu": utilisation, "tokens_seen": done * cfg.tokens_per_step,
                                "skipped": len(self.skipped_steps)})
                window_start, window_steps = time.perf_counter(), 0
            if cfg.eval_every and done % cfg.eval_every == 0 and done != end:
                result.val_losses[done] = self._log_eval(done)
                window_start = time.perf_counter()
            if cfg.checkpoint.every and done % cfg.checkpoint.every == 0 and done != end:
                if self.spike_guard.suspicious_since is None:  # never save in the middle of a possible spike
                    result.last_checkpoint = self.save(done)
                window_start = time.perf_counter()
            step = done
        if end < cfg.max_steps:
            result.last_checkpoint = self.save(end)
            self.log.write({"event": "stopped", "step": end, "checkpoint": str(result.last_checkpoint)})
        else:
            final_val = self._log_eval(end)
            if final_val is not None:
                result.val_losses[end] = final_val
            if cfg.checkpoint.save_final or cfg.checkpoint.every:
                result.last_checkpoint = self.save(end)
        result.tokens_per_second = tokens_per_step_per_device * run_steps / run_time if run_time else None
        return result

    def _restore_before(self, spike: Spike) -> int:
        """Load the newest checkpoint taken before the spike began, move the data past the spike window, and return
        the step to continue from. Raises when there is nothing to restore or restores keep recurring."""
        if len(self.spikes) >= self.cfg.spike_guard.max_restores:
            raise TrainingError(f"loss spiked again at step {spike.last_step + 1} after {len(self.spikes)} restores "
                                "(spike_guard.max_restores); lower optim.lr or inspect the data")
        good = [(step, path) for step, path in ckpt.list_checkpoints(self.checkpoint_dir) if step <= spike.first_step]
        if not good:
            raise TrainingError(f"loss spiked at step {spike.last_step + 1} ({spike.loss:.4g} vs running mean "
                                f"{spike.running_mean:.4g}) and no checkpoint precedes it; set checkpoint.every "
                                "so the spike guard can restore, or spike_guard.enabled=false")
        restored_step, path = good[-1]
        ckpt.load_checkpoint(path, model=self.model, optimizer=self.optimizer, rank=self.dist.rank)
        # The restarted step `restored_step` reads the batch after the spike window: everything the run read from
        # the checkpoint to the spike is skipped.
        skipped_data = spike.last_step + 1 - restored_step
        self.data_offset += skipped_data
        record = {"step": spike.last_step + 1, "first_step": spike.first_step + 1, "loss": spike.loss,
                  "running_mean": spike.running_mean, "restored_step": restored_step,
                  "skipped_data_steps": skipped_data, "data_offset": self.data_offset}
        self.spikes.append(record)
        self.spike_guard.reset_after_restore()
        self.log.drop_after(restored_step, keep_events=("spike",))  # the steps after the checkpoint are redone
        self.log.write({"event": "spike", **record, "checkpoint": str(path)})
        return restored_step

    def _log_eval(self, step: int) -> float | None:
        val_loss = self.evaluate()
        if val_loss is not None:
            self.log.write({"event": "val", "step": step, "val_loss": val_loss})
        return val_loss


def _lr_from(schedule: dict, step: int) -> float:
    optim = OptimConfig(lr=schedule["lr"], min_lr_ratio=schedule["min_lr_ratio"],
                        warmup_steps=schedule["warmup_steps"], decay_steps=schedule["decay_steps"])
    return lr_at(step, optim, schedule["decay_steps"])


@contextlib.contextmanager
def _restore_fsdp_sync(model):
    try:
        yield
    finally:
        model.set_requires_gradient_sync(True)


def train(cfg: TrainConfig, *, resume: bool | str | Path = False, stop_after: int | None = None,
          allow_schedule_change: bool = False, overwrite: bool = False) -> TrainResult:
    """Build a trainer from ``cfg`` and run it (see ``Trainer.fit``); tears down the process group afterwards."""
    from curator.trainer.parallelize import destroy_distributed

    try:
        trainer = Trainer(cfg, resume=resume, allow_schedule_change=allow_schedule_change, overwrite=overwrite)
        return trainer.fit(stop_after=stop_after)
    finally:
        destroy_distributed()
