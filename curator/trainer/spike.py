"""Loss-spike guard: notice a sustained loss spike and say where training should restart.

Large runs (PaLM, OPT, BLOOM) handle loss spikes by restarting from a checkpoint taken before the spike and skipping
the data batches seen around it. :class:`SpikeGuard` is the pure decision part of that recipe: it keeps a running
mean of recent healthy losses and reports a spike when the loss stays above ``factor`` times that mean for
``patience`` consecutive steps. The loop (``curator.trainer.loop``) does the restoring and the data skipping.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from curator.trainer.config import SpikeGuardConfig


@dataclass(frozen=True)
class Spike:
    first_step: int  # first step of the run of high losses (0-based optimizer step)
    last_step: int  # the step at which the spike was declared
    loss: float
    running_mean: float


class SpikeGuard:
    def __init__(self, cfg: SpikeGuardConfig):
        self.cfg = cfg
        self.history: deque[float] = deque(maxlen=cfg.window)
        self.suspicious_since: int | None = None

    @property
    def running_mean(self) -> float | None:
        if len(self.history) < self.cfg.min_history:
            return None
        return sum(self.history) / len(self.history)

    def observe(self, step: int, loss: float) -> Spike | None:
        """Feed one step's loss; return a :class:`Spike` when the spike is confirmed, else None."""
        if not self.cfg.enabled or not math.isfinite(loss):
            return None  # non-finite steps are the loop's skip logic, not a spike
        mean = self.running_mean
        if mean is not None and loss > self.cfg.factor * mean:
            if self.suspicious_since is None:
                self.suspicious_since = step
            if step - self.suspicious_since + 1 >= self.cfg.patience:
                spike = Spike(self.suspicious_since, step, loss, mean)
                self.suspicious_since = None
                return spike
            return None  # high losses are kept out of the running mean
        self.suspicious_since = None
        self.history.append(loss)
        return None

    def reset_after_restore(self) -> None:
        """Forget the pending run of high losses; the healthy history before the spike stays a fair baseline."""
        self.suspicious_since = None
