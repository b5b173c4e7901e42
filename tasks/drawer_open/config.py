"""drawer_open configuration."""

from __future__ import annotations

import dataclasses

from robot_rl.tasks.base import TaskConfig


@dataclasses.dataclass(frozen=True)
class DrawerOpenConfig(TaskConfig):
    """drawer_open settings (shared fields documented on TaskConfig)."""

    name: str = "drawer_open"
    """Registry name."""
    episode_steps: int = 80
    """8 s at 10 Hz; the expert needs ~45 steps."""
    workspace_min: tuple[float, float, float] = (0.25, -0.35, 0.03)
    """TCP box lower corner (m): the fingertips stay above the table."""
    privileged_keys: tuple[str, ...] = ("handle_pos", "drawer_opening")
    """Handle centre (m, base frame) and drawer travel (m): perception on a real rig."""
    cabinet_x: tuple[float, float] = (0.45, 0.6)
    """Range of the cabinet centre's x (m, base frame), uniform."""
    cabinet_y: tuple[float, float] = (0.32, 0.4)
    """Range of the cabinet centre's y (m, base frame), uniform; the drawer opens towards -y."""
    open_distance: float = 0.10
    """Success: the drawer pulled out at least this far (m)."""
