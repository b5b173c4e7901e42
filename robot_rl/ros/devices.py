"""Devices by name for the nodes' `driver` / `device` parameters (explicit dicts, lazy imports), plus
three stand-ins for tests and benchmarks: a synthetic camera, a MuJoCo arm that runs in real time
like hardware, and a scripted teleop device."""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from robot_rl.drivers.base import Arm, ArmState, Camera, CameraFrame, Intrinsics
from robot_rl.drivers.teleop_base import TeleopCommand, TeleopDevice
from robot_rl.ros.configs import ArmNodeConfig, CameraNodeConfig


class PatternCamera(Camera):
    """Synthetic frames at `fps` on the host monotonic clock (capture time = the frame's slot)."""

    def __init__(self, name: str, width: int = 640, height: int = 480, fps: float = 30.0,
                 depth: bool = False, variants: int = 8) -> None:
        self.name, self.fps, self.has_depth = name, fps, depth
        self.intrinsics = Intrinsics(fx=600.0, fy=600.0, cx=(width - 1) / 2, cy=(height - 1) / 2,
                                     width=width, height=height)
        ramp = (np.arange(width)[None, :] + np.arange(height)[:, None]) % 256
        self._colors = [np.stack([(ramp + 31 * k) % 256, ramp, np.full_like(ramp, k)], -1).astype(np.uint8)
                        for k in range(variants)]
        self._depth = np.full((height, width), 1.0, np.float32) if depth else None
        self._t0 = time.monotonic()
        self._last = -1

    def _frame(self, n: int) -> CameraFrame:
        self._last = n
        return CameraFrame(color=self._colors[n % len(self._colors)], depth=self._depth, dropped=0,
                           intrinsics=self.intrinsics, time=self._t0 + n / self.fps, frame_number=n)

    def read_latest(self) -> CameraFrame:
        return self._frame(int((time.monotonic() - self._t0) * self.fps))

    def read_next(self, timeout_s: float | None = None) -> CameraFrame:
        """Block until the frame after the last one returned is captured."""
        n = max(self._last + 1, int((time.monotonic() - self._t0) * self.fps))
        time.sleep(max(0.0, self._t0 + n / self.fps - time.monotonic()))
        return self._frame(n)


class RealtimeMirrorArm(Arm):
    """The mirror's arm advancing its own sim to host time on every state read (a hardware stand-in:
    capture times are host monotonic, the arm moves whether or not anyone commands it)."""

    def __init__(self, task: str, seed: int = 0) -> None:
        from robot_rl.drivers.mujoco.assets import load_scene
        from robot_rl.drivers.mujoco.sim import MujocoSim
        from robot_rl.drivers.mujoco.sim_arm import SimArm
        from robot_rl.tasks.registry import make_task

        self.task = make_task(task)
        self.sim = MujocoSim(load_scene(self.task.scene_xml()))
        self.task.bind(self.sim)
        self.task.reset(self.sim, np.random.default_rng(seed))
        self.sim.data.time = 0.0
        self.arm = SimArm(self.sim, self.task.config.home_q)
        self._t0 = time.monotonic()
        self._lock = threading.Lock()

    def _catch_up(self) -> None:
        lag = time.monotonic() - self._t0 - self.sim.time
        if lag > self.sim.timestep:
            self.sim.step(min(int(lag / self.sim.timestep), 50))  # at most 0.1 s per read

    def state(self) -> ArmState:
        with self._lock:
            self._catch_up()
            s = self.arm.state()
        return ArmState(time=self._t0 + s.time, q=s.q, dq=s.dq, ee_pos=s.ee_pos, ee_quat=s.ee_quat,
                        wrench=s.wrench, gripper=s.gripper)

    def command(self, ee_pos: np.ndarray, ee_quat: np.ndarray, gripper: float) -> None:
        with self._lock:
            self.arm.command(ee_pos, ee_quat, gripper)

    def home(self) -> None:
        with self._lock:
            self.arm.home()

    def stop(self) -> None:
        with self._lock:
            self.arm.stop()

    def clear_error(self) -> None:
        return None

    def close(self) -> None:
        self.sim.close()


class ScriptedTeleop(TeleopDevice):
    """Moves the TCP on a slow horizontal circle (twist fractions ±0.5, period `period` s), engaged."""

    name = "scripted"

    def __init__(self, period: float = 4.0, amplitude: float = 0.5) -> None:
        self.period, self.amplitude = period, amplitude
        self._t0 = time.monotonic()

    def read(self) -> TeleopCommand:
        now = time.monotonic()
        phase = 2 * math.pi * (now - self._t0) / self.period
        twist = np.zeros(6)
        twist[0], twist[1] = self.amplitude * math.cos(phase), self.amplitude * math.sin(phase)
        return TeleopCommand(time=now, twist=twist, gripper=1.0, engaged=True)

    def reset(self) -> None:
        self._t0 = time.monotonic()


def make_camera(name: str, cfg: CameraNodeConfig) -> Camera:
    """The node's camera: "pattern" (synthetic), or a driver from drivers/camera_registry.py, where
    `serial` is the RealSense serial or the UVC device (index or /dev/video path)."""
    if cfg.driver == "pattern":
        return PatternCamera(name, cfg.width, cfg.height, cfg.fps, cfg.depth)
    from robot_rl.drivers.camera_registry import make_camera as open_camera

    mode = {"name": name, "width": cfg.width, "height": cfg.height, "fps": cfg.fps}
    if cfg.driver == "uvc":
        return open_camera("uvc", device=cfg.serial, **mode)
    return open_camera(cfg.driver, serial=cfg.serial, depth=cfg.depth, **mode)


def make_arm(cfg: ArmNodeConfig) -> Arm:
    if cfg.driver == "mirror":
        return RealtimeMirrorArm(cfg.task)
    if cfg.driver == "franka":
        from robot_rl.drivers.franka import FrankaArm
        from robot_rl.drivers.franka_config import FrankaConfig

        return FrankaArm(FrankaConfig(host=cfg.host, control_period=cfg.control_period))
    raise ValueError(f"unknown arm driver {cfg.driver!r}; known: mirror, franka")


def make_teleop(device: str) -> TeleopDevice:
    if device == "scripted":
        return ScriptedTeleop()
    from robot_rl.drivers.teleop_registry import make_teleop as make

    return make(device)
