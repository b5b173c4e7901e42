"""Teleop devices (DESIGN §3): a 6-D twist in the robot's base frame, a gripper target, episode
buttons and an "engaged" flag that marks a human intervention.

Every device reduces its raw input to the same two things — six axes in the *device* frame, each a
fraction of full deflection in [-1, 1], and the set of button *roles* held (plus presses seen since
the last read) — and `CommandMapper` turns those into a `TeleopCommand`: deadzone, per-axis sign and
scale, device-frame → base-frame rotation, gripper toggle and one-shot episode buttons. The pieces
are pure functions so they can be tested without a device.

Frames: the device frame of a hand-held device is x right, y forward (away from the operator), z up
(right-handed); rotations are right-handed about those axes (roll about x, pitch about y, yaw about
z). `TeleopMapping.device_rpy` says how that frame sits in the robot base frame (x forward, z up):
operator standing behind the robot looking where it looks = (0, 0, -pi/2); operator facing the
robot across the table = (0, 0, pi/2); identity = the device's axes are the base axes.
"""

from __future__ import annotations

import abc
import dataclasses
import math

import numpy as np

ROLES = ("gripper", "success", "discard", "next_episode", "engage")
"""Button roles a device can map its buttons to. gripper: toggle open/closed on press; success /
discard / next_episode: one-shot episode events; engage: held = the operator is intervening."""

OPERATOR_BEHIND_ROBOT = (0.0, 0.0, -math.pi / 2)
"""`device_rpy` for an operator behind the robot, facing the way the robot's x axis points."""
OPERATOR_FACING_ROBOT = (0.0, 0.0, math.pi / 2)
"""`device_rpy` for an operator across the table, facing the robot."""


@dataclasses.dataclass(frozen=True)
class TeleopCommand:
    """One reading of a teleop device."""

    time: float
    """Host monotonic time (s) of the newest input this command reflects (time.monotonic())."""
    twist: np.ndarray
    """(6,) float: linear x, y, z then angular roll, pitch, yaw rates in the robot BASE frame, each a
    unitless fraction of full speed in [-1, 1] (after deadzone and scaling). The env turns 1.0 into
    `pos_scale` m / `rot_scale` rad per control step (see `teleop_to_action`)."""
    gripper: float
    """Gripper target: 0 = closed, 1 = open."""
    engaged: bool
    """A human is intervening: an axis is outside the deadzone, the engage button is held, or the
    gripper was toggled since the last read."""
    success: bool = False
    """One-shot: the success button was pressed since the last read (episode succeeded)."""
    discard: bool = False
    """One-shot: the discard button was pressed since the last read (throw the episode away)."""
    next_episode: bool = False
    """One-shot: the next-episode button was pressed since the last read (end, label by predicate)."""


@dataclasses.dataclass(frozen=True)
class TeleopMapping:
    """Raw device axes → base-frame twist; shared by every device config."""

    deadzone: float = 0.05
    """Fraction of full deflection ignored around rest; output is rescaled so it stays continuous."""
    linear_scale: float = 1.0
    """Gain on the three translation axes (output is clipped to [-1, 1])."""
    angular_scale: float = 1.0
    """Gain on the three rotation axes (output is clipped to [-1, 1])."""
    axis_sign: tuple[float, float, float, float, float, float] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    """Sign per device axis (x, y, z, roll, pitch, yaw), applied in the device frame; -1 inverts."""
    device_rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Orientation of the device frame in the base frame (rad): extrinsic roll about base x, then pitch
    about y, then yaw about z. See OPERATOR_BEHIND_ROBOT / OPERATOR_FACING_ROBOT."""
    gripper_open_at_start: bool = True
    """Initial gripper target (True = open, 1.0)."""


# ---------------------------------------------------------------------- pure functions
def apply_deadzone(x: np.ndarray, deadzone: float) -> np.ndarray:
    """Zero inside |x| <= deadzone, then rescale linearly so |x| = deadzone → 0 and |x| = 1 → 1.

    Continuous and monotonic; inputs beyond [-1, 1] are clipped first."""
    x = np.clip(np.asarray(x, dtype=float), -1.0, 1.0)
    if deadzone <= 0.0:
        return x
    mag = np.maximum(np.abs(x) - deadzone, 0.0) / (1.0 - deadzone)
    return np.sign(x) * mag


def rpy_to_matrix(rpy: tuple[float, float, float] | np.ndarray) -> np.ndarray:
    """(3, 3) rotation Rz(yaw) @ Ry(pitch) @ Rx(roll) (extrinsic x, y, z), rad."""
    r, p, y = rpy
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


def device_to_base(twist: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Rotate a (6,) device-frame twist into the base frame with `rotation` (3, 3) = R_base_device.

    Linear and angular parts are both vectors, so both rotate by R (a proper rotation)."""
    twist = np.asarray(twist, dtype=float)
    return np.concatenate([rotation @ twist[:3], rotation @ twist[3:]])


def map_axes(axes: np.ndarray, mapping: TeleopMapping, rotation: np.ndarray | None = None) -> np.ndarray:
    """Raw device axes (6,) in [-1, 1] → base-frame twist (6,) in [-1, 1]: deadzone, sign, scale, rotate."""
    a = apply_deadzone(axes, mapping.deadzone) * np.asarray(mapping.axis_sign, dtype=float)
    a[:3] *= mapping.linear_scale
    a[3:] *= mapping.angular_scale
    r = rpy_to_matrix(mapping.device_rpy) if rotation is None else rotation
    return np.clip(device_to_base(a, r), -1.0, 1.0)


def is_engaged(axes: np.ndarray, deadzone: float, engage_held: bool = False) -> bool:
    """True when any raw axis is outside the deadzone or the engage button is held."""
    return bool(engage_held or np.any(np.abs(np.asarray(axes, dtype=float)) > deadzone))


def rising_edges(previous: frozenset[str], held: frozenset[str]) -> frozenset[str]:
    """Buttons pressed now that were not pressed before (a press event)."""
    return held - previous


def toggle(value: float, pressed: bool) -> float:
    """Gripper toggle: 0 ↔ 1 when `pressed` (a rising edge), else unchanged."""
    return 1.0 - value if pressed else value


def teleop_to_action(cmd: TeleopCommand, linear_gain: float = 1.0, angular_gain: float = 1.0) -> np.ndarray:
    """A command → the env's normalised action (7,) float32 in [-1, 1] (robot_rl/tasks/base.py):
    (dx, dy, dz, droll, dpitch, dyaw) = twist × gain (base frame), gripper = 2 × target − 1."""
    a = np.empty(7, dtype=np.float32)
    a[:3] = np.asarray(cmd.twist[:3]) * linear_gain
    a[3:6] = np.asarray(cmd.twist[3:]) * angular_gain
    a[6] = 2.0 * float(cmd.gripper) - 1.0
    return np.clip(a, -1.0, 1.0)


# ---------------------------------------------------------------------- stateful pieces
class PressTracker:
    """Accumulates button press events between reads, so a click shorter than a control period is
    never lost. Call `update` with every raw sample of held roles, `take` once per read."""

    def __init__(self) -> None:
        self.held: frozenset[str] = frozenset()
        self._pressed: set[str] = set()

    def update(self, held: frozenset[str] | set[str]) -> None:
        held = frozenset(held)
        self._pressed |= rising_edges(self.held, held)
        self.held = held

    def press(self, role: str) -> None:
        """Record a press event directly (devices that only see key-down events, e.g. a terminal)."""
        self._pressed.add(role)

    def take(self) -> frozenset[str]:
        """Presses since the last call (and forget them)."""
        out, self._pressed = frozenset(self._pressed), set()
        return out


class CommandMapper:
    """Raw axes + button roles → TeleopCommand; holds the gripper toggle state."""

    def __init__(self, mapping: TeleopMapping) -> None:
        self.mapping = mapping
        self.rotation = rpy_to_matrix(mapping.device_rpy)
        self.reset()

    def reset(self) -> None:
        """Back to the initial gripper target (a new episode starts with the gripper as configured)."""
        self.gripper = 1.0 if self.mapping.gripper_open_at_start else 0.0

    def __call__(self, time: float, axes: np.ndarray, held: frozenset[str],
                 pressed: frozenset[str]) -> TeleopCommand:
        """`axes`: (6,) device-frame fractions of full deflection; `held`: roles held now;
        `pressed`: roles pressed since the previous call."""
        unknown = (held | pressed) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown button roles {sorted(unknown)}; expected {ROLES}")
        toggled = "gripper" in pressed
        self.gripper = toggle(self.gripper, toggled)
        engaged = toggled or is_engaged(axes, self.mapping.deadzone, "engage" in held)
        return TeleopCommand(time=time, twist=map_axes(axes, self.mapping, self.rotation),
                             gripper=self.gripper, engaged=engaged, success="success" in pressed,
                             discard="discard" in pressed, next_episode="next_episode" in pressed)


class TeleopDevice(abc.ABC):
    """A human input device. `read` never blocks; `close` releases the device (idempotent)."""

    name: str = "teleop"
    """Registry name, stored with each episode (`teleop=...`)."""
    _mapper: CommandMapper
    """Set by subclasses: turns their raw input into commands and holds the gripper toggle."""

    @abc.abstractmethod
    def read(self) -> TeleopCommand:
        """The latest command: current axes and gripper target, presses since the previous read."""

    def reset(self) -> None:
        """Start a new episode: drop presses made since the last read, reset the gripper target."""
        self.read()
        self._mapper.reset()

    def close(self) -> None:
        """Release the device and restore anything it changed (terminal modes)."""
        return None

    def help(self) -> str:
        """Human-readable controls, printed when collection starts."""
        return f"{self.name}: no help available"

    def __enter__(self) -> TeleopDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
