"""Keyboard teleop from a terminal (no display needed): keys are read from a TTY in cbreak mode by a
background thread.

A terminal reports key presses, never releases, and repeats a held key only after the auto-repeat
delay (typically 250-600 ms, then ~30 Hz). So a key counts as held for `hold_s` after each press or
repeat; releasing it stops motion within `hold_s`. Expect a short stutter before auto-repeat starts.

Axes are in the base frame (the keyboard's device frame is the base frame): w/s = +x/-x, a/d = +y/-y
(left/right when looking along +x), r/f = +z/-z.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import select
import sys
import termios
import threading
import time
import tty

import numpy as np

from robot_rl.drivers.teleop_base import (
    CommandMapper,
    PressTracker,
    TeleopCommand,
    TeleopDevice,
    TeleopMapping,
)

# key → (axis index, direction); axes are x, y, z, roll, pitch, yaw.
MOTION_KEYS: dict[str, tuple[int, float]] = {
    "w": (0, 1.0), "s": (0, -1.0), "a": (1, 1.0), "d": (1, -1.0), "r": (2, 1.0), "f": (2, -1.0),
    "u": (3, 1.0), "o": (3, -1.0), "i": (4, 1.0), "k": (4, -1.0), "j": (5, 1.0), "l": (5, -1.0),
    "UP": (4, 1.0), "DOWN": (4, -1.0), "LEFT": (5, 1.0), "RIGHT": (5, -1.0),
}
BUTTON_KEYS: dict[str, str] = {" ": "gripper", "\r": "success", "\n": "success", "\x7f": "discard",
                               "\x08": "discard", "n": "next_episode"}
_ESCAPES = {"\x1b[A": "UP", "\x1b[B": "DOWN", "\x1b[C": "RIGHT", "\x1b[D": "LEFT",
            "\x1bOA": "UP", "\x1bOB": "DOWN", "\x1bOC": "RIGHT", "\x1bOD": "LEFT"}
HELP = """keyboard teleop (base frame):
  w/s  +x/-x (forward/back)   a/d  +y/-y (left/right)   r/f  +z/-z (up/down)
  u/o  roll +/-   i/k or up/down  pitch +/-   j/l or left/right  yaw +/-
  space  toggle gripper   enter  success   backspace  discard   n  next episode   Ctrl-C  quit"""


def split_keys(buf: str) -> tuple[list[str], str]:
    """Split terminal input into key names; returns (keys, incomplete escape sequence left over).

    Arrow keys arrive as escape sequences (ESC [ A ...); letters are lower-cased; unknown escape
    sequences are dropped."""
    keys: list[str] = []
    i = 0
    while i < len(buf):
        c = buf[i]
        if c == "\x1b":
            seq = buf[i:i + 3]
            if len(seq) < 3 and (seq == "\x1b" or seq in ("\x1b[", "\x1bO")):
                return keys, buf[i:]  # the rest of the sequence has not arrived yet
            if seq in _ESCAPES:
                keys.append(_ESCAPES[seq])
                i += 3
                continue
            i += 1
            if buf[i:i + 1] in ("[", "O"):  # skip an unknown CSI/SS3 sequence up to its final byte
                i += 1
                while i < len(buf) and not buf[i].isalpha() and buf[i] != "~":
                    i += 1
                i += 1
            continue  # a lone ESC is dropped
        keys.append(c.lower() if c.isalpha() else c)
        i += 1
    return keys, ""


@dataclasses.dataclass(frozen=True)
class KeyboardConfig:
    """Keyboard teleop settings."""

    mapping: TeleopMapping = TeleopMapping(deadzone=0.0)
    """Scaling / frame; the default device frame is the base frame (w = +x)."""
    hold_s: float = 0.15
    """A key counts as held this long (s) after its last press or auto-repeat."""
    tty: str | None = None
    """Terminal device to read; None = stdin if it is a terminal, else /dev/tty."""


class KeyboardTeleop(TeleopDevice):
    """Reads keys from a terminal in cbreak mode (no echo, no line buffering; Ctrl-C still works)."""

    name = "keyboard"

    def __init__(self, config: KeyboardConfig | None = None) -> None:
        self.config = config or KeyboardConfig()
        self._fd, self._own_fd = _open_tty(self.config.tty)
        self._saved = termios.tcgetattr(self._fd)
        self._lock = threading.Lock()
        self._last_seen: dict[str, float] = {}
        self._presses = PressTracker()
        self._mapper = CommandMapper(self.config.mapping)
        self._time = time.monotonic()
        self._stop = threading.Event()
        tty.setcbreak(self._fd)
        atexit.register(self.close)
        self._thread = threading.Thread(target=self._run, name="keyboard-teleop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = b""
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self._fd], [], [], 0.05)
                if not ready:
                    continue
                try:
                    chunk = os.read(self._fd, 256)
                except OSError:
                    return  # terminal gone (pty closed): stop reading
                if not chunk:
                    return
                keys, rest = split_keys((pending + chunk).decode("latin-1"))
                pending = rest.encode("latin-1")
                self._on_keys(keys, time.monotonic())
        finally:
            self._restore()

    def _on_keys(self, keys: list[str], now: float) -> None:
        with self._lock:
            for key in keys:
                if key in MOTION_KEYS:
                    self._last_seen[key] = now
                elif key in BUTTON_KEYS:
                    self._presses.press(BUTTON_KEYS[key])
                self._time = now

    def held_axes(self, now: float) -> np.ndarray:
        """(6,) axes from the keys seen within `hold_s` of `now` (opposite keys cancel)."""
        axes = np.zeros(6)
        with self._lock:
            for key, seen in self._last_seen.items():
                if now - seen <= self.config.hold_s:
                    axis, direction = MOTION_KEYS[key]
                    axes[axis] += direction
        return np.clip(axes, -1.0, 1.0)

    def read(self) -> TeleopCommand:
        now = time.monotonic()
        axes = self.held_axes(now)
        with self._lock:
            pressed = self._presses.take()
            t = self._time
        return self._mapper(t, axes, frozenset(), pressed)

    def _restore(self) -> None:
        try:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        except (termios.error, OSError):
            pass  # the terminal is already gone

    def close(self) -> None:
        """Stop the reader thread and restore the terminal mode (idempotent; also runs at exit)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=1.0)
        self._restore()
        if self._own_fd:
            os.close(self._fd)
        atexit.unregister(self.close)

    def help(self) -> str:
        return HELP


def _open_tty(path: str | None) -> tuple[int, bool]:
    if path is not None:
        return os.open(path, os.O_RDONLY | os.O_NOCTTY), True
    if sys.stdin is not None and sys.stdin.isatty():
        return sys.stdin.fileno(), False
    try:
        return os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY), True
    except OSError as e:
        raise RuntimeError("keyboard teleop needs a terminal: stdin is not a TTY and /dev/tty cannot be "
                           f"opened ({e}); run it in a terminal or pass KeyboardConfig(tty=...)") from e
