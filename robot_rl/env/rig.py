"""Rigs: which arm, cameras, safety limits and teleop device make up one robot station.

A rig is a YAML file in hardware/rigs/ (installed under share/robot_rl/hardware/rigs, found like the
robot models: robot_rl.drivers.mujoco.assets.hardware_dir). `load_rig("sim")` or `load_rig(path)`
returns a frozen `RigConfig`. Parsing is strict: unknown keys are rejected and every error names the
file, the key path (e.g. `cameras[1].fps`) and the expected value or type.
Frames: positions in metres, quaternions unit xyzw; camera extrinsics are the camera's optical frame
(x right, y down, z forward) in the arm base frame, or in the flange frame for `frame: ee`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from robot_rl.env.safety import SafetyConfig


class RigError(ValueError):
    """A rig file is missing or malformed."""


@dataclasses.dataclass(frozen=True)
class ArmSpec:
    driver: Literal["franka", "sim"]
    """`franka`: robot_rl.drivers.franka.FrankaArm; `sim`: the MuJoCo mirror's SimArm."""
    host: str = ""
    """FCI address of the arm controller (franka only)."""
    realtime_ignore: bool = False
    """Run libfranka without a realtime kernel (franka only; keep False on hardware)."""
    relative_dynamics_factor: float = 0.15
    """Scale (0, 1] of the arm's velocity/acceleration/jerk limits."""


@dataclasses.dataclass(frozen=True)
class Extrinsics:
    position: tuple[float, float, float]
    """Camera optical-frame origin (m) in `frame`."""
    quaternion: tuple[float, float, float, float]
    """Camera optical-frame orientation, unit xyzw, in `frame`."""
    frame: Literal["base", "ee"] = "base"
    """`base`: fixed camera, arm base frame; `ee`: wrist camera, flange frame."""

    def matrix(self) -> np.ndarray:
        """(4, 4) homogeneous transform frame ← camera."""
        x, y, z, w = np.asarray(self.quaternion) / np.linalg.norm(self.quaternion)
        out = np.eye(4)
        out[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                       [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                       [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
        out[:3, 3] = self.position
        return out


@dataclasses.dataclass(frozen=True)
class CameraSpec:
    name: str
    """Observation key suffix (`image/<name>`)."""
    driver: Literal["realsense", "uvc", "sim"]
    """Which camera driver opens it."""
    extrinsics: Extrinsics
    """Camera pose (see Extrinsics)."""
    serial: str = ""
    """Device serial number (realsense) or /dev/v4l/by-id path (uvc); empty for sim."""
    width: int = 640
    """Colour image width (px)."""
    height: int = 480
    """Colour image height (px)."""
    fps: int = 30
    """Frame rate (Hz)."""
    depth: bool = False
    """Stream depth aligned to colour."""


@dataclasses.dataclass(frozen=True)
class SafetySpec:
    workspace_min: tuple[float, float, float]
    """Lower corner of the TCP box (m, base frame)."""
    workspace_max: tuple[float, float, float]
    """Upper corner of the TCP box (m, base frame)."""
    max_translation: float = 0.05
    """Largest target move per command (m)."""
    max_rotation: float = 0.3
    """Largest target rotation per command (rad)."""
    max_linear_velocity: float | None = None
    """Largest target speed (m/s)."""
    max_angular_velocity: float | None = None
    """Largest target angular speed (rad/s)."""
    control_period: float = 0.1
    """Time between commands (s)."""
    watchdog_periods: int = 3
    """Hold after this many periods without a command."""

    def to_config(self) -> SafetyConfig:
        return SafetyConfig(**dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class TeleopSpec:
    device: Literal["spacemouse", "keyboard", "gamepad", "sim"]
    """Which teleop driver to open."""
    translation_scale: float = 0.1
    """Full deflection → TCP speed (m/s)."""
    rotation_scale: float = 0.5
    """Full deflection → TCP angular speed (rad/s)."""


@dataclasses.dataclass(frozen=True)
class RigConfig:
    name: str
    """Rig name (recorded with every episode)."""
    arm: ArmSpec
    safety: SafetySpec
    teleop: TeleopSpec
    cameras: tuple[CameraSpec, ...] = ()
    source: str = ""
    """File the rig was loaded from (filled in by the loader)."""


# ---------------------------------------------------------------------------------------- parsing
def _fail(file: str, key: str, expected: str, got: Any) -> typing.NoReturn:
    raise RigError(f"{file}: {key or '<top level>'}: expected {expected}, got {got!r}")


def _parse(tp: Any, value: Any, file: str, key: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _parse(next(a for a in args if a is not type(None)), value, file, key)
    if origin is Literal:
        if value not in args:
            _fail(file, key, "one of " + ", ".join(map(str, args)), value)
        return value
    if origin is tuple:
        n = None if args[-1] is Ellipsis else len(args)
        if not isinstance(value, list) or (n is not None and len(value) != n):
            _fail(file, key, f"a list of {n or 'any number of'} values", value)
        return tuple(_parse(args[0 if n is None else i], v, file, f"{key}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return _parse_dataclass(tp, value, file, key)
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    _fail(file, key, f"{'an' if tp.__name__[0] in 'aeiou' else 'a'} {tp.__name__}", value)


def _parse_dataclass(cls: type, value: Any, file: str, key: str) -> Any:
    if not isinstance(value, dict):
        _fail(file, key, f"a mapping with keys {[f.name for f in dataclasses.fields(cls)]}", value)
    hints, fields = typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}
    prefix = f"{key}." if key else ""
    for k in value:
        if k not in fields or k == "source":
            known = ", ".join(n for n in fields if n != "source")
            _fail(file, f"{prefix}{k}", f"no such key (known: {known})", value[k])
    kwargs = {}
    for name, f in fields.items():
        if name in value:
            kwargs[name] = _parse(hints[name], value[name], file, prefix + name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            _fail(file, prefix + name, f"a value ({_describe(hints[name])})", "<missing>")
    return cls(**kwargs)


def _describe(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    return getattr(tp, "__name__", str(tp))


def _check(rig: RigConfig, file: str) -> RigConfig:
    s = rig.safety
    if not all(lo < hi for lo, hi in zip(s.workspace_min, s.workspace_max, strict=True)):
        _fail(file, "safety.workspace_min", "each value below safety.workspace_max", s.workspace_min)
    if rig.arm.driver == "franka" and not rig.arm.host:
        _fail(file, "arm.host", "the arm's FCI address for driver franka", rig.arm.host)
    for i, cam in enumerate(rig.cameras):
        if cam.driver != "sim" and not cam.serial:
            _fail(file, f"cameras[{i}].serial", f"a serial number for driver {cam.driver}", cam.serial)
        if abs(np.linalg.norm(cam.extrinsics.quaternion) - 1.0) > 1e-3:
            _fail(file, f"cameras[{i}].extrinsics.quaternion", "a unit quaternion xyzw",
                  list(cam.extrinsics.quaternion))
    names = [c.name for c in rig.cameras]
    if len(set(names)) != len(names):
        _fail(file, "cameras", "unique camera names", names)
    return rig


def rig_path(name_or_path: str | Path) -> Path:
    """A rig file: an existing path, or the name of a packaged rig (hardware/rigs/<name>.yaml)."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise RigError(f"{p}: rig file not found")
        return p
    from robot_rl.drivers.mujoco.assets import hardware_dir

    rigs = hardware_dir() / "rigs"
    if not (rigs / f"{name_or_path}.yaml").is_file():
        known = sorted(f.stem for f in rigs.glob("*.yaml"))
        raise RigError(f"no rig named {name_or_path!r} in {rigs}; known rigs: {', '.join(known)}")
    return rigs / f"{name_or_path}.yaml"


def load_rig(name_or_path: str | Path) -> RigConfig:
    """Load and validate a rig (see module docstring)."""
    path = rig_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise RigError(f"{path}: not valid YAML: {e}") from e
    rig = _parse_dataclass(RigConfig, data, str(path), "")
    return _check(dataclasses.replace(rig, source=str(path)), str(path))
