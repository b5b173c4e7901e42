"""3Dconnexion SpaceMouse over raw HID (hidraw via the `hidapi` package), with our own report parser.

Report format (documented in pyspacemouse's device table, pyspacemouse/devices.toml, and its axis
conventions in pyspacemouse/types.py `AxisConvention`; github.com/JakubAndrysek/pyspacemouse):

- report id 1, 7 bytes: translation x, y, z as int16 little-endian (bytes 1-2, 3-4, 5-6);
- report id 2, 7 bytes: rotation rx, ry, rz as int16 little-endian (older devices: SpaceNavigator,
  SpaceMouse Pro/Compact wired);
- report id 1, 13 bytes: all six axes x, y, z, rx, ry, rz in one report (newer devices: SpaceMouse
  Wireless, Pro Wireless, Enterprise, Universal Receiver);
- report id 3: button bitmask, little-endian over the remaining bytes (bit 0 = left/menu button, bit 1
  = right/fit button on two-button devices).
Full deflection is about ±350 counts. The raw values follow the USB HID usage tables: x right, y
towards the user, z down. `parse_report` returns axes in the z-up device frame of teleop_base
(x right, y away from the user, z up; right-handed rotations about those axes): (x, -y, -z, rx, -ry, -rz).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from robot_rl.drivers.teleop_base import (
    OPERATOR_BEHIND_ROBOT,
    CommandMapper,
    PressTracker,
    TeleopCommand,
    TeleopDevice,
    TeleopMapping,
)

FULL_SCALE = 350.0
"""Counts at full deflection (pyspacemouse `axis_scale`)."""
_HID_TO_ZUP = np.array([1.0, -1.0, -1.0, 1.0, -1.0, -1.0])
VENDOR_IDS = (0x046D, 0x256F)
"""Logitech (older 3Dconnexion devices) and 3Dconnexion USB vendor ids."""
PRODUCT_IDS = {
    0xC626: "SpaceNavigator", 0xC627: "SpaceExplorer", 0xC625: "SpacePilot", 0xC629: "SpacePilot Pro",
    0xC62B: "SpaceMouse Pro", 0xC62E: "SpaceMouse Wireless", 0xC62F: "SpaceMouse Wireless receiver",
    0xC631: "SpaceMouse Pro Wireless", 0xC632: "SpaceMouse Pro Wireless receiver",
    0xC633: "SpaceMouse Enterprise", 0xC635: "SpaceMouse Compact", 0xC638: "SpaceMouse Pro Wireless BT",
    0xC63A: "SpaceMouse Wireless (new)", 0xC641: "SpaceMouse USB", 0xC652: "Universal Receiver",
}
UDEV_HINT = ('KERNEL=="hidraw*", ATTRS{idVendor}=="256f", MODE="0666" (and idVendor "046d" for older '
             'devices) in /etc/udev/rules.d/99-spacemouse.rules, then `udevadm control --reload && '
             'udevadm trigger` and replug')


@dataclasses.dataclass(frozen=True)
class SpaceMouseRaw:
    """Parsed device state."""

    axes: np.ndarray
    """(6,) x, y, z, roll, pitch, yaw in the z-up device frame, fraction of full scale, clipped to ±1."""
    buttons: int
    """Bitmask of buttons held (bit i = button i)."""


def _int16s(data: bytes, n: int) -> np.ndarray:
    return np.frombuffer(bytes(data[1:1 + 2 * n]), dtype="<i2").astype(float)


def parse_report(data: bytes | bytearray | list[int], prev: SpaceMouseRaw | None = None) -> SpaceMouseRaw:
    """Apply one raw HID input report (first byte = report id) to the previous state.

    Unknown report ids (e.g. 0x17 battery level) and truncated reports leave the state unchanged."""
    data = bytes(data)
    axes = np.zeros(6) if prev is None else prev.axes.copy()
    buttons = 0 if prev is None else prev.buttons
    rid = data[0] if data else -1
    hid = axes * _HID_TO_ZUP  # back to raw-sign space, update, convert again (sign flips are involutions)
    if rid == 1 and len(data) >= 13:
        hid = _int16s(data, 6) / FULL_SCALE
    elif rid == 1 and len(data) >= 7:
        hid[:3] = _int16s(data, 3) / FULL_SCALE
    elif rid == 2 and len(data) >= 7:
        hid[3:] = _int16s(data, 3) / FULL_SCALE
    elif rid == 3 and len(data) >= 2:
        buttons = int.from_bytes(data[1:], "little")
    return SpaceMouseRaw(axes=np.clip(hid * _HID_TO_ZUP, -1.0, 1.0), buttons=buttons)


@dataclasses.dataclass(frozen=True)
class SpaceMouseConfig:
    """SpaceMouse teleop settings."""

    mapping: TeleopMapping = TeleopMapping(deadzone=0.1, device_rpy=OPERATOR_BEHIND_ROBOT)
    """Deadzone / scaling / frame of the puck; default: operator behind the robot."""
    button_roles: tuple[tuple[str, int], ...] = (("gripper", 0), ("success", 1))
    """(role, button bit) pairs. Two-button devices: left toggles the gripper, right = success. Pro
    models have more buttons (e.g. bits 12-15 = 1-4) for discard / next_episode / engage."""
    path: str | None = None
    """hidraw device path (e.g. /dev/hidraw3); None = the first known 3Dconnexion device."""


def held_roles(buttons: int, roles: tuple[tuple[str, int], ...]) -> frozenset[str]:
    """Button roles whose bit is set in `buttons`."""
    return frozenset(role for role, bit in roles if buttons >> bit & 1)


def _open_hid(path: str | None):
    try:
        try:
            import hidraw as hid  # cython-hidapi's Linux hidraw backend (stable /dev/hidrawN paths)
        except ImportError:
            import hid
    except ImportError as e:
        raise ImportError("SpaceMouse teleop needs the `hidapi` package: pip install hidapi") from e
    if path is None:
        found = [d for d in hid.enumerate()
                 if d["vendor_id"] in VENDOR_IDS and d["product_id"] in PRODUCT_IDS]
        if not found:
            raise RuntimeError(f"no SpaceMouse found: check USB and the udev rule {UDEV_HINT}")
        path = found[0]["path"]
    dev = hid.device()
    try:
        dev.open_path(path.encode() if isinstance(path, str) else path)
    except OSError as e:
        raise RuntimeError(f"cannot open SpaceMouse {path!r} ({e}): check the udev rule {UDEV_HINT}") from e
    dev.set_nonblocking(1)
    return dev


class SpaceMouse(TeleopDevice):
    """SpaceMouse teleop. `hid_device`: anything with `read(n) -> list[int]` returning one report per
    call and an empty list when none is pending (a hidapi device, or a recorded-report replay);
    default: open the device through hidapi."""

    name = "spacemouse"

    def __init__(self, config: SpaceMouseConfig | None = None, hid_device=None) -> None:
        self.config = config or SpaceMouseConfig()
        self._dev = hid_device if hid_device is not None else _open_hid(self.config.path)
        self._raw = SpaceMouseRaw(np.zeros(6), 0)
        self._presses = PressTracker()
        self._mapper = CommandMapper(self.config.mapping)
        self._time = time.monotonic()

    def read(self) -> TeleopCommand:
        """Drain every pending report (so no button press is lost), then map the latest state."""
        while True:
            data = self._dev.read(64)
            if not data:
                break
            self._raw = parse_report(data, self._raw)
            self._presses.update(held_roles(self._raw.buttons, self.config.button_roles))
            self._time = time.monotonic()
        return self._mapper(self._time, self._raw.axes, self._presses.held, self._presses.take())

    def close(self) -> None:
        if self._dev is not None:
            close = getattr(self._dev, "close", None)
            if close is not None:
                close()
            self._dev = None

    def help(self) -> str:
        roles = ", ".join(f"button {bit}: {role}" for role, bit in self.config.button_roles)
        return f"SpaceMouse: push/tilt the puck to move the gripper; {roles}; Ctrl-C quits."
