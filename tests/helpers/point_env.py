"""A tiny gymnasium environment with a Box observation, a scripted expert and a demo-store writer,
for tests of the generic (non-mirror) training and evaluation entry.

PointReach-v0: a point in [-1, 1]^2 moves by 0.2 * action per step toward a goal; observation
(x, y, goal_x, goal_y); success (terminates) within 0.1 of the goal; 25 steps at most.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore

ENV_ID = "tests.helpers.point_env:PointReach-v0"


class PointReach(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.render_mode = render_mode
        self.pos = self.goal = np.zeros(2, np.float32)
        self.steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-0.8, 0.8, 2).astype(np.float32)
        self.goal = self.np_random.uniform(-0.8, 0.8, 2).astype(np.float32)
        self.steps = 0
        return self._obs(), {}

    def step(self, action):
        self.pos = np.clip(self.pos + 0.2 * np.clip(action, -1, 1), -1, 1).astype(np.float32)
        self.steps += 1
        success = bool(np.linalg.norm(self.pos - self.goal) < 0.1)
        return self._obs(), float(success), success, self.steps >= 25 and not success, {"success": success}

    def render(self):
        img = np.zeros((32, 32, 3), np.uint8)
        for p, c in ((self.goal, 1), (self.pos, 0)):
            i, j = ((p + 1) / 2 * 31).astype(int)
            img[j, i, c] = 255
        return img

    def expert(self) -> np.ndarray:
        return np.clip((self.goal - self.pos) / 0.2, -1, 1).astype(np.float32)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.pos, self.goal]).astype(np.float32)


gym.register("PointReach-v0", entry_point=PointReach)

SPECS = {"state/obs": KeySpec((4,), "float32"), "action": KeySpec((2,), "float32"),
         "reward": KeySpec((), "float32"), "terminal": KeySpec((), "bool")}


def write_demos(path: Path, episodes: int, seed: int = 0) -> Path:
    """Record `episodes` expert episodes into a new EpisodeStore at `path`."""
    env = PointReach()
    with EpisodeStore.create(path, SPECS) as store:
        for k in range(episodes):
            obs, _ = env.reset(seed=seed + k)
            writer = store.begin_episode(source="demo")
            done = False
            while not done:
                action = env.expert()
                nxt, reward, term, trunc, info = env.step(action)
                writer.append({"state/obs": obs, "action": action, "reward": np.float32(reward),
                               "terminal": term})
                obs, done = nxt, term or trunc
            writer.commit(success=info["success"])
    return path
