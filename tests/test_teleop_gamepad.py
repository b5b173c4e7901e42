"""Gamepad: `struct input_event` records (as the kernel writes them to /dev/input/eventN) streamed
through a pipe into the real read path. /dev/uinput does not exist on this machine, so no virtual
kernel device can be created; the byte stream is the same one an event node delivers."""

from __future__ import annotations

import os

import numpy as np
import pytest

from robot_rl.drivers import gamepad as gp
from robot_rl.drivers.gamepad import (
    Gamepad,
    GamepadConfig,
    GamepadState,
    normalize_abs,
    pack_event,
    parse_events,
)
from robot_rl.drivers.teleop_base import TeleopMapping

RANGES = {gp.ABS_X: (-32768, 32767), gp.ABS_Y: (-32768, 32767), gp.ABS_RX: (-32768, 32767),
          gp.ABS_RY: (0, 255), gp.ABS_HAT0X: (-1, 1), gp.ABS_HAT0Y: (-1, 1)}


@pytest.fixture()
def pad():
    r, w = os.pipe()
    cfg = GamepadConfig(mapping=TeleopMapping(deadzone=0.1))  # device frame = base frame
    dev = Gamepad(cfg, fd=r, ranges=RANGES)
    yield dev, w
    os.close(r)
    os.close(w)


def send(w: int, *events: tuple[int, int, int], t: float = 12.5) -> None:
    data = b"".join(pack_event(t, typ, code, value) for typ, code, value in events)
    os.write(w, data + pack_event(t, gp.EV_SYN, 0, 0))


def test_event_record_layout_and_partial_reads():
    rec = pack_event(1.25, gp.EV_ABS, gp.ABS_Y, -7)
    assert len(rec) == 24
    events, tail = parse_events(rec + rec[:10])
    assert events == [(1.25, gp.EV_ABS, gp.ABS_Y, -7)] and tail == rec[:10]
    events, tail = parse_events(tail + rec[10:])
    assert len(events) == 1 and tail == b""


def test_normalize_abs_uses_absinfo_range():
    assert normalize_abs(-32768, -32768, 32767) == -1.0 and normalize_abs(32767, -32768, 32767) == 1.0
    assert normalize_abs(255, 0, 255) == 1.0 and abs(normalize_abs(128, 0, 255)) < 0.01
    assert normalize_abs(1, -1, 1) == 1.0 and normalize_abs(5, 0, 0) == 0.0
    assert gp.default_range(gp.ABS_HAT0Y) == (-1, 1) and gp.default_range(gp.ABS_X) == (-32768, 32767)


def test_sticks_and_hat_map_to_axes(pad):
    dev, w = pad
    assert not dev.read().engaged
    send(w, (gp.EV_ABS, gp.ABS_X, 32767), (gp.EV_ABS, gp.ABS_Y, -32768))  # left stick up-right
    cmd = dev.read()
    assert cmd.engaged
    np.testing.assert_allclose(cmd.twist, [1, 1, 0, 0, 0, 0], atol=1e-4)
    send(w, (gp.EV_ABS, gp.ABS_X, 300), (gp.EV_ABS, gp.ABS_Y, -200),  # back near centre
         (gp.EV_ABS, gp.ABS_RY, 0), (gp.EV_ABS, gp.ABS_HAT0X, -1), (gp.EV_ABS, gp.ABS_RX, 16384))
    cmd = dev.read()
    # right stick up (RY = min of 0..255) = +z, right = -yaw (half, after deadzone), d-pad left = -roll
    np.testing.assert_allclose(cmd.twist, [0, 0, 1, -1, 0, -(0.5 - 0.1) / 0.9], atol=1e-3)


def test_buttons_toggle_gripper_engage_and_episode_events(pad):
    dev, w = pad
    send(w, (gp.EV_KEY, gp.BTN_TR, 1))
    send(w, (gp.EV_KEY, gp.BTN_TR, 0))
    send(w, (gp.EV_KEY, gp.BTN_SOUTH, 1), (gp.EV_KEY, gp.BTN_SOUTH, 0))  # click within one read
    cmd = dev.read()
    assert cmd.gripper == 0.0 and cmd.success and not cmd.discard
    assert not dev.read().success
    send(w, (gp.EV_KEY, gp.BTN_TL, 1))
    cmd = dev.read()
    assert cmd.engaged and not cmd.twist.any()  # engage held without motion
    send(w, (gp.EV_KEY, gp.BTN_TL, 0), (gp.EV_KEY, gp.BTN_EAST, 1), (gp.EV_KEY, gp.BTN_START, 1))
    cmd = dev.read()
    assert not cmd.engaged and cmd.discard and cmd.next_episode
    send(w, (gp.EV_KEY, gp.BTN_WEST, 1))  # unmapped button: ignored
    assert not dev.read().engaged


def test_state_ignores_unmapped_events_and_keeps_time():
    st = GamepadState(GamepadConfig(), {})
    st.apply(3.0, gp.EV_ABS, gp.ABS_Y, -32768)
    st.apply(4.0, gp.EV_ABS, 0x28, 5)  # ABS_MISC: not mapped
    assert st.time == 3.0
    np.testing.assert_allclose(st.axes(), [0, 1, 0, 0, 0, 0])


def test_missing_device_gives_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="cannot open gamepad"):
        Gamepad(GamepadConfig(path=str(tmp_path / "event99")))
    if not os.path.isdir("/dev/input/by-id"):
        with pytest.raises(RuntimeError, match="no gamepad found"):
            Gamepad()


def test_ioctl_request_numbers_match_linux_input_h():
    assert gp.eviocgabs(gp.ABS_X) == 0x80184540  # EVIOCGABS(0) = _IOR('E', 0x40, struct input_absinfo)
    assert gp.EVIOCSCLOCKID == 0x400445A0  # _IOW('E', 0xa0, int)
