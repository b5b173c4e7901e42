"""`robot-rl sim ...`: demonstrations and rollouts on the MuJoCo mirror."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Literal

import numpy as np

from robot_rl.tasks.registry import TASKS

TaskName = Literal[tuple(TASKS)]  # type: ignore[valid-type]
Demonstrator = Literal["expert", "keyboard", "spacemouse", "gamepad"]


def collect(task: TaskName, episodes: int = 20, store: Path = Path("out/sim_demos.zarr"),
            teleop: Demonstrator = "expert", noise: float = 0.0, seed: int | None = None,
            images: bool = True, image_size: int = 128) -> int:
    """Record demonstrations of a task on the MuJoCo mirror into an EpisodeStore (zarr).

    Every episode is written with its success label: the task's own predicate for the scripted
    expert; with a human device (keyboard, SpaceMouse, gamepad) the device's command is the action at
    every control step (paced to the task's control rate), and its buttons end the episode: success
    (label True), discard (dropped, not counted), next episode (label = the predicate). Episodes also
    end at the task's episode length. Controls are printed at start; a live viewer opens when a
    display exists, otherwise status lines are printed.

    Args:
        task: Registered task name.
        episodes: Number of episodes to record.
        store: Store directory; created if missing, appended to if it exists with the same keys.
        teleop: Who demonstrates: "expert" (the task's scripted expert), or a human through
            "keyboard" (this terminal), "spacemouse" (3Dconnexion, hidapi) or "gamepad" (evdev).
        noise: Std of Gaussian noise on the expert's normalised actions (0 = clean demos).
        seed: Seed of the first episode (episode k uses seed + k); default: the number of episodes
            already in the store, so appending never repeats a scene.
        images: Record the task's cameras (off: state-only, much faster).
        image_size: Side of the square camera images, pixels.
    """
    from tqdm import tqdm

    from robot_rl.data.store import EpisodeStore
    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.env.specs import episode_specs

    device = None
    if teleop != "expert":  # open the device first: a missing device must not leave a new empty store
        from robot_rl.drivers.teleop_registry import make_teleop

        try:
            device = make_teleop(teleop)
        except (RuntimeError, ImportError) as e:
            print(f"robot-rl sim collect: {e}", file=sys.stderr)
            return 1
    try:
        env = RobotEnv(task, images=images, image_size=(image_size, image_size))
        cfg = env.task.config
        attrs = {"task": task, "prompt": env.task.prompt(), "task_config": dataclasses.asdict(cfg),
                 "controller": dataclasses.asdict(env.sim.controller.cfg),
                 "safety": dataclasses.asdict(cfg.safety()),
                 "rig": "mujoco_mirror", "recorded_by": "robot-rl sim collect"}
        db = EpisodeStore.create(store, episode_specs(env.observation_space), attrs, exist_ok=True)
    except BaseException:
        if device is not None:
            device.close()  # e.g. give the terminal back before the traceback prints
        raise
    first = db.n_episodes if seed is None else seed
    if device is not None:
        return _collect_human(env, db, device, store, task, first, episodes)
    n_success = 0
    with db, tqdm(range(episodes), desc=f"collect {task}", unit="ep") as bar:
        for k in bar:
            success = _record_episode(env, db, task, first + k, noise, teleop)
            n_success += success
            bar.set_postfix(success=f"{n_success}/{k + 1}")
        total = db.n_episodes
    env.close()
    print(f"{store}: recorded {episodes} episodes of {task} ({n_success} successful); "
          f"{total} episodes in store")
    return 0


def _collect_human(env, db, device, store: Path, task: str, first: int, episodes: int) -> int:
    from robot_rl.env.teleop_collect import collect_teleop

    try:
        with db, device:
            n_done, n_success = collect_teleop(env, db, device, task, first, episodes)
            total = db.n_episodes
    finally:
        env.close()
    print(f"{store}: recorded {n_done} episodes of {task} by {device.name} ({n_success} successful); "
          f"{total} episodes in store")
    return 0


def _record_episode(env, db, task: str, seed: int, noise: float, teleop: str) -> bool:
    obs, info = env.reset(seed=seed)
    expert = env.task.expert(noise, np.random.default_rng(seed))
    writer = db.begin_episode(source="demo", task=task, seed=seed, teleop=teleop, noise=noise,
                              rig="mujoco_mirror")
    while True:
        action = expert.act(info["state"])
        t = info["time"]
        next_obs, reward, terminated, truncated, info = env.step(action)
        step = {"action": action, "reward": np.float32(reward), "terminal": terminated, "time": t}
        writer.append(obs | step)
        obs = next_obs
        if terminated or truncated:
            break
    writer.commit(success=bool(info["success"]))
    return bool(info["success"])


def render(task: TaskName, out: Path = Path("out/rollout.mp4"), seed: int = 0, size: int = 256,
           noise: float = 0.0, frames: int = 8) -> int:
    """Roll out the scripted expert once and show it: a video (.mp4/.gif) or a contact sheet (.png).

    Each frame shows the front camera and the wrist camera side by side.

    Args:
        task: Registered task name.
        out: Output file; .mp4 or .gif writes every control step, .png a sheet of `frames` frames.
        seed: Episode seed (scene randomisation).
        size: Side of each camera image, pixels.
        noise: Std of Gaussian noise on the expert's normalised actions.
        frames: Frames on a .png contact sheet.
    """
    import imageio.v3 as iio

    from robot_rl.env.robot_env import RobotEnv

    env = RobotEnv(task, images=True, image_size=(size, size))
    obs, info = env.reset(seed=seed)
    expert = env.task.expert(noise, np.random.default_rng(seed))
    shots = [_side_by_side(obs)]
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(expert.act(info["state"]))
        shots.append(_side_by_side(obs))
        done = terminated or truncated
    env.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        iio.imwrite(out, _contact_sheet(shots, frames))
    else:
        iio.imwrite(out, np.stack(shots), fps=env.task.config.control_hz)
    print(f"{out}: {task} seed {seed}, {len(shots) - 1} steps, success={info['success']}")
    return 0


def _side_by_side(obs: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([v for k, v in obs.items() if k.startswith("image/")], axis=1)


def _contact_sheet(shots: list[np.ndarray], n: int) -> np.ndarray:
    idx = np.linspace(0, len(shots) - 1, min(n, len(shots))).round().astype(int)
    picked = [shots[i] for i in idx]
    if len(picked) % 2:
        picked.append(np.zeros_like(picked[0]))
    rows = [np.concatenate(picked[i:i + 2], axis=1) for i in range(0, len(picked), 2)]
    return np.concatenate(rows, axis=0)


COMMANDS = {"collect": collect, "render": render}
