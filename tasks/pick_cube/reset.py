"""Scripted pick_cube reset: pick the cube up wherever it is (or keep it if already held), carry it to a
random spot of the start region at a random yaw, put it down, release, go home. The "reset state":
cube resting flat inside the start region, gripper open, TCP near home."""

from __future__ import annotations

import numpy as np

from robot_rl.env import rotations as rot
from robot_rl.tasks.base import ResetScript, tcp_down, tcp_home
from robot_rl.tasks.pick_cube.config import PickCubeConfig
from robot_rl.tasks.pick_cube.expert import PickCubeExpert, down_quat
from robot_rl.tasks.pick_cube.task import CUBE_HALF

MARGIN = 0.01
"""Spots are drawn this far (m) inside the start region, so a placement error stays inside it."""


def holding(s: dict[str, np.ndarray]) -> bool:
    """The cube is between the fingers: close to the TCP and the gripper stopped on it (~0.5 open)."""
    near = np.linalg.norm(np.asarray(s["object_pos"]) - s["ee_pos"]) < 0.03
    return bool(near and 0.3 < float(s["gripper"][0]) < 0.7)


class PickCubeReset(ResetScript):
    """Phases: grasp (the task's expert) → carry → lower → release → retreat → home."""

    carry_height = 0.12  # m, TCP height while carrying

    def reset(self) -> None:
        cfg: PickCubeConfig = self.config
        lo = np.array([cfg.cube_x[0], cfg.cube_y[0]]) + MARGIN
        hi = np.array([cfg.cube_x[1], cfg.cube_y[1]]) - MARGIN
        self.spot = self.rng.uniform(lo, hi)
        self.yaw = self.rng.uniform(*cfg.cube_yaw) * 0.9
        self.picker = PickCubeExpert(cfg)
        self.offset = np.zeros(3)

    def plan(self, s: dict[str, np.ndarray]) -> np.ndarray:
        self.timer += 1
        ee, cube = np.asarray(s["ee_pos"], float), np.asarray(s["object_pos"], float)
        quat = down_quat(self.yaw)
        if self.phase == "start":
            self.set_phase("carry" if holding(s) else "grasp")
            self.offset = cube - ee
        if self.phase == "grasp":
            if holding(s) and cube[2] > CUBE_HALF + 0.03:
                self.set_phase("carry")
                self.offset = cube - ee
            else:
                return self.picker.plan(s)
        if self.phase in ("carry", "lower") and not holding(s):  # dropped on the way: pick it up again
            self.picker.reset()
            self.set_phase("grasp")
            return self.picker.plan(s)
        if self.phase == "carry":
            target = np.array([*(self.spot - self.offset[:2]), max(ee[2], self.carry_height)])
            if np.linalg.norm(target[:2] - ee[:2]) < 0.004 and rot.angle_between(quat, s["ee_quat"]) < 0.05:
                self.set_phase("lower")
            return self.move(s, target, quat, 0.0)
        if self.phase == "lower":
            target = np.array([*(self.spot - self.offset[:2]), ee[2] + CUBE_HALF + 0.002 - cube[2]])
            if cube[2] < CUBE_HALF + 0.004 or self.timer > 30:
                self.set_phase("release")
            return self.move(s, target, quat, 0.0, max_speed=0.5)
        if self.phase == "release":
            if self.timer >= 5:
                self.set_phase("retreat")
            return self.move(s, ee, quat, 1.0)
        if self.phase == "retreat":
            if ee[2] > cube[2] + 0.08:
                self.set_phase("home")
            return self.move(s, [ee[0], ee[1], cube[2] + 0.1], quat, 1.0)
        return self.go_home(s, 1.0)


def start_checks(cfg: PickCubeConfig, s: dict[str, np.ndarray], home_pos: np.ndarray) -> dict[str, bool]:
    cube = np.asarray(s["object_pos"], float)
    q = np.asarray(s["object_quat"], float)
    mat = np.stack([rot.multiply(rot.multiply(q, [*e, 0.0]), rot.conjugate(q))[:3] for e in np.eye(3)])
    tol = 0.002  # m: the spot was drawn MARGIN inside, this much outside still counts as inside
    return {
        "cube_on_table": abs(cube[2] - CUBE_HALF) < 0.004,
        # a face down: the uniformly coloured cube looks the same on any face (its axes, base frame)
        "cube_flat": float(np.max(np.abs(mat[:, 2]))) > 0.99,
        "cube_in_region": bool(cfg.cube_x[0] - tol <= cube[0] <= cfg.cube_x[1] + tol
                               and cfg.cube_y[0] - tol <= cube[1] <= cfg.cube_y[1] + tol),
        "gripper_open": float(s["gripper"][0]) > 0.9,
        "tcp_home": tcp_home(s, home_pos),
        "tcp_down": tcp_down(s),
    }
