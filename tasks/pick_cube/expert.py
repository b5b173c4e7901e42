"""Scripted pick_cube expert: above the cube → down → close → lift; retries after a missed grasp."""

from __future__ import annotations

import numpy as np

from robot_rl.env import rotations as rot
from robot_rl.tasks.base import DOWN, Expert


def grasp_yaw(object_quat: np.ndarray) -> float:
    """Gripper yaw (rad) aligning the fingers with a face of a square object, in [-π/4, π/4]. Uses the
    object's most horizontal axis, so a cube lying on any face is handled (the x axis when z is up)."""
    axes = [rot.multiply(rot.multiply(object_quat, [*e, 0.0]), rot.conjugate(object_quat))[:3]
            for e in np.eye(3)]
    axis = min(axes, key=lambda a: abs(a[2]))  # x and y tie when z is up: same yaw modulo π/2
    yaw = float(np.arctan2(axis[1], axis[0]))
    return (yaw + np.pi / 4) % (np.pi / 2) - np.pi / 4


def down_quat(yaw: float) -> np.ndarray:
    """TCP orientation (xyzw) pointing down, turned by `yaw` about the base z axis."""
    return rot.multiply(rot.from_rotvec([0.0, 0.0, yaw]), DOWN)


class PickCubeExpert(Expert):
    """Phases: 0 approach above the cube, 1 descend, 2 close, 3 lift."""

    hover = 0.10  # m above the cube centre
    close_steps = 5

    def reset(self) -> None:
        self.phase, self.timer, self.lift_z = 0, 0, 0.0

    def plan(self, s: dict[str, np.ndarray]) -> np.ndarray:
        cube = np.asarray(s["object_pos"], dtype=float)
        quat = down_quat(grasp_yaw(np.asarray(s["object_quat"], dtype=float)))
        ee = np.asarray(s["ee_pos"], dtype=float)
        if self.phase == 0:
            target = cube + [0.0, 0.0, self.hover]
            yaw_err = rot.angle_between(quat, s["ee_quat"])
            near = np.linalg.norm(target[:2] - ee[:2]) < 0.008 and abs(target[2] - ee[2]) < 0.03
            if near and yaw_err < 0.08:
                self.phase = 1
            return self.move(s, target, quat, 1.0)
        if self.phase == 1:
            target = cube + [0.0, 0.0, -0.005]
            if np.linalg.norm(target - ee) < 0.008:
                self.phase, self.timer = 2, 0
            return self.move(s, target, quat, 1.0, max_speed=0.6)
        if self.phase == 2:
            self.timer += 1
            if self.timer >= self.close_steps:
                self.phase, self.lift_z = 3, ee[2] + 0.12
            return self.move(s, ee, quat, 0.0)
        if float(s["gripper"][0]) < 0.1:  # closed on nothing: the cube slipped away, start over
            self.phase = 0
            return self.move(s, ee + [0.0, 0.0, 0.05], quat, 1.0)
        return self.move(s, [ee[0], ee[1], self.lift_z], quat, 0.0)
