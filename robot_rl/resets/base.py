"""What a reset is: `ResetStrategy(env, rng) -> ResetResult` puts the scene back into the task's start
distribution through the normal command path; a `Verifier(env) -> Verification` confirms it.

`env` is a RobotEnv-like environment: `step(action)`, `reset(options={"teleport": False})`,
`full_state()` (robot + object state: privileged in the mirror, perception on a rig), `observe()`,
`task` and `hardware` (True on a real rig). Strategies come from `RESETS` by name (an explicit dict,
loaders import lazily).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np


class HardwareRigError(RuntimeError):
    """A mirror-only operation (a teleport) was asked of a hardware rig."""


@dataclasses.dataclass(frozen=True)
class ResetResult:
    """What one reset attempt did (before verification)."""

    ok: bool
    """The strategy finished its procedure (verification decides whether the scene is really reset)."""
    strategy: str
    """Name of the strategy that ran."""
    steps: int = 0
    """Control steps commanded to the arm."""
    seconds: float = 0.0
    """Wall time of the attempt (s)."""
    message: str = ""
    """Why it stopped (e.g. "done", "step limit", "timeout")."""


@dataclasses.dataclass(frozen=True)
class Verification:
    """A verifier's verdict on the scene."""

    ok: bool
    """The scene is in a valid start state."""
    checks: dict[str, bool] = dataclasses.field(default_factory=dict)
    """Named checks of a predicate verifier (all True = ok)."""
    score: float | None = None
    """Classifier probability of "reset state", when a classifier decided."""


class ResetStrategy(Protocol):
    name: str

    def __call__(self, env: Any, rng: np.random.Generator) -> ResetResult: ...


class Verifier(Protocol):
    def __call__(self, env: Any) -> Verification: ...


def is_mirror(env: Any) -> bool:
    """The env is a simulation (an env without the `hardware` flag counts as hardware: fail safe)."""
    return getattr(env, "hardware", True) is False


def home_pose(env: Any, margin: float = 0.01) -> np.ndarray:
    """TCP position (m, base frame) at the task's home joints, clipped `margin` inside the workspace
    box (the arm's safety layer would clip targets there anyway). `env.home_pos` wins when set (a rig
    knows its home pose); otherwise forward kinematics on the mirror's model (a scratch MjData: the
    scene is not touched)."""
    if getattr(env, "home_pos", None) is not None:
        return np.asarray(env.home_pos, dtype=float)
    import mujoco

    sim, cfg = env.sim, env.task.config
    data = mujoco.MjData(sim.model)
    data.qpos[sim.arm_qpos] = cfg.home_q
    mujoco.mj_kinematics(sim.model, data)
    pos = data.site_xpos[sim.ee_site].copy()
    return np.clip(pos, np.asarray(cfg.workspace_min) + margin, np.asarray(cfg.workspace_max) - margin)


def _scripted(**kw: Any) -> ResetStrategy:
    from robot_rl.resets.scripted import ScriptedReset

    return ScriptedReset(**kw)


def _teleport(**kw: Any) -> ResetStrategy:
    from robot_rl.resets.teleport import TeleportReset

    return TeleportReset(**kw)


def _operator(**kw: Any) -> ResetStrategy:
    from robot_rl.resets.operator import OperatorReset

    return OperatorReset(**kw)


def _backward(**kw: Any) -> ResetStrategy:
    from robot_rl.resets.backward import BackwardReset

    return BackwardReset(**kw)


RESETS: dict[str, Callable[..., ResetStrategy]] = {
    "scripted": _scripted,
    "teleport": _teleport,
    "operator": _operator,
    "backward": _backward,
}


def make_reset(name: str, **kw: Any) -> ResetStrategy:
    """A reset strategy by name; keywords go to its constructor."""
    if name not in RESETS:
        raise KeyError(f"unknown reset strategy {name!r}; known: {sorted(RESETS)}")
    return RESETS[name](**kw)
