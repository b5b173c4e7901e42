"""Scripted peg_insert expert: bring the peg's tip above the hole, align, then push straight down."""

from __future__ import annotations

import numpy as np

from robot_rl.env import rotations as rot
from robot_rl.tasks.base import DOWN, Expert


class PegInsertExpert(Expert):
    """Phases: 0 move the tip 2 cm above the hole, 1 align to < 1 mm, 2 insert (back to 1 when stalled
    on the rim)."""

    above = 0.02  # m

    def reset(self) -> None:
        self.phase, self.tips = 0, []

    def plan(self, s: dict[str, np.ndarray]) -> np.ndarray:
        cfg = self.config
        peg_quat = np.asarray(s["object_quat"], dtype=float)
        axis = rot.multiply(rot.multiply(peg_quat, [0, 0, 1.0, 0]), rot.conjugate(peg_quat))[:3]
        axis = axis if axis[2] < 0 else -axis
        tip = np.asarray(s["object_pos"], dtype=float) + axis * cfg.peg_half_length
        hole = np.asarray(s["hole_pos"], dtype=float)
        ee = np.asarray(s["ee_pos"], dtype=float)
        # move the TCP by the tip's error: the peg is rigid in the hand
        if self.phase == 0:
            goal = hole + [0.0, 0.0, self.above]
            if np.linalg.norm(goal - tip) < 0.004:
                self.phase = 1
            return self.move(s, ee + goal - tip, DOWN, 0.0)
        if self.phase == 1:
            goal = hole + [0.0, 0.0, self.above]
            if np.linalg.norm(goal[:2] - tip[:2]) < 0.001:
                self.phase, self.tips = 2, []
            return self.move(s, ee + goal - tip, DOWN, 0.0, max_speed=0.3)
        self.tips.append(float(tip[2]))
        stalled = len(self.tips) > 5 and self.tips[-6] - self.tips[-1] < 0.001
        if stalled and tip[2] > hole[2] - 0.005:  # caught on the rim: lift and realign
            self.phase, self.tips = 1, []
            return self.move(s, ee + [0.0, 0.0, 0.01], DOWN, 0.0, max_speed=0.5)
        goal = hole - [0.0, 0.0, cfg.insert_depth + 0.01]
        target = ee + goal - tip
        return self.move(s, target, DOWN, 0.0, max_speed=0.3)
