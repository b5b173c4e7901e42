"""Scripted peg_insert reset: pull the held peg straight out of the hole and carry it back to a
jittered home pose (the start state holds the peg in the closed gripper). A dropped peg standing
upright is picked up again from above (out of the hole first, with the fingers clear of the fixture,
then stood on the table and taken again at the start grip height); a peg lying on its side is beyond
this script (escalate).
The hole fixture is bolted down: the reset does not move it. The "reset state": peg upright in the
closed gripper, tip out of the hole, TCP near home."""

from __future__ import annotations

import numpy as np

from robot_rl.env import rotations as rot
from robot_rl.tasks.base import DOWN, ResetScript, tcp_down, tcp_home
from robot_rl.tasks.peg_insert.config import PegInsertConfig

CLEARANCE = 0.03
"""m: the tip is pulled this far above the hole entrance before moving sideways."""


def peg_axis(s: dict[str, np.ndarray]) -> np.ndarray:
    """The peg's long axis (base frame), pointing down."""
    q = np.asarray(s["object_quat"], float)
    axis = rot.multiply(rot.multiply(q, [0, 0, 1.0, 0]), rot.conjugate(q))[:3]
    return axis if axis[2] < 0 else -axis


def peg_tip(cfg: PegInsertConfig, s: dict[str, np.ndarray]) -> np.ndarray:
    return np.asarray(s["object_pos"], float) + peg_axis(s) * cfg.peg_half_length


def holding(s: dict[str, np.ndarray]) -> bool:
    """The peg sits between the closed fingers (centre ~1 cm below the TCP, gripper stopped at ~0.25)."""
    d = np.asarray(s["object_pos"], float) - s["ee_pos"]
    grip = float(s["gripper"][0])
    return bool(np.linalg.norm(d[:2]) < 0.015 and -0.045 < d[2] < 0.005 and 0.15 < grip < 0.4)


def grip_ok(s: dict[str, np.ndarray]) -> bool:
    """Held near the start's grip height (the peg's centre 1 cm below the TCP); down to 2.5 cm, the
    highest grip on a peg standing on the table (the fingertips reach the table)."""
    return holding(s) and -0.025 < float(s["object_pos"][2] - s["ee_pos"][2]) < 0.0


class PegInsertReset(ResetScript):
    """Phases: pull (held) or open → above → descend → close (dropped, upright) → lift → home."""

    def plan(self, s: dict[str, np.ndarray]) -> np.ndarray:
        cfg: PegInsertConfig = self.config
        self.timer += 1
        ee, peg, hole = (np.asarray(s[k], float) for k in ("ee_pos", "object_pos", "hole_pos"))
        tip = peg_tip(cfg, s)
        if self.phase == "start":
            self.set_phase("pull" if holding(s) else "open")
        if not holding(s) and -peg_axis(s)[2] < np.cos(0.3):
            self.failed = "the peg lies on its side"
            return self.move(s, ee, DOWN, 1.0)
        if self.phase == "pull" and not holding(s):
            self.set_phase("open")
        if self.phase == "pull":
            if tip[2] > hole[2] + CLEARANCE - 0.005:
                self.set_phase("home")
            return self.move(s, ee + [0.0, 0.0, hole[2] + CLEARANCE - tip[2]], DOWN, 0.0, max_speed=0.5)
        if self.phase == "home":
            if not holding(s):  # lost it on the way
                self.set_phase("open")
            elif not grip_ok(s) or -peg_axis(s)[2] < np.cos(0.08):  # taken low or tilted in the hand:
                # stand it on the table (which also straightens it), take it again
                self.set_phase("place")
            else:
                return self.go_home(s, 0.0)
        if self.phase == "place":
            spot = hole[:2] + [0.0, 0.08 if hole[1] < 0 else -0.08]
            above = np.linalg.norm(spot - tip[:2]) > 0.003
            target = ee + [*(spot - tip[:2]), (0.03 if above else -0.002) - tip[2]]  # over it, then down
            if (not above and tip[2] < 0.002) or self.timer > 60:
                self.set_phase("open")
            return self.move(s, target, DOWN, 0.0, max_speed=0.3 if not above else 0.8)
        near_hole = np.linalg.norm(peg[:2] - hole[:2]) < 0.03
        # in the hole, grip high enough for the fingers to clear the fixture
        grasp_z = max(peg[2] + 0.01, hole[2] + 0.025) if near_hole else peg[2] + 0.01
        if self.phase == "open":
            if self.timer >= 5:
                self.set_phase("above")
            return self.move(s, ee + [0.0, 0.0, 0.01], DOWN, 1.0)
        if self.phase == "above":
            target = [peg[0], peg[1], grasp_z + 0.06]
            if np.linalg.norm(target - ee) < 0.006:
                self.set_phase("descend")
            return self.move(s, target, DOWN, 1.0)
        if self.phase == "descend":
            target = [peg[0], peg[1], grasp_z]
            if np.linalg.norm(target - ee) < 0.005 or self.timer > 30:
                self.set_phase("close")
            return self.move(s, target, DOWN, 1.0, max_speed=0.5)
        if self.phase == "close":
            if self.timer >= 5:
                self.set_phase("pull")
            return self.move(s, ee, DOWN, 0.0)
        raise AssertionError(f"unknown phase {self.phase}")


def start_checks(cfg: PegInsertConfig, s: dict[str, np.ndarray], home_pos: np.ndarray) -> dict[str, bool]:
    tip, hole = peg_tip(cfg, s), np.asarray(s["hole_pos"], float)
    return {
        "peg_in_hand": grip_ok(s),
        "peg_upright": float(-peg_axis(s)[2]) > np.cos(0.1),
        "peg_out": bool(tip[2] > hole[2] + 0.02),
        "tcp_home": tcp_home(s, home_pos),
        "tcp_down": tcp_down(s),
    }
