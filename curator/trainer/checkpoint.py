"""Checkpoints: model, optimizer, step, data position and RNG states in one file per step, written atomically.

Layout: ``<dir>/step_00001000.pt``. Rank 0 writes to a hidden temporary file in the same folder, fsyncs it and
renames it, so a crash never leaves a truncated checkpoint under a final name; only then are older checkpoints
beyond ``keep_last`` deleted. The learning-rate schedule is a pure function of the step, so the step *is* the
scheduler state; the data position is the number of samples consumed (see ``data.py``).

Full (unsharded) state dicts are gathered through ``torch.distributed.checkpoint.state_dict``, which works the
same for a plain module, DDP and FSDP2 and strips compile/checkpoint-wrapper prefixes from the keys.
TODO: for multi-billion-parameter FSDP runs, save sharded with ``torch.distributed.checkpoint`` instead.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from curator.atomic import atomic_file
from curator.errors import CuratorError


CHECKPOINT_PATTERN = re.compile(r"^step_(\d{8})\.pt$")
FORMAT_VERSION = 1


class CheckpointError(CuratorError):
    """A checkpoint is missing, unreadable, or does not belong to this run's model or tokenizer."""


def checkpoint_path(folder: str | Path, step: int) -> Path:
    return Path(folder) / f"step_{step:08d}.pt"


def list_checkpoints(folder: str | Path) -> list[tuple[int, Path]]:
    """Finished checkpoints as ``(step, path)``, oldest first (temporaries are ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), folder / name) for name in os.listdir(folder)
             if (m := CHECKPOINT_PATTERN.match(name))]
    return sorted(found)


def latest_checkpoint(folder: str | Path) -> Path | None:
    found = list_checkpoints(folder)
    return found[-1][1] if found else None


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _all_rng_states() -> list[dict[str, Any]]:
    """Every rank's RNG state (rank order), gathered to all ranks."""
    mine = rng_state()
    if not dist.is_initialized():
        return [mine]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, mine)
    return gathered


def save_checkpoint(folder: str | Path, *, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    extra: dict[str, Any], keep_last: int, is_main: bool) -> Path:
    """Collective: every rank must call it. Rank 0 writes ``step_<step>.pt``, then prunes to ``keep_last``."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    model_state, optim_state = get_state_dict(model, optimizer, options=options)
    rng_states = _all_rng_states()
    path = checkpoint_path(folder, step)
    if is_main:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format_version": FORMAT_VERSION, "step": step, "model": model_state, "optimizer": optim_state,
                   "rng": rng_states, **extra}
        with atomic_file(path, "wb") as handle:
            torch.save(payload, handle)
        for _, old in list_checkpoints(folder)[:-keep_last]:
            old.unlink(missing_ok=True)
    if dist.is_initialized():
        dist.barrier()  # nobody moves on (or exits) before the file is complete
    return path


class UnreadableCheckpointError(CheckpointError):
    """The file is missing, truncated, or not a checkpoint of this format (an older one may still be intact)."""


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's payload, untouched; raises :class:`UnreadableCheckpointError` for a damaged file."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableCheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a truncated or foreign file
        raise UnreadableCheckpointError(f"checkpoint {path} is not readable: {error}") from error
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        version = payload.get("format_version") if isinstance(payload, dict) else None
        raise UnreadableCheckpointError(f"checkpoint {path} has format {version}, expected {FORMAT_VERSION}")
    return payload


def read_latest_intact(folder: str | Path) -> tuple[Path, dict[str, Any], list[str]] | None:
    """The newest checkpoint in ``folder`` that reads back, its payload, and why each newer one was passed over.

    A checkpoint cut short (a full disk, a partial copy) must not end a resumable run: the previous one is used.
    """
    passed_over = []
    for _, path in reversed(list_checkpoints(folder)):
        try:
            return path, read_checkpoint(path), passed_over
        except UnreadableCheckpointError as error:
            passed_over.append(str(error).splitlines()[0][:300])
    if passed_over:
        raise CheckpointError(f"no intact checkpoint in {folder}: " + "; ".join(passed_over))
    return None


def load_checkpoint(path: str | Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    rank: int) -> dict[str, Any]:
    """Restore model, optimizer and this rank's RNG state; return the payload's other fields (step, data, ...)."""
    return apply_checkpoint(read_checkpoint(path), path, model=model, optimizer=optimizer, rank=rank)


def apply_checkpoint(payload: dict[str, Any], path: str | Path, *, model: torch.nn.Module,
                     optimizer: torch.optim.Optimizer, rank: int) -> dict[str, Any]:
    """:func:`load_checkpoint` for a payload already read."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    payload = dict(payload)
    try:
        set_state_dict(model, optimizer, model_state_dict=payload.pop("model"),
                       optim_state_dict=payload.pop("optimizer"),
                       options=StateDictOptions(full_state_dict=True, strict=True))
    except (RuntimeError, KeyError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path} does not fit this model: {error}") from error
    rng_states = payload.pop("rng")
    if len(rng_states) > rank:
        set_rng_state(rng_states[rank])
    return payload
