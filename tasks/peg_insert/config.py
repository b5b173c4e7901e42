"""peg_insert configuration."""

from __future__ import annotations

import dataclasses

from robot_rl.tasks.base import TaskConfig


@dataclasses.dataclass(frozen=True)
class PegInsertConfig(TaskConfig):
    """peg_insert settings (shared fields documented on TaskConfig)."""

    name: str = "peg_insert"
    """Registry name."""
    episode_steps: int = 100
    """10 s at 10 Hz; the expert needs ~50 steps."""
    workspace_min: tuple[float, float, float] = (0.3, -0.3, 0.03)
    """TCP box lower corner (m): the peg can reach the hole bottom, the fingers not the fixture."""
    privileged_keys: tuple[str, ...] = ("object_pos", "object_quat", "hole_pos")
    """Peg centre (m), peg orientation (xyzw) and hole entrance centre (m): perception on a real rig."""
    hole_x: tuple[float, float] = (0.45, 0.6)
    """Range of the hole's x (m, base frame), uniform."""
    hole_y: tuple[float, float] = (-0.15, 0.15)
    """Range of the hole's y (m, base frame), uniform."""
    grasp_offset: tuple[float, float] = (-0.005, 0.005)
    """Range of the peg's offset along the fingers' closing-free axis in the hand (m), uniform."""
    peg_half: float = 0.01
    """Half the peg's side (m); scene.xml."""
    peg_half_length: float = 0.04
    """Half the peg's length (m); scene.xml."""
    hole_half: float = 0.011
    """Half the hole's side (m): clearance = 2·(hole_half − peg_half) = 2 mm; scene.xml."""
    insert_depth: float = 0.03
    """Success: the peg's tip at least this far (m) below the hole entrance, inside the hole."""
