"""pick_cube: reset randomisation, success predicate, privileged state."""

from __future__ import annotations

import numpy as np

from robot_rl.drivers.mujoco.sim import MujocoSim
from robot_rl.env import rotations as rot
from robot_rl.tasks.base import Expert, ResetScript, Task
from robot_rl.tasks.pick_cube.config import PickCubeConfig

CUBE_HALF = 0.02  # m, half the cube's edge (scene.xml)


class PickCube(Task):
    config = PickCubeConfig()

    def bind(self, sim: MujocoSim) -> None:
        joint = sim.model.joint("cube_joint")
        self._qpos = int(joint.qposadr[0])
        self._dof = int(joint.dofadr[0])
        self._body = sim.model.body("cube").id

    def reset(self, sim: MujocoSim, rng: np.random.Generator) -> None:
        super().reset(sim, rng)
        cfg = self.config
        x, y, yaw = rng.uniform(*cfg.cube_x), rng.uniform(*cfg.cube_y), rng.uniform(*cfg.cube_yaw)
        quat = rot.xyzw_to_wxyz(rot.from_rotvec([0.0, 0.0, yaw]))
        sim.data.qpos[self._qpos:self._qpos + 7] = [x, y, CUBE_HALF, *quat]
        sim.data.qvel[self._dof:self._dof + 6] = 0.0
        sim.forward()

    def cube_height(self, sim: MujocoSim) -> float:
        """Height (m) of the cube's centre above its resting height."""
        return float(sim.data.xpos[self._body][2] - CUBE_HALF)

    def success(self, sim: MujocoSim) -> bool:
        return self.cube_height(sim) >= self.config.lift_height

    def privileged(self, sim: MujocoSim) -> dict[str, np.ndarray]:
        return {"object_pos": sim.data.xpos[self._body].astype(np.float32),
                "object_quat": rot.wxyz_to_xyzw(sim.data.xquat[self._body]).astype(np.float32)}

    def expert(self, noise: float = 0.0, rng: np.random.Generator | None = None) -> Expert:
        from robot_rl.tasks.pick_cube.expert import PickCubeExpert

        return PickCubeExpert(self.config, noise, rng)

    def reset_script(self, home_pos: np.ndarray, rng: np.random.Generator) -> ResetScript:
        from robot_rl.tasks.pick_cube.reset import PickCubeReset

        return PickCubeReset(self.config, home_pos, rng)

    def start_checks(self, state: dict[str, np.ndarray], home_pos: np.ndarray) -> dict[str, bool]:
        from robot_rl.tasks.pick_cube.reset import start_checks

        return start_checks(self.config, state, home_pos)
