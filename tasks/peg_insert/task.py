"""peg_insert: peg placed in the closed gripper at reset, hole fixture randomised on the table."""

from __future__ import annotations

import numpy as np

from robot_rl.drivers.mujoco.sim import MujocoSim
from robot_rl.env import rotations as rot
from robot_rl.tasks.base import Expert, ResetScript, Task
from robot_rl.tasks.peg_insert.config import PegInsertConfig

GRASP_SETTLE = 0.3  # s of physics for the fingers to close on the peg at reset
PEG_BELOW_TCP = 0.01  # m, the peg's centre sits this far past the TCP along the hand's z axis


class PegInsert(Task):
    config = PegInsertConfig()

    def bind(self, sim: MujocoSim) -> None:
        joint = sim.model.joint("peg_joint")
        self._qpos, self._dof = int(joint.qposadr[0]), int(joint.dofadr[0])
        self._peg = sim.model.body("peg").id
        self._mocap = int(sim.model.body("fixture").mocapid[0])
        self._hole = sim.model.site("hole").id

    def reset(self, sim: MujocoSim, rng: np.random.Generator) -> None:
        super().reset(sim, rng)
        cfg = self.config
        sim.data.mocap_pos[self._mocap] = [rng.uniform(*cfg.hole_x), rng.uniform(*cfg.hole_y), 0.0]
        # the peg in the hand: centre on the hand's z axis past the TCP, shifted along the hand's x axis
        tcp, quat_wxyz = sim.ee_pose()
        mat = sim.data.site_xmat[sim.ee_site].reshape(3, 3)
        centre = tcp + mat[:, 2] * PEG_BELOW_TCP + mat[:, 0] * rng.uniform(*cfg.grasp_offset)
        sim.data.qpos[self._qpos:self._qpos + 7] = [*centre, *quat_wxyz]
        sim.data.qvel[self._dof:self._dof + 6] = 0.0
        sim.data.qpos[sim.finger_qpos] = cfg.peg_half + 0.0005
        sim.gripper_target = 0.0
        sim.forward()
        sim.advance(GRASP_SETTLE)

    def peg_tip(self, sim: MujocoSim) -> np.ndarray:
        """Centre of the peg's lower end face (m), the end that goes into the hole."""
        mat = sim.data.xmat[self._peg].reshape(3, 3)
        axis = mat[:, 2] if mat[2, 2] < 0 else -mat[:, 2]  # the peg's long axis, pointing down
        return sim.data.xpos[self._peg] + axis * self.config.peg_half_length

    def success(self, sim: MujocoSim) -> bool:
        tip, hole = self.peg_tip(sim), sim.data.site_xpos[self._hole]
        inside = np.all(np.abs(tip[:2] - hole[:2]) < self.config.hole_half)
        return bool(inside and tip[2] <= hole[2] - self.config.insert_depth)

    def privileged(self, sim: MujocoSim) -> dict[str, np.ndarray]:
        return {"object_pos": sim.data.xpos[self._peg].astype(np.float32),
                "object_quat": rot.wxyz_to_xyzw(sim.data.xquat[self._peg]).astype(np.float32),
                "hole_pos": sim.data.site_xpos[self._hole].astype(np.float32)}

    def expert(self, noise: float = 0.0, rng: np.random.Generator | None = None) -> Expert:
        from robot_rl.tasks.peg_insert.expert import PegInsertExpert

        return PegInsertExpert(self.config, noise, rng)

    def reset_script(self, home_pos: np.ndarray, rng: np.random.Generator) -> ResetScript:
        from robot_rl.tasks.peg_insert.reset import PegInsertReset

        return PegInsertReset(self.config, home_pos, rng)

    def start_checks(self, state: dict[str, np.ndarray], home_pos: np.ndarray) -> dict[str, bool]:
        from robot_rl.tasks.peg_insert.reset import start_checks

        return start_checks(self.config, state, home_pos)
