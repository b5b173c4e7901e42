"""Gamepad teleop from a Linux evdev node (/dev/input/eventN), parsing `struct input_event` directly.

No dependency: the kernel's event interface is a stream of fixed-size records (linux/input.h),
`struct input_event { struct timeval time; __u16 type; __u16 code; __s32 value; }` (24 bytes on
64-bit), and each absolute axis's range comes from the EVIOCGABS ioctl (`struct input_absinfo`).
Event timestamps are switched to CLOCK_MONOTONIC (EVIOCSCLOCKID) so they are host monotonic time.

Default layout (Xbox-style pad through xpad / hid-generic; the device frame is the operator's view,
x right, y forward, z up): left stick = x / y, right stick up/down = z, right stick left/right = yaw,
d-pad = roll (left/right) and pitch (up/down); RB toggles the gripper, LB held = engaged,
A = success, B = discard, Start = next episode.
"""

from __future__ import annotations

import dataclasses
import fcntl
import glob
import os
import select
import struct
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

EVENT = struct.Struct("llHHi")
"""struct input_event: tv_sec, tv_usec, type, code, value (native sizes: 24 bytes on 64-bit)."""
ABSINFO = struct.Struct("6i")
"""struct input_absinfo: value, minimum, maximum, fuzz, flat, resolution."""
EV_SYN, EV_KEY, EV_ABS = 0x00, 0x01, 0x03
ABS_X, ABS_Y, ABS_Z, ABS_RX, ABS_RY, ABS_RZ = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05
ABS_HAT0X, ABS_HAT0Y = 0x10, 0x11
BTN_SOUTH, BTN_EAST, BTN_NORTH, BTN_WEST, BTN_TL, BTN_TR = 0x130, 0x131, 0x133, 0x134, 0x136, 0x137
BTN_SELECT, BTN_START, BTN_MODE = 0x13A, 0x13B, 0x13C
CLOCK_MONOTONIC = 1


def _ioc(direction: int, nr: int, size: int) -> int:
    return direction << 30 | size << 16 | ord("E") << 8 | nr


def eviocgabs(code: int) -> int:
    """ioctl request reading the input_absinfo of absolute axis `code` (_IOR('E', 0x40 + code, 24))."""
    return _ioc(2, 0x40 + code, ABSINFO.size)


EVIOCSCLOCKID = _ioc(1, 0xA0, 4)


@dataclasses.dataclass(frozen=True)
class GamepadConfig:
    """Gamepad teleop settings."""

    mapping: TeleopMapping = TeleopMapping(deadzone=0.12, device_rpy=OPERATOR_BEHIND_ROBOT)
    """Deadzone (sticks rest a few % off centre) / scaling / frame; default: operator behind the robot."""
    axes: tuple[tuple[int, int, float], ...] = (
        (ABS_X, 0, 1.0), (ABS_Y, 1, -1.0), (ABS_RY, 2, -1.0), (ABS_RX, 5, -1.0),
        (ABS_HAT0X, 3, 1.0), (ABS_HAT0Y, 4, -1.0))
    """(evdev ABS code, device axis 0..5 = x y z roll pitch yaw, sign). Stick y reads negative when
    pushed up, hence the -1s."""
    buttons: tuple[tuple[int, str], ...] = (
        (BTN_TR, "gripper"), (BTN_TL, "engage"), (BTN_SOUTH, "success"), (BTN_EAST, "discard"),
        (BTN_START, "next_episode"))
    """(evdev KEY code, role) pairs."""
    path: str | None = None
    """Event device (e.g. /dev/input/event5); None = the first /dev/input/by-id/*-event-joystick."""


def normalize_abs(value: int, lo: int, hi: int) -> float:
    """An absolute axis value → [-1, 1] linearly over its [min, max] range (absinfo)."""
    if hi <= lo:
        return 0.0
    return float(np.clip(2.0 * (value - lo) / (hi - lo) - 1.0, -1.0, 1.0))


def default_range(code: int) -> tuple[int, int]:
    """(min, max) assumed when absinfo is unknown: hats report -1..1, sticks a signed 16-bit range."""
    return (-1, 1) if ABS_HAT0X <= code <= 0x17 else (-32768, 32767)


def parse_events(buf: bytes) -> tuple[list[tuple[float, int, int, int]], bytes]:
    """Split a byte stream into (time s, type, code, value) events; returns the incomplete tail too."""
    n = len(buf) // EVENT.size * EVENT.size
    events = [(sec + usec * 1e-6, typ, code, value)
              for sec, usec, typ, code, value in EVENT.iter_unpack(buf[:n])]
    return events, buf[n:]


def pack_event(t: float, typ: int, code: int, value: int) -> bytes:
    """One `struct input_event` as the kernel writes it (for recordings and tests)."""
    sec = int(t)
    return EVENT.pack(sec, int(round((t - sec) * 1e6)), typ, code, value)


class GamepadState:
    """Axis and button state built from input events (pure event handling, no I/O)."""

    def __init__(self, config: GamepadConfig, ranges: dict[int, tuple[int, int]]) -> None:
        self.config, self.ranges = config, ranges
        self._axis_of = {code: (axis, sign) for code, axis, sign in config.axes}
        self._role_of = dict(config.buttons)
        self.raw: dict[int, float] = {code: 0.0 for code in self._axis_of}
        self.held: set[str] = set()
        self.presses = PressTracker()
        self.time = 0.0

    def apply(self, t: float, typ: int, code: int, value: int) -> None:
        """Update from one event. Values apply immediately (SYN_REPORT only groups them)."""
        if typ == EV_ABS and code in self._axis_of:
            lo, hi = self.ranges.get(code) or default_range(code)
            self.raw[code] = normalize_abs(value, lo, hi)
        elif typ == EV_KEY and code in self._role_of:
            role = self._role_of[code]
            if value:  # 1 = press, 2 = auto-repeat
                self.held.add(role)
            else:
                self.held.discard(role)
            self.presses.update(frozenset(self.held))
        else:
            return
        self.time = t

    def axes(self) -> np.ndarray:
        """(6,) device-frame axes in [-1, 1]."""
        out = np.zeros(6)
        for code, (axis, sign) in self._axis_of.items():
            out[axis] += sign * self.raw[code]
        return np.clip(out, -1.0, 1.0)


class Gamepad(TeleopDevice):
    """Gamepad teleop. `fd`: an already open event stream (a recording or pipe; `ranges` then gives
    each axis's (min, max), default `default_range`); default: open `config.path` and query its absinfo."""

    name = "gamepad"

    def __init__(self, config: GamepadConfig | None = None, fd: int | None = None,
                 ranges: dict[int, tuple[int, int]] | None = None) -> None:
        self.config = config or GamepadConfig()
        self._own_fd = fd is None
        self._fd = _open_event_device(self.config.path) if fd is None else fd
        if ranges is None:
            ranges = _query_ranges(self._fd, [code for code, _, _ in self.config.axes])
        self._monotonic = self._own_fd and _set_monotonic_clock(self._fd)
        self.state = GamepadState(self.config, ranges)
        self._mapper = CommandMapper(self.config.mapping)
        self._tail = b""

    def read(self) -> TeleopCommand:
        """Drain all pending events (no press is lost), then map the current state."""
        while select.select([self._fd], [], [], 0)[0]:
            chunk = os.read(self._fd, 64 * EVENT.size)
            if not chunk:
                break
            events, self._tail = parse_events(self._tail + chunk)
            for event in events:
                self.state.apply(*event)
        st = self.state
        t = st.time if self._monotonic and st.time else time.monotonic()
        return self._mapper(t, st.axes(), frozenset(st.presses.held), st.presses.take())

    def close(self) -> None:
        if self._fd is not None and self._own_fd:
            os.close(self._fd)
        self._fd = None

    def help(self) -> str:
        return ("gamepad: left stick = move x/y, right stick = up/down + yaw, d-pad = roll/pitch; "
                "RB = toggle gripper, LB = engage, A = success, B = discard, Start = next episode")


def _open_event_device(path: str | None) -> int:
    if path is None:
        found = sorted(glob.glob("/dev/input/by-id/*-event-joystick"))
        if not found:
            raise RuntimeError("no gamepad found under /dev/input/by-id/*-event-joystick: plug one in, check "
                               "`ls -l /dev/input/by-id`, make sure your user is in the `input` group, "
                               "or pass GamepadConfig(path=/dev/input/eventN)")
        path = found[0]
    try:
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise RuntimeError(f"cannot open gamepad {path} ({e}): is your user in the `input` group?") from e


def _query_ranges(fd: int, codes: list[int]) -> dict[int, tuple[int, int]]:
    ranges = {}
    for code in codes:
        try:
            info = fcntl.ioctl(fd, eviocgabs(code), bytes(ABSINFO.size))
        except OSError:
            continue  # the pad has no such axis: it stays at 0
        _, lo, hi, _, _, _ = ABSINFO.unpack(info)
        ranges[code] = (lo, hi)
    return ranges


def _set_monotonic_clock(fd: int) -> bool:
    try:
        fcntl.ioctl(fd, EVIOCSCLOCKID, struct.pack("i", CLOCK_MONOTONIC))
        return True
    except OSError:
        return False
