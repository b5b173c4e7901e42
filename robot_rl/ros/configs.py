"""Node configs (ROS parameters) and topic names; pure Python, so graph.py and tests need no rclpy.

Every node declares each field of its config as a ROS parameter with a descriptor whose description
is the field's docstring (see params.py). Tuples become ROS arrays.

Topic names (realsense-ros and ros2_control conventions, notes/ros2.md):
- camera `<cam>` in namespace `<ns>`: `/<ns>/<cam>/color/image_raw` (rgb8), `.../color/camera_info`,
  `.../aligned_depth_to_color/image_raw` (16UC1 mm or 32FC1 m); frame `<cam>_color_optical_frame`.
- arm: `/joint_states` (7 joints in rad + a joint named `gripper` whose position is the opening 0..1),
  `/<arm_ns>/ee_pose` (PoseStamped), `/<arm_ns>/wrench` (WrenchStamped) out; `/<arm_ns>/target_pose`
  (PoseStamped) and `/<arm_ns>/gripper_command` (Float64, 0 closed .. 1 open) in; services
  `/<arm_ns>/{home,stop,clear_error,estop}` (std_srvs/Trigger).
- teleop: `/<teleop_ns>/twist` (TwistStamped, base frame, fractions of full speed in [-1, 1]) and
  `/<teleop_ns>/joy` (Joy: axes = twist (6) + gripper target; buttons = engaged, success, discard,
  next_episode).
Header stamps carry capture time on the ROS clock: hardware nodes map the device's host-monotonic
capture time onto the node clock; the MuJoCo mirror stamps with sim time, which it publishes on /clock.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap

JOY_BUTTONS = ("engaged", "success", "discard", "next_episode")
"""Order of sensor_msgs/Joy buttons on the teleop topic."""
GRIPPER_JOINT = "gripper"
"""Name of the pseudo-joint in /joint_states whose position is the gripper opening 0..1."""


def camera_topics(ns: str, cam: str) -> dict[str, str]:
    base = f"/{ns}/{cam}" if ns else f"/{cam}"
    return {"color": f"{base}/color/image_raw", "info": f"{base}/color/camera_info",
            "depth": f"{base}/aligned_depth_to_color/image_raw"}


def arm_topics(ns: str) -> dict[str, str]:
    return {"joint_states": "/joint_states", "ee_pose": f"/{ns}/ee_pose", "wrench": f"/{ns}/wrench",
            "target": f"/{ns}/target_pose", "gripper": f"/{ns}/gripper_command"}


def arm_services(ns: str) -> dict[str, str]:
    return {name: f"/{ns}/{name}" for name in ("home", "stop", "clear_error", "estop")}


def teleop_topics(ns: str) -> dict[str, str]:
    return {"twist": f"/{ns}/twist", "joy": f"/{ns}/joy"}


def optical_frame(cam: str) -> str:
    return f"{cam}_color_optical_frame"


def joint_names(prefix: str) -> list[str]:
    return [f"{prefix}joint{i}" for i in range(1, 8)]


@dataclasses.dataclass(frozen=True)
class SafetyParams:
    """Arm safety limits (robot_rl/env/safety.py SafetyConfig) as node parameters."""

    workspace_min: tuple[float, ...] = (0.25, -0.35, 0.0)
    """Lower corner of the TCP workspace box (m, base frame)."""
    workspace_max: tuple[float, ...] = (0.75, 0.35, 0.45)
    """Upper corner of the TCP workspace box (m, base frame)."""
    max_translation: float = 0.05
    """Largest move of the target per command (m)."""
    max_rotation: float = 0.3
    """Largest rotation of the target per command (rad)."""
    control_period: float = 0.1
    """Expected time between commands (s)."""
    watchdog_periods: int = 3
    """Hold the current pose after this many control periods without a command."""


@dataclasses.dataclass(frozen=True)
class CameraNodeConfig:
    """camera_node: one Camera → realsense-ros-style topics under the node's own name."""

    driver: str = "pattern"
    """Camera driver: "realsense", "uvc" or "pattern" (synthetic frames, for tests and benchmarks)."""
    serial: str = ""
    """Device serial number ("" = the only connected device)."""
    width: int = 640
    """Colour width (pixels)."""
    height: int = 480
    """Colour height (pixels)."""
    fps: int = 30
    """Frame rate (Hz)."""
    depth: bool = False
    """Publish depth aligned to colour."""
    depth_encoding: str = "16UC1"
    """Depth encoding: "16UC1" (mm, 0 invalid, like realsense-ros) or "32FC1" (m, NaN invalid)."""
    autostart: bool = True
    """Configure and activate at start-up (no lifecycle manager needed)."""


@dataclasses.dataclass(frozen=True)
class ArmNodeConfig(SafetyParams):
    """arm_node: any Arm behind SafeArm; streams state, takes targets and gripper commands."""

    driver: str = "mirror"
    """Arm driver: "franka" (franky) or "mirror" (a MuJoCo arm running in real time, for tests)."""
    host: str = "172.16.0.2"
    """Robot address (franka)."""
    task: str = "pick_cube"
    """Scene of the "mirror" driver."""
    publish_hz: float = 100.0
    """State publishing and watchdog polling rate (Hz)."""
    arm_ns: str = "arm"
    """Namespace of the arm topics and services."""
    joint_prefix: str = "panda_"
    """Joint names are <prefix>joint1..7."""
    base_frame: str = "base"
    """Frame id of poses and wrenches."""
    autostart: bool = True
    """Configure and activate at start-up (no lifecycle manager needed)."""


@dataclasses.dataclass(frozen=True)
class TeleopNodeConfig:
    """teleop_node: a teleop device → TwistStamped + Joy."""

    device: str = "scripted"
    """Teleop device: "keyboard", "spacemouse", "gamepad" or "scripted" (a fixed motion, for tests)."""
    rate_hz: float = 30.0
    """Publishing rate (Hz)."""
    teleop_ns: str = "teleop"
    """Namespace of the teleop topics."""
    base_frame: str = "base"
    """Frame id of the twist."""
    autostart: bool = True
    """Configure and activate at start-up (no lifecycle manager needed)."""


@dataclasses.dataclass(frozen=True)
class TeleopBridgeConfig:
    """teleop_bridge: teleop twists → arm targets at the control rate (the task's action mapping)."""

    control_hz: float = 10.0
    """Target rate (Hz), on the ROS clock (sim time under use_sim_time)."""
    pos_scale: float = 0.02
    """TCP translation (m) per control step at full twist."""
    rot_scale: float = 0.1
    """TCP rotation (rad) per control step at full twist."""
    timeout: float = 0.3
    """Stop sending targets when the newest twist is older than this (wall-clock s): the arm's watchdog
    holds."""
    teleop_ns: str = "teleop"
    """Namespace of the teleop topics."""
    arm_ns: str = "arm"
    """Namespace of the arm topics."""
    base_frame: str = "base"
    """Frame id of the targets."""


@dataclasses.dataclass(frozen=True)
class SimNodeConfig(SafetyParams):
    """sim_node: the MuJoCo mirror publishing the camera and arm topics and /clock."""

    task: str = "pick_cube"
    """Registered task whose scene is simulated."""
    seed: int = 0
    """Seed of the first scene reset (each `reset` service call uses the next seed)."""
    cameras: tuple[str, ...] = ("front", "wrist")
    """Scene cameras to publish."""
    image_height: int = 128
    """Rendered height (pixels)."""
    image_width: int = 128
    """Rendered width (pixels)."""
    camera_hz: float = 10.0
    """Camera rate (Hz of sim time)."""
    depth: bool = False
    """Publish aligned depth."""
    depth_encoding: str = "16UC1"
    """Depth encoding: "16UC1" (mm) or "32FC1" (m)."""
    publish_hz: float = 100.0
    """Physics chunks per second of sim time; arm state and /clock are published after each."""
    real_time_factor: float = 1.0
    """Sim seconds per wall second (free-running mode)."""
    lockstep: bool = False
    """Advance one control period per received target (or `step` service call) instead of freely."""
    camera_ns: str = "camera"
    """Namespace of the camera topics."""
    arm_ns: str = "arm"
    """Namespace of the arm topics and services."""
    joint_prefix: str = "panda_"
    """Joint names are <prefix>joint1..7."""
    base_frame: str = "base"
    """Frame id of poses and wrenches."""


@dataclasses.dataclass(frozen=True)
class RecorderNodeConfig:
    """recorder_node: aligns configured topics onto the control-rate grid and streams episodes."""

    store: str = "out/ros_demos.zarr"
    """EpisodeStore directory (created on the first `start`, appended to if it exists)."""
    task: str = ""
    """Task name stored with each episode."""
    rig: str = ""
    """Rig name stored with each episode."""
    control_hz: float = 10.0
    """Grid rate (Hz, ROS clock)."""
    cameras: tuple[str, ...] = ("front", "wrist")
    """Cameras to record (`image/<cam>`, `valid/<cam>`, `frame_number/<cam>`, `time/<cam>`)."""
    camera_ns: str = "camera"
    """Namespace of the camera topics."""
    depth: bool = False
    """Record aligned depth (`depth/<cam>`, float32 m, NaN invalid)."""
    arm_ns: str = "arm"
    """Namespace of the arm topics."""
    joint_prefix: str = "panda_"
    """Joint names are <prefix>joint1..7."""
    pos_scale: float = 0.02
    """Normalisation of `action` translation: m per control step at |a| = 1."""
    rot_scale: float = 0.1
    """Normalisation of `action` rotation: rad per control step at |a| = 1."""
    lag: float = 0.05
    """Wait this long (s) past a grid step's action window before assembling it (transport latency)."""
    max_age: float = 0.1
    """A camera frame older than this (s) at a grid time is a gap (`valid/<cam>` = False)."""
    max_wait: float = 2.0
    """Longest a step waits (s, ROS clock, past its lag) for the arm and camera streams to deliver its data
    before it is written with gaps (a recorder behind its queues waits instead of recording gaps)."""
    task_state: str = ""
    """Sim only: topic of the mirror's privileged task state (sim_node's `~/task_state`), recorded as
    `state/<key>` for the keys the arm topics lack (object poses) and the per-step `success`; "" on
    hardware, which has no such topic."""
    autostart: bool = True
    """Configure and activate at start-up (no lifecycle manager needed)."""


@dataclasses.dataclass(frozen=True)
class ExpertTeleopConfig:
    """expert_teleop: the task's scripted expert as a teleop device, for the MuJoCo mirror only."""

    task: str = "pick_cube"
    """Registered task whose scripted expert runs."""
    sim_node: str = "/sim"
    """Fully qualified name of the sim_node whose privileged `~/task_state` it reads."""
    control_hz: float = 10.0
    """Expert decisions per second of ROS time (the task's control rate)."""
    lead: float = 0.02
    """Decide this long (s, ROS time) before each whole control period, so the action reaches
    teleop_bridge before its tick on that period (the bridge ticks on whole periods of arm-pose time)."""
    rate_hz: float = 30.0
    """Wall-clock rate at which the newest action is re-published, like a teleop device's stream (the
    bridge treats input older than its timeout as a dead device)."""
    noise: float = 0.0
    """Std of Gaussian noise on the expert's normalised actions (0 = clean demos)."""
    seed: int = 0
    """Seeds the action noise (with the scene seed of each episode)."""
    teleop_ns: str = "teleop"
    """Namespace of the teleop topics it publishes."""
    base_frame: str = "base"
    """Frame id of the twist."""


CONFIGS: dict[str, type] = {
    "camera_node": CameraNodeConfig, "arm_node": ArmNodeConfig, "teleop_node": TeleopNodeConfig,
    "teleop_bridge": TeleopBridgeConfig, "sim_node": SimNodeConfig, "recorder_node": RecorderNodeConfig,
    "expert_teleop": ExpertTeleopConfig,
}
"""executable → config class."""


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name → the docstring under it, for `cls` and its dataclass bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body
        for node, nxt in zip(body, body[1:], strict=False):
            doc = isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
            if isinstance(node, ast.AnnAssign) and doc:
                docs[node.target.id] = str(nxt.value.value)
    return docs
