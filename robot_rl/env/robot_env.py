"""RobotEnv: a gymnasium environment composed of devices (arm behind the safety layer, cameras) + a task.

The MuJoCo mirror is built from the task's scene; the episode loop only touches the device
interfaces (`Arm`, `Camera`) and the task, so the same loop drives hardware devices.

Observation (Dict): `state/<key>` float32 for the task's state and privileged keys, `image/<camera>`
uint8 (H, W, 3) when images are on, `depth/<camera>` float32 (H, W) metres when depth is on.
Action: Box [-1, 1]^7, mapped by the task to a TCP target (see robot_rl/tasks/base.py).
Reward: 1.0 on steps whose state satisfies the task's success predicate, else 0.0.
Info: `success` (bool), `time` (sim time, s), `state` (robot + privileged state, for experts and
logging), `safety` (counters of the safety layer).

Episode starts: `reset(seed=...)` teleports the scene to a randomised start state (the mirror's
shortcut, also how the scene is first set up); `reset(options={"teleport": False})` keeps the physical
scene where a reset procedure (robot_rl/resets) left it and only restarts the episode bookkeeping
(step counter); sim time keeps running then, as a real clock would.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from robot_rl.drivers.base import Camera
from robot_rl.drivers.mujoco.assets import load_scene
from robot_rl.drivers.mujoco.controller import ControllerConfig
from robot_rl.drivers.mujoco.sim import MujocoSim
from robot_rl.drivers.mujoco.sim_arm import SimArm
from robot_rl.drivers.mujoco.sim_camera import SimCamera
from robot_rl.env.safety import SafeArm, SafetyConfig
from robot_rl.tasks.base import ACTION_DIM, Task
from robot_rl.tasks.registry import make_task


class RobotEnv(gym.Env):
    """`task`: registry name or Task. `images`: render the task's cameras into the observation."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    hardware = False
    """The scene is a simulation (teleport resets allowed); a hardware env sets True."""

    def __init__(self, task: str | Task, images: bool = True, depth: bool = False,
                 image_size: tuple[int, int] | None = None, controller: ControllerConfig | None = None,
                 safety: SafetyConfig | None = None, render_mode: str | None = None) -> None:
        self.task = make_task(task) if isinstance(task, str) else task
        cfg = self.task.config
        self.metadata = {**self.metadata, "render_fps": cfg.control_hz}
        self.render_mode = render_mode
        self.sim = MujocoSim(load_scene(self.task.scene_xml()), controller)
        self.task.bind(self.sim)
        self.arm = SafeArm(SimArm(self.sim, cfg.home_q), safety or cfg.safety())
        self.image_size = tuple(image_size or cfg.image_size)
        h, w = self.image_size
        self.cameras: dict[str, Camera] = {
            name: SimCamera(self.sim, name, h, w, depth=depth) for name in cfg.cameras} if images else {}
        self.depth = depth and images
        self.steps = 0
        self.observation_space = self._make_observation_space()
        self.action_space = gym.spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """`options["teleport"]` (default True): randomise the scene by teleporting it; False keeps it."""
        super().reset(seed=seed)
        if (options or {}).get("teleport", True):
            self.sim.reset()
            self.arm.clear_error()
            self.task.reset(self.sim, self.np_random)
            self.sim.data.time = 0.0
        else:
            self.arm.clear_error()  # the first command of the episode starts from the current pose
        self.steps = 0
        return self._observe(), self._info()

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        cfg = self.task.config
        pos, quat, gripper = self.task.command(action, self.arm.state())
        self.arm.command(pos, quat, gripper)
        self.sim.advance(1.0 / cfg.control_hz)
        self.steps += 1
        success = self.task.success(self.sim)
        terminated = success and cfg.terminate_on_success
        truncated = self.steps >= cfg.episode_steps and not terminated
        info = self._info(success)
        return self._observe(), float(success), terminated, truncated, info

    def render(self) -> np.ndarray:
        """The front camera at the observation size (rgb_array)."""
        name = self.task.config.cameras[0]
        return self.sim.render(name, *self.image_size)[0]

    def close(self) -> None:
        self.sim.close()

    # ------------------------------------------------------------------ helpers
    def full_state(self) -> dict[str, np.ndarray]:
        """Robot state and every privileged key of the task, float32."""
        s = self.arm.state()
        robot = {"ee_pos": s.ee_pos, "ee_quat": s.ee_quat, "gripper": np.array([s.gripper]), "q": s.q}
        out = {k: np.asarray(v, dtype=np.float32) for k, v in robot.items()}
        return out | self.task.privileged(self.sim)

    def observe(self) -> dict[str, np.ndarray]:
        """The current observation (as returned by reset/step)."""
        return self._observe()

    def _observe(self) -> dict[str, np.ndarray]:
        cfg = self.task.config
        state = self.full_state()
        obs = {f"state/{k}": state[k] for k in (*cfg.state_keys, *cfg.privileged_keys)}
        for name, cam in self.cameras.items():
            frame = cam.read_latest()
            obs[f"image/{name}"] = frame.color
            if self.depth:
                obs[f"depth/{name}"] = frame.depth
        return obs

    def _info(self, success: bool | None = None) -> dict[str, Any]:
        return {"success": self.task.success(self.sim) if success is None else success,
                "time": self.sim.time, "state": self.full_state(),
                "safety": dataclasses.asdict(self.arm.counters)}

    def _make_observation_space(self) -> gym.spaces.Dict:
        cfg = self.task.config
        state = self.full_state()
        spaces: dict[str, gym.Space] = {
            f"state/{k}": gym.spaces.Box(-np.inf, np.inf, state[k].shape, np.float32)
            for k in (*cfg.state_keys, *cfg.privileged_keys)}
        h, w = self.image_size
        for name in self.cameras:
            spaces[f"image/{name}"] = gym.spaces.Box(0, 255, (h, w, 3), np.uint8)
            if self.depth:
                spaces[f"depth/{name}"] = gym.spaces.Box(0.0, np.inf, (h, w), np.float32)
        return gym.spaces.Dict(spaces)
