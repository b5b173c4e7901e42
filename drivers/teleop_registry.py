"""Teleop devices by name (`robot-rl sim collect --teleop NAME`): an explicit dict, no import side effects.

Each factory imports its device module lazily (a missing optional dependency only matters for the
device that needs it) and takes an optional config of that device's config class.
"""

from __future__ import annotations

from collections.abc import Callable

from robot_rl.drivers.teleop_base import TeleopDevice


def _keyboard(config=None) -> TeleopDevice:
    from robot_rl.drivers.keyboard_teleop import KeyboardTeleop

    return KeyboardTeleop(config)


def _spacemouse(config=None) -> TeleopDevice:
    from robot_rl.drivers.spacemouse import SpaceMouse

    return SpaceMouse(config)


def _gamepad(config=None) -> TeleopDevice:
    from robot_rl.drivers.gamepad import Gamepad

    return Gamepad(config)


TELEOP_DEVICES: dict[str, Callable[..., TeleopDevice]] = {
    "keyboard": _keyboard,
    "spacemouse": _spacemouse,
    "gamepad": _gamepad,
}
"""name → factory(config=None) returning an open TeleopDevice."""


def make_teleop(name: str, config=None) -> TeleopDevice:
    """Open the teleop device registered as `name` (KeyError lists the known names)."""
    if name not in TELEOP_DEVICES:
        raise KeyError(f"unknown teleop device {name!r}; known: {sorted(TELEOP_DEVICES)}")
    return TELEOP_DEVICES[name](config)
