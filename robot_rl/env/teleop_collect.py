"""Human-teleoperated episodes on a RobotEnv, written to an EpisodeStore (`robot-rl sim collect --teleop`).

Each control step (paced to the task's control rate in wall-clock time, so a human can react) the
device's command becomes the action, engaged or not. Buttons end the episode: success → commit with
success=True; discard → drop it; next episode → commit labelled by the task's success predicate. The
episode also ends at the task's episode length (or when the predicate ends it), labelled by the
predicate. A live MuJoCo viewer opens when a display exists; otherwise status lines are printed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import numpy as np

from robot_rl.drivers.teleop_base import TeleopDevice, teleop_to_action

DISCARDED = "discarded"


def has_display() -> bool:
    """True when an X11 or Wayland display is available for a viewer window."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_viewer(env):
    """A passive MuJoCo viewer on the env's sim, or None (no display, or the viewer failed to open)."""
    if not has_display():
        return None
    try:
        import mujoco.viewer

        return mujoco.viewer.launch_passive(env.sim.model, env.sim.data)
    except Exception as e:  # no GL / GLFW on this machine: status lines instead
        print(f"no live view ({type(e).__name__}: {e}); printing status lines", flush=True)
        return None


def record_teleop_episode(env, db, device: TeleopDevice, task: str, seed: int, viewer=None,
                          status: Callable[[str], None] | None = None) -> bool | str:
    """Record one episode driven by `device`; returns its success label, or DISCARDED.

    Store keys and step layout are the same as for scripted demos; the episode info carries
    `teleop` (device name), `ended_by` (success / discard / next_episode / time_limit / predicate),
    `predicate` (the task's success predicate at the end) and `engaged_steps`."""
    status = status or (lambda line: print(line, flush=True))
    cfg = env.task.config
    obs, info = env.reset(seed=seed)
    device.reset()
    writer = db.begin_episode(source="demo", task=task, seed=seed, teleop=device.name, noise=0.0,
                              rig="mujoco_mirror")
    status(f"episode seed {seed}: go ({cfg.episode_steps} steps max)")
    try:
        label = _run(env, device, writer, obs, info, viewer, status)
    except BaseException:
        writer.discard()
        raise
    return label


def _run(env, device: TeleopDevice, writer, obs: dict, info: dict, viewer, status) -> bool | str:
    cfg = env.task.config
    period, engaged_steps, ended_by = 1.0 / cfg.control_hz, 0, "time_limit"
    tick = time.monotonic()
    for k in range(1, cfg.episode_steps + 1):
        cmd = device.read()
        if cmd.discard:
            writer.discard()
            status(f"  discarded at step {k - 1}")
            return DISCARDED
        action = teleop_to_action(cmd)
        t = info["time"]
        next_obs, reward, terminated, truncated, info = env.step(action)
        step = {"action": action, "reward": np.float32(reward), "terminal": terminated or cmd.success,
                "time": t}
        writer.append(obs | step)
        obs = next_obs
        engaged_steps += cmd.engaged
        if viewer is not None:
            viewer.sync()
        if k % max(1, round(cfg.control_hz)) == 0 or cmd.success or cmd.next_episode:
            grip = "open" if cmd.gripper > 0.5 else "closed"
            status(f"  step {k:4d}/{cfg.episode_steps}  success={bool(info['success'])}  gripper={grip}"
                   f"{'  [engaged]' if cmd.engaged else ''}")
        if cmd.success or cmd.next_episode or terminated or truncated:
            ended_by = ("success" if cmd.success else "next_episode" if cmd.next_episode
                        else "predicate" if terminated else "time_limit")
            break
        tick += period
        time.sleep(max(0.0, tick - time.monotonic()))
    predicate = bool(info["success"])
    label = True if ended_by == "success" else predicate
    writer.commit(success=label, ended_by=ended_by, predicate=predicate, engaged_steps=int(engaged_steps))
    status(f"  committed: success={label} (ended by {ended_by}, {engaged_steps} engaged steps)")
    return label


def collect_teleop(env, db, device: TeleopDevice, task: str, first_seed: int,
                   episodes: int) -> tuple[int, int]:
    """Record `episodes` committed episodes (discarded ones do not count); returns (recorded, successful).

    Attempt j uses seed first_seed + j, so a discarded scene is not repeated. Ctrl-C drops the episode
    in flight and stops; committed episodes stay."""
    print(device.help(), flush=True)
    viewer = open_viewer(env)
    view = "live viewer open" if viewer is not None else "no display: status lines only"
    print(f"recording {episodes} episodes of {task}; {view}", flush=True)
    n_done = n_success = attempt = 0
    try:
        while n_done < episodes:
            label = record_teleop_episode(env, db, device, task, first_seed + attempt, viewer)
            attempt += 1
            if label == DISCARDED:
                continue
            n_done += 1
            n_success += bool(label)
            print(f"[{n_done}/{episodes}] {n_success} successful", flush=True)
    except KeyboardInterrupt:
        print(f"\ninterrupted: the episode in flight was dropped; {n_done} recorded", flush=True)
    finally:
        if viewer is not None:
            viewer.close()
    sys.stdout.flush()
    return n_done, n_success
