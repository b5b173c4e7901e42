"""SimArm: the mirror's Franka arm, implementing `robot_rl.drivers.base.Arm` on a MujocoSim.

Commands set the operational-space controller's target, which the sim tracks at every physics step
while the environment advances time. Use it through `robot_rl.env.safety.SafeArm`, as hardware is.
"""

from __future__ import annotations

import numpy as np

from robot_rl.drivers.base import Arm, ArmState
from robot_rl.drivers.mujoco.sim import MujocoSim

HOME_Q = (0.0, -np.pi / 4, 0.0, -3 * np.pi / 4, 0.0, np.pi / 2, np.pi / 4)
"""Franka's ready pose: TCP at (0.307, 0, 0.487) m pointing down."""


class SimArm(Arm):
    """The arm in `sim`; `home_q` (7,) rad is the joint configuration `home()` returns to."""

    def __init__(self, sim: MujocoSim, home_q: tuple[float, ...] = HOME_Q) -> None:
        self.sim = sim
        self.home_q = np.asarray(home_q, dtype=float)

    def state(self) -> ArmState:
        sim, d = self.sim, self.sim.data
        pos, quat_wxyz = sim.ee_pose()
        return ArmState(
            time=sim.time,
            q=d.qpos[sim.arm_qpos].copy(),
            dq=d.qvel[sim.arm_dofs].copy(),
            ee_pos=pos,
            ee_quat=quat_wxyz[[1, 2, 3, 0]],
            wrench=sim.external_wrench(),
            gripper=sim.gripper_opening(),
        )

    def command(self, ee_pos: np.ndarray, ee_quat: np.ndarray, gripper: float) -> None:
        self.sim.set_target(ee_pos, np.asarray(ee_quat, dtype=float)[[3, 0, 1, 2]], gripper)

    def home(self) -> None:
        """The mirror teleports to `home_q` at rest, gripper open (hardware moves there)."""
        self.sim.set_arm(self.home_q, gripper=1.0)

    def stop(self) -> None:
        self.sim.hold()

    def clear_error(self) -> None:
        """The mirror has no reflexes to clear."""
