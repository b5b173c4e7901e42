"""drawer_open: cabinet position randomised, drawer closed at reset; success = drawer travel."""

from __future__ import annotations

import numpy as np

from robot_rl.drivers.mujoco.sim import MujocoSim
from robot_rl.tasks.base import Expert, ResetScript, Task
from robot_rl.tasks.drawer_open.config import DrawerOpenConfig


class DrawerOpen(Task):
    config = DrawerOpenConfig()

    def bind(self, sim: MujocoSim) -> None:
        joint = sim.model.joint("drawer_joint")
        self._qpos, self._dof = int(joint.qposadr[0]), int(joint.dofadr[0])
        self._mocap = int(sim.model.body("cabinet").mocapid[0])
        self._handle = sim.model.site("handle").id

    def reset(self, sim: MujocoSim, rng: np.random.Generator) -> None:
        super().reset(sim, rng)
        cfg = self.config
        sim.data.mocap_pos[self._mocap] = [rng.uniform(*cfg.cabinet_x), rng.uniform(*cfg.cabinet_y), 0.0]
        sim.data.qpos[self._qpos] = 0.0
        sim.data.qvel[self._dof] = 0.0
        sim.forward()

    def opening(self, sim: MujocoSim) -> float:
        """Drawer travel from closed (m)."""
        return float(sim.data.qpos[self._qpos])

    def success(self, sim: MujocoSim) -> bool:
        return self.opening(sim) >= self.config.open_distance

    def privileged(self, sim: MujocoSim) -> dict[str, np.ndarray]:
        return {"handle_pos": sim.data.site_xpos[self._handle].astype(np.float32),
                "drawer_opening": np.array([self.opening(sim)], dtype=np.float32)}

    def expert(self, noise: float = 0.0, rng: np.random.Generator | None = None) -> Expert:
        from robot_rl.tasks.drawer_open.expert import DrawerOpenExpert

        return DrawerOpenExpert(self.config, noise, rng)

    def reset_script(self, home_pos: np.ndarray, rng: np.random.Generator) -> ResetScript:
        from robot_rl.tasks.drawer_open.reset import DrawerOpenReset

        return DrawerOpenReset(self.config, home_pos, rng)

    def start_checks(self, state: dict[str, np.ndarray], home_pos: np.ndarray) -> dict[str, bool]:
        from robot_rl.tasks.drawer_open.reset import start_checks

        return start_checks(self.config, state, home_pos)
