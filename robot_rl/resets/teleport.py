"""Teleport reset: the mirror's randomised `env.reset(seed=...)`. Mirror-only, for CI speed; a hardware
rig refuses it (at construction with a hardware rig config, and at call time on a hardware env)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from robot_rl.resets.base import HardwareRigError, ResetResult, is_mirror


class TeleportReset:
    name = "teleport"

    def __init__(self, rig: Any | None = None) -> None:
        """`rig`: the RigConfig in use, if any; anything but the mirror's `sim` arm driver is refused."""
        if rig is not None and rig.arm.driver != "sim":
            raise HardwareRigError(f"teleport resets are mirror-only; rig {rig.name!r} drives a "
                                   f"{rig.arm.driver!r} arm: use the scripted, backward or operator reset")

    def __call__(self, env: Any, rng: np.random.Generator) -> ResetResult:
        if not is_mirror(env):
            raise HardwareRigError("teleport resets are mirror-only; this env drives hardware")
        start = time.perf_counter()
        env.reset(seed=int(rng.integers(2**31)))
        return ResetResult(True, self.name, 0, time.perf_counter() - start, "teleported")
