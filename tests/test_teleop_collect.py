"""`robot-rl sim collect --teleop keyboard` end to end: a subprocess whose stdin is a pseudo-terminal,
driven by key bytes written to the master side, records episodes into a real EpisodeStore."""

from __future__ import annotations

import os
import queue
import struct
import subprocess
import sys
import threading
import time

import numpy as np

from robot_rl.data.store import EpisodeStore

CHILD = """
import sys
from pathlib import Path
from robot_rl.env.cli import collect
sys.exit(collect("pick_cube", episodes=2, store=Path(sys.argv[1]), teleop="keyboard", images=False))
"""


class Child:
    def __init__(self, store) -> None:
        self.master, slave = os.openpty()
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        self.proc = subprocess.Popen([sys.executable, "-u", "-c", CHILD, str(store)], stdin=slave,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def expect(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.log.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} never printed; output:\n{''.join(self.log)}")

    def keys(self, data: bytes) -> None:
        os.write(self.master, data)


def test_keyboard_collect_through_a_pty(tmp_path):
    store = tmp_path / "teleop.zarr"
    child = Child(store)
    try:
        child.expect("space  toggle gripper")  # the controls help
        child.expect("episode seed 0: go")
        child.keys(b"\x7f")  # backspace: discard
        child.expect("discarded")
        child.expect("episode seed 1: go")
        for _ in range(15):  # hold w (auto-repeat) for ~0.6 s: forward
            child.keys(b"w")
            time.sleep(0.04)
        child.keys(b" ")  # close the gripper
        time.sleep(0.3)
        child.keys(b"\r")  # enter: success
        assert "success=True" in child.expect("committed")
        child.expect("episode seed 2: go")
        child.keys(b"n")  # next episode: labelled by the predicate (cube not lifted)
        assert "success=False" in child.expect("committed")
        assert child.proc.wait(timeout=30) == 0
    finally:
        child.proc.kill()
        child.proc.wait()
        os.close(child.master)
    db = EpisodeStore.open(store)
    assert db.n_episodes == 2
    first, second = db.all_meta()
    assert first.success == 1 and first.source == "demo"
    assert first.info["teleop"] == "keyboard" and first.info["ended_by"] == "success"
    assert first.info["seed"] == 1 and first.info["engaged_steps"] > 0
    ep = db.read_episode(0)
    x = ep["action"][:, 0]
    assert x.max() == 1.0 and (x > 0).sum() >= 3  # moved forward for several steps
    assert ep["action"][0, 6] == 1.0 and ep["action"][-1, 6] == -1.0  # gripper open, then closed
    assert ep["terminal"][-1] and not ep["terminal"][:-1].any()
    assert ep["state/ee_pos"][-1, 0] > ep["state/ee_pos"][0, 0] + 0.02  # the arm really moved forward
    assert second.success == 0 and second.info["ended_by"] == "next_episode" and second.info["seed"] == 2
    assert not np.abs(db.read_episode(1)["action"][:, :6]).any()  # nobody touched the keys


class FramedReplay:
    """Recorded SpaceMouse reports grouped per control step: each SpaceMouse.read() drains one group.
    A group equal to "ctrl-c" raises KeyboardInterrupt, as the operator pressing Ctrl-C would."""

    def __init__(self, frames: list) -> None:
        self.frames, self.current = list(frames), None

    def read(self, n: int) -> list[int]:
        if self.current is None:
            frame = self.frames.pop(0) if self.frames else []
            if frame == "ctrl-c":
                raise KeyboardInterrupt
            self.current = list(frame)
        if self.current:
            return list(self.current.pop(0))
        self.current = None
        return []


def test_spacemouse_episodes_in_process_and_ctrl_c_keeps_committed_episodes(tmp_path):
    from robot_rl.drivers.spacemouse import SpaceMouse
    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.env.specs import episode_specs
    from robot_rl.env.teleop_collect import collect_teleop

    push_away = [bytes([1]) + struct.pack("<6h", 0, -350, 0, 0, 0, 0)]  # 13-byte report: forward
    release = [bytes([1]) + bytes(12)]
    click = [bytes.fromhex("0301"), bytes.fromhex("0300")]  # left button: gripper
    success = [bytes.fromhex("0302"), bytes.fromhex("0300")]  # right button: success
    frames = [[], push_away, [], [], release + click, success,  # reset, 5 steps, success
              [], [], "ctrl-c"]  # reset, one idle step, then Ctrl-C mid-episode
    env = RobotEnv("pick_cube", images=False)
    db = EpisodeStore.create(tmp_path / "sm.zarr", episode_specs(env.observation_space), {})
    with db, SpaceMouse(hid_device=FramedReplay(frames)) as device:
        assert collect_teleop(env, db, device, "pick_cube", 0, episodes=3) == (1, 1)
    env.close()
    db = EpisodeStore.open(tmp_path / "sm.zarr")
    assert db.n_episodes == 1 and db.n_steps == 5  # the interrupted episode left nothing behind
    meta = db.episode_meta(0)
    assert meta.success == 1 and meta.info["teleop"] == "spacemouse" and meta.info["engaged_steps"] == 4
    a = db.read_episode(0)["action"]
    np.testing.assert_allclose(a[:, 0], [1, 1, 1, 0, 0])  # operator behind the robot: away = base +x
    np.testing.assert_allclose(a[:, 6], [1, 1, 1, -1, -1])


def test_missing_device_fails_cleanly_without_creating_a_store(tmp_path, capsys):
    from robot_rl.cli import main

    for name, message in [("gamepad", "gamepad"), ("spacemouse", "SpaceMouse")]:
        path = tmp_path / f"{name}.zarr"
        assert main(["sim", "collect", "--task", "pick_cube", "--teleop", name, "--store", str(path)]) == 1
        assert message in capsys.readouterr().err and not path.exists()
