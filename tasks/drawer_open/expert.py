"""Scripted drawer_open expert: fingers around the handle bar from above, close, pull along -y."""

from __future__ import annotations

import numpy as np

from robot_rl.tasks.base import DOWN, Expert


class DrawerOpenExpert(Expert):
    """Phases: 0 above the handle, 1 down around the bar, 2 close, 3 pull."""

    hover = 0.08  # m above the handle
    approach_opening = 0.6  # partly open: a fully open finger would hit the drawer front
    close_steps = 4
    pull = 0.15  # m

    def reset(self) -> None:
        self.phase, self.timer = 0, 0

    def plan(self, s: dict[str, np.ndarray]) -> np.ndarray:
        handle = np.asarray(s["handle_pos"], dtype=float)
        ee = np.asarray(s["ee_pos"], dtype=float)
        if self.phase == 0:
            target = handle + [0.0, 0.0, self.hover]
            if np.linalg.norm(target[:2] - ee[:2]) < 0.008 and abs(target[2] - ee[2]) < 0.03:
                self.phase = 1
            return self.move(s, target, DOWN, self.approach_opening)
        if self.phase == 1:
            if np.linalg.norm(handle - ee) < 0.006:
                self.phase, self.timer = 2, 0
            return self.move(s, handle, DOWN, self.approach_opening, max_speed=0.6)
        if self.phase == 2:
            self.timer += 1
            if self.timer >= self.close_steps:
                self.phase = 3
            return self.move(s, handle, DOWN, 0.0)
        if float(s["gripper"][0]) < 0.05:  # the bar slipped out: start over
            self.phase = 0
            return self.move(s, ee + [0.0, 0.0, 0.05], DOWN, self.approach_opening)
        closed = float(s["drawer_opening"][0])
        target = handle + [0.0, -(self.pull - closed), 0.0] if closed < self.pull else handle
        return self.move(s, target, DOWN, 0.0, max_speed=0.8)
