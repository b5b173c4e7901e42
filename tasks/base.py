"""What every task provides (DESIGN §1, tasks/<name>/): config, scene, reset, success, expert, prompt.

A task folder holds scene.xml (MJCF including `franka_panda.xml` and `tabletop.xml` from
hardware/models), config.py (a TaskConfig subclass), task.py (a `Task` subclass: reset
randomisation, success predicate on MjData, privileged object state), expert.py (a scripted
`Expert`), reset.py (a scripted `ResetScript` that puts the scene back through the normal action
path, and `start_checks`, the "reset state" predicate) and prompt.txt (the language prompt for VLM
rewards). Non-Python files are package data,
read through importlib.resources.

Actions are normalised to [-1, 1]^7: (dx, dy, dz, droll, dpitch, dyaw, gripper). The first six scale
by `pos_scale` (m) and `rot_scale` (rad) into a TCP target relative to the current TCP pose (rotation
as a base-frame rotation vector applied on the left); the gripper maps linearly to an opening
0 (closed, a = -1) .. 1 (open, a = +1).
"""

from __future__ import annotations

import dataclasses
from importlib import resources

import numpy as np

from robot_rl.drivers.base import ArmState
from robot_rl.drivers.mujoco.sim import MujocoSim
from robot_rl.drivers.mujoco.sim_arm import HOME_Q
from robot_rl.env import rotations as rot
from robot_rl.env.safety import SafetyConfig

ACTION_DIM = 7
DOWN = np.array([1.0, 0.0, 0.0, 0.0])
"""TCP orientation (xyzw) pointing straight down with the fingers opening along the base y axis."""
HOME_TOL = 0.08
"""m: the largest TCP distance from `home_pos` that still counts as a start pose in `start_checks`. The
mirror's home pose is clipped into the workspace box, 5 cm below the home joints' TCP, so teleported starts
(`home_q_noise`) lie 3-7 cm from it (200 seeds per task); with 6 cm, 12% of teleports failed the check and
three in a row stopped a fine-tuning run after ~200 episodes."""
START_TILT = 0.15
"""rad: the largest TCP rotation away from DOWN that still counts as a start pose in `start_checks`
(teleported starts reach 0.093 rad with `home_q_noise`; scripted resets end within 0.05 rad of their home
orientation, itself up to `ResetScript.yaw_jitter` = 0.05 rad from DOWN)."""


def tcp_home(state: dict[str, np.ndarray], home_pos: np.ndarray, tol: float = HOME_TOL) -> bool:
    """The TCP (`state["ee_pos"]`, m) is within `tol` of `home_pos`, as at an episode start."""
    return float(np.linalg.norm(np.asarray(state["ee_pos"]) - home_pos)) < tol


def tcp_down(state: dict[str, np.ndarray], tol: float = START_TILT) -> bool:
    """The TCP orientation (`state["ee_quat"]`, xyzw) is within `tol` rad of DOWN, as at an episode start.
    Without it a start check passes a tilted gripper at home (a learned backward policy that does not
    restore the orientation drifted 0.1-0.25 rad per reset, and the forward policy then missed the handle)."""
    return rot.angle_between(DOWN, np.asarray(state["ee_quat"], dtype=float)) < tol


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """Settings shared by every task; task config.py files subclass it with their own defaults."""

    name: str = ""
    """Registry name of the task."""
    control_hz: float = 10.0
    """Policy / action rate (Hz); physics runs at 500 Hz underneath."""
    episode_steps: int = 100
    """Control steps before the episode is truncated."""
    pos_scale: float = 0.02
    """TCP translation (m) per control step at |action| = 1."""
    rot_scale: float = 0.1
    """TCP rotation (rad) per control step at |action| = 1."""
    workspace_min: tuple[float, float, float] = (0.25, -0.35, 0.0)
    """Lower corner of the safety workspace box for the TCP (m, base frame)."""
    workspace_max: tuple[float, float, float] = (0.75, 0.35, 0.45)
    """Upper corner of the safety workspace box for the TCP (m, base frame)."""
    state_keys: tuple[str, ...] = ("ee_pos", "ee_quat", "gripper", "q")
    """Robot state observations (`state/<key>`): available on hardware."""
    privileged_keys: tuple[str, ...] = ()
    """Object state observations (`state/<key>`) a real rig would need perception for (privileged)."""
    cameras: tuple[str, ...] = ("front", "wrist")
    """Cameras observed as `image/<name>` when images are on."""
    image_size: tuple[int, int] = (128, 128)
    """(height, width) of camera observations, pixels."""
    home_q: tuple[float, ...] = HOME_Q
    """Joint configuration (rad) the arm starts each episode from."""
    home_q_noise: float = 0.03
    """Uniform noise (rad) added to each home joint at reset."""
    terminate_on_success: bool = True
    """End the episode at the first step whose state satisfies the success predicate."""

    def safety(self) -> SafetyConfig:
        """Safety limits for this task: its workspace box, 2x an action's step, its control period."""
        return SafetyConfig(workspace_min=self.workspace_min, workspace_max=self.workspace_max,
                            max_translation=2 * self.pos_scale * np.sqrt(3), max_rotation=2 * self.rot_scale,
                            control_period=1.0 / self.control_hz)


class Task:
    """Base class: subclasses set `config` and implement reset/success/privileged/expert."""

    config: TaskConfig

    def __init__(self, config: TaskConfig | None = None) -> None:
        if config is not None:
            self.config = config

    # ------------------------------------------------------------------ files
    def _read(self, name: str) -> str:
        package = type(self).__module__.rsplit(".", 1)[0]  # robot_rl.tasks.<name>
        return resources.files(package).joinpath(name).read_text(encoding="utf-8")

    def scene_xml(self) -> str:
        """The task's MJCF scene (includes hardware models by file name)."""
        return self._read("scene.xml")

    def prompt(self) -> str:
        """Language description of the task, for VLM rewards."""
        return self._read("prompt.txt").strip()

    # ------------------------------------------------------------------ simulation hooks
    def bind(self, sim: MujocoSim) -> None:
        """Look up the ids of the task's objects in `sim.model`."""

    def reset(self, sim: MujocoSim, rng: np.random.Generator) -> None:
        """Randomise the scene (sim already reset to time 0); leave the arm at its start pose."""
        q = np.asarray(self.config.home_q) + rng.uniform(-1, 1, 7) * self.config.home_q_noise
        sim.set_arm(q, gripper=1.0)

    def success(self, sim: MujocoSim) -> bool:
        """The task's success predicate on the current MjData."""
        raise NotImplementedError

    def privileged(self, sim: MujocoSim) -> dict[str, np.ndarray]:
        """Object state (float32 vectors, base frame) by key; `config.privileged_keys` picks observations."""
        return {}

    def expert(self, noise: float = 0.0, rng: np.random.Generator | None = None) -> Expert:
        """A scripted expert; `noise` is the std of Gaussian noise on its normalised actions."""
        raise NotImplementedError

    def reset_script(self, home_pos: np.ndarray, rng: np.random.Generator) -> ResetScript:
        """A scripted reset procedure finishing near `home_pos` (m, base frame), randomised by `rng`."""
        raise NotImplementedError

    def start_checks(self, state: dict[str, np.ndarray], home_pos: np.ndarray) -> dict[str, bool]:
        """The "reset state" predicate by named check on full state (as `info["state"]`): the scene is
        inside the task's start distribution (object in its randomisation region, gripper as at the
        start, TCP near `home_pos` and pointing down: `tcp_down`). All True = a valid start state."""
        raise NotImplementedError

    # ------------------------------------------------------------------ actions
    def command(self, action: np.ndarray, s: ArmState) -> tuple[np.ndarray, np.ndarray, float]:
        """Normalised action (7,) → TCP target position (m), orientation (xyzw), gripper opening (0..1)."""
        a = np.clip(np.asarray(action, dtype=float), -1.0, 1.0)
        pos = s.ee_pos + a[:3] * self.config.pos_scale
        quat = rot.multiply(rot.from_rotvec(a[3:6] * self.config.rot_scale), s.ee_quat)
        return pos, quat, 0.5 * (a[6] + 1.0)


class Expert:
    """Scripted policy on full state (robot + privileged keys, as in `info["state"]`)."""

    def __init__(self, config: TaskConfig, noise: float = 0.0,
                 rng: np.random.Generator | None = None) -> None:
        self.config, self.noise = config, noise
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.reset()

    def reset(self) -> None:
        """Forget the episode's progress (called by the env user at every env reset)."""

    def act(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Normalised action (7,) float32 in [-1, 1]."""
        a = self.plan(state)
        if self.noise > 0:
            a = a + self.rng.normal(0.0, self.noise, ACTION_DIM)
        return np.clip(a, -1.0, 1.0).astype(np.float32)

    def plan(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Noise-free action (7,)."""
        raise NotImplementedError

    def move(self, state: dict[str, np.ndarray], pos: np.ndarray, quat: np.ndarray, gripper: float,
             max_speed: float = 1.0) -> np.ndarray:
        """Action moving the TCP towards `pos`/`quat` (base frame), at most `max_speed` of a full step."""
        cfg = self.config
        dpos = (np.asarray(pos) - state["ee_pos"]) / cfg.pos_scale
        n = float(np.linalg.norm(dpos))
        if n > max_speed:
            dpos *= max_speed / n
        drot = rot.difference(quat, state["ee_quat"]) / cfg.rot_scale
        return np.concatenate([dpos, np.clip(drot, -1, 1), [2.0 * gripper - 1.0]])


class ResetScript(Expert):
    """Scripted reset procedure on full state, run action by action like an expert until `done`.

    Ends near `home_pos` (m, base frame) jittered by `home_jitter` (m) and a yaw jitter (rad) drawn
    from `rng`, so consecutive episodes do not start from the same pose (as the task's reset does
    with `home_q_noise`)."""

    home_jitter = 0.02
    yaw_jitter = 0.05

    def __init__(self, config: TaskConfig, home_pos: np.ndarray, rng: np.random.Generator) -> None:
        self.home = np.asarray(home_pos, dtype=float) + rng.uniform(-1, 1, 3) * self.home_jitter
        self.home_quat = rot.multiply(rot.from_rotvec([0.0, 0.0, rng.uniform(-1, 1) * self.yaw_jitter]), DOWN)
        self.done, self.phase, self.timer = False, "start", 0
        self.failed = ""
        """Set when the script sees it cannot finish (e.g. an object out of its reach): stop early."""
        super().__init__(config, 0.0, rng)

    def go_home(self, s: dict[str, np.ndarray], gripper: float) -> np.ndarray:
        """Action towards the (jittered) home pose; sets `done` once there."""
        near = np.linalg.norm(self.home - s["ee_pos"]) < 0.01
        if near and rot.angle_between(self.home_quat, s["ee_quat"]) < 0.05:
            self.done = True
        return self.move(s, self.home, self.home_quat, gripper)

    def set_phase(self, phase: str) -> None:
        self.phase, self.timer = phase, 0
