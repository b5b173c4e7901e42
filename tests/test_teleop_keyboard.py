"""Keyboard teleop through a real pseudo-terminal: key bytes written to the master side come out as
commands; the terminal mode is changed while open and restored on close."""

from __future__ import annotations

import os
import termios
import time

import numpy as np
import pytest

from robot_rl.drivers.keyboard_teleop import KeyboardConfig, KeyboardTeleop, split_keys


@pytest.fixture()
def pty_keyboard():
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    kb = KeyboardTeleop(KeyboardConfig(tty=os.ttyname(slave), hold_s=0.15))
    yield kb, master, slave, before
    kb.close()
    os.close(master)
    os.close(slave)


def wait_for(kb: KeyboardTeleop, pred, timeout: float = 1.0):
    """Read until `pred(cmd)` holds (the reader thread needs a moment); returns the command."""
    deadline = time.monotonic() + timeout
    while True:
        cmd = kb.read()
        if pred(cmd) or time.monotonic() > deadline:
            return cmd
        time.sleep(0.005)


def test_split_keys_handles_letters_arrows_and_partial_escapes():
    assert split_keys("wA \r\x7f") == (["w", "a", " ", "\r", "\x7f"], "")
    assert split_keys("\x1b[A\x1bOD") == (["UP", "LEFT"], "")
    assert split_keys("w\x1b[") == (["w"], "\x1b[")
    assert split_keys("\x1b[1;5Cs") == (["s"], "")  # unknown CSI sequence (ctrl+right) dropped


def test_cbreak_mode_while_open_and_restored_on_close():
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    assert before[3] & termios.ICANON and before[3] & termios.ECHO
    kb = KeyboardTeleop(KeyboardConfig(tty=os.ttyname(slave)))
    during = termios.tcgetattr(slave)
    assert not during[3] & termios.ICANON and not during[3] & termios.ECHO
    kb.close()
    kb.close()  # idempotent
    assert termios.tcgetattr(slave) == before
    os.close(master)
    os.close(slave)


def test_motion_keys_move_in_the_base_frame_and_decay_after_release(pty_keyboard):
    kb, master, _, _ = pty_keyboard
    assert not kb.read().engaged
    os.write(master, b"w")
    cmd = wait_for(kb, lambda c: c.engaged)
    np.testing.assert_allclose(cmd.twist, [1, 0, 0, 0, 0, 0])
    t0 = time.monotonic()
    cmd = wait_for(kb, lambda c: not c.engaged)  # no repeat: the key counts as released
    assert not cmd.engaged and not cmd.twist.any()
    assert 0.1 < time.monotonic() - t0 < 0.5
    os.write(master, b"dR")  # two keys at once: -y and +z (upper case is the same key)
    np.testing.assert_allclose(wait_for(kb, lambda c: c.engaged).twist, [0, -1, 1, 0, 0, 0])


def test_auto_repeat_keeps_the_key_held(pty_keyboard):
    kb, master, _, _ = pty_keyboard
    engaged = []
    for _ in range(8):  # a terminal repeating a held key at ~30 Hz
        os.write(master, b"\x1b[A")
        time.sleep(0.035)
        engaged.append(kb.read().engaged)
    assert all(engaged[1:])
    np.testing.assert_allclose(kb.read().twist, [0, 0, 0, 0, 1, 0])  # up arrow = +pitch


def test_arrow_split_across_reads_and_rotation_keys(pty_keyboard):
    kb, master, _, _ = pty_keyboard
    os.write(master, b"\x1b[")
    time.sleep(0.08)
    os.write(master, b"D")
    np.testing.assert_allclose(wait_for(kb, lambda c: c.engaged).twist, [0, 0, 0, 0, 0, 1])  # left = +yaw
    wait_for(kb, lambda c: not c.engaged)
    os.write(master, b"uk")
    np.testing.assert_allclose(wait_for(kb, lambda c: c.engaged).twist, [0, 0, 0, 1, -1, 0])


def test_buttons_are_one_shot_events(pty_keyboard):
    kb, master, _, _ = pty_keyboard
    os.write(master, b" ")
    cmd = wait_for(kb, lambda c: c.gripper == 0.0)
    assert cmd.gripper == 0.0 and cmd.engaged
    assert kb.read().gripper == 0.0  # stays closed until toggled again
    os.write(master, b"\r")
    assert wait_for(kb, lambda c: c.success).success
    assert not kb.read().success
    os.write(master, b"\x7f")
    assert wait_for(kb, lambda c: c.discard).discard
    os.write(master, b"n")
    cmd = wait_for(kb, lambda c: c.next_episode)
    assert cmd.next_episode and not cmd.success and not cmd.discard
    os.write(master, b" ")
    assert wait_for(kb, lambda c: c.gripper == 1.0).gripper == 1.0
    kb.reset()
    assert kb.read().gripper == 1.0
