"""pick_cube configuration."""

from __future__ import annotations

import dataclasses

from robot_rl.tasks.base import TaskConfig


@dataclasses.dataclass(frozen=True)
class PickCubeConfig(TaskConfig):
    """pick_cube settings (shared fields documented on TaskConfig)."""

    name: str = "pick_cube"
    """Registry name."""
    episode_steps: int = 80
    """8 s at 10 Hz; the expert needs ~40 steps."""
    privileged_keys: tuple[str, ...] = ("object_pos", "object_quat")
    """The cube's position (m) and orientation (xyzw): a real rig would need perception for them."""
    cube_x: tuple[float, float] = (0.4, 0.6)
    """Range of the cube's initial x (m, base frame), uniform."""
    cube_y: tuple[float, float] = (-0.15, 0.15)
    """Range of the cube's initial y (m, base frame), uniform."""
    cube_yaw: tuple[float, float] = (-0.785, 0.785)
    """Range of the cube's initial yaw (rad), uniform."""
    lift_height: float = 0.05
    """Success: the cube's centre at least this far (m) above its resting height."""
