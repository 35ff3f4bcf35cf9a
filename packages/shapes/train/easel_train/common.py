"""Shared training plumbing: config, device, seeding, budgets, checkpoints, the JSONL loss log."""

from __future__ import annotations

import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def lr_at(step: int, progress: float, base_lr: float, warmup_steps: int, floor: float = 0.1) -> float:
    """Linear warm-up over the first `warmup_steps` steps, times a cosine decay (by stage progress) to `floor`.

    Warm-up is counted in steps, not in progress: a time-budgeted stage on a slow machine may only
    run tens of steps, and a from-scratch transformer collapses if it sees the full rate at once.
    """
    warm = min(1.0, (step + 1) / max(1, warmup_steps))
    p = min(max(progress, 0.0), 1.0)
    return base_lr * warm * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


class StageClock:
    """Progress of a stage measured in steps (fixed `steps`) or in training seconds (`minutes`).

    Time-based stages let the full recipe fit a wall-clock budget on whatever machine runs it;
    the elapsed training time is checkpointed, so a resumed run continues the same schedule.
    """

    def __init__(self, steps: int | None, seconds: float | None, step: int = 0, elapsed: float = 0.0):
        if steps is None and seconds is None:
            raise ValueError("a stage needs `steps` or `minutes`")
        self.steps = steps
        self.seconds = seconds
        self.step = step
        self.elapsed = elapsed
        self._mark = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        self.elapsed += now - self._mark
        self._mark = now
        self.step += 1

    def restart_timer(self) -> None:
        self._mark = time.monotonic()

    @property
    def progress(self) -> float:
        if self.steps is not None:
            return self.step / self.steps if self.steps > 0 else 1.0
        assert self.seconds is not None
        return self.elapsed / self.seconds

    @property
    def done(self) -> bool:
        return self.progress >= 1.0


def stage_budget(stage_cfg: dict, budget_minutes: float | None) -> tuple[int | None, float | None]:
    """(steps, seconds) for a stage: explicit `steps` win; else `share` of the run budget, else `minutes`."""
    if "steps" in stage_cfg:
        return int(stage_cfg["steps"]), None
    if budget_minutes is not None and "share" in stage_cfg:
        return None, float(stage_cfg["share"]) * budget_minutes * 60
    return None, float(stage_cfg["minutes"]) * 60


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic save: a killed run never leaves a half-written checkpoint behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict | None:
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


class LossLog:
    """Appends one JSON object per line; every record names its stage."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, stage: str, **fields) -> None:
        record = {"time": round(time.time(), 1), "stage": stage}
        for k, v in fields.items():
            record[k] = round(float(v), 6) if isinstance(v, (float, np.floating)) else v
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)


class Ema:
    """Exponential moving average of parameters with the usual (1+n)/(10+n) warm-up of the decay."""

    def __init__(self, module: torch.nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in module.state_dict().items()}
        self.updates = 0

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for k, v in module.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(d).add_(v.detach().float(), alpha=1 - d)
            else:
                self.shadow[k].copy_(v)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "shadow": self.shadow, "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.decay = state["decay"]
        self.shadow = state["shadow"]
        self.updates = state["updates"]
