"""`LearnedReward`: a gymnasium wrapper that replaces the environment's privileged success with a reward
model (what the fine-tuner and the episode runner use on a real robot, and on the mirror to measure it).

Per step: (prob, flag) = reward_model(next_obs); reward = float(flag) ("flag", the sparse success reward)
or prob ("prob"); the episode terminates when the flag rises (`terminate`). The environment's own success
becomes `info["privileged_success"]` (on hardware it is whatever the env reports — usually nothing).
Build the mirror env with `terminate_on_success=False` so only the learned flag ends episodes.
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym

from robot_rl.rewards.base import RewardModel


class LearnedReward(gym.Wrapper):
    def __init__(self, env: gym.Env, reward_model: RewardModel, mode: Literal["flag", "prob"] = "flag",
                 terminate: bool = True) -> None:
        super().__init__(env)
        self.reward_model, self.mode, self.terminate = reward_model, mode, terminate

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        self.reward_model.reset()
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, _, terminated, truncated, info = self.env.step(action)
        prob, flag = self.reward_model(obs)
        info = {**info, "privileged_success": info.get("success"), "success": flag, "success_prob": prob}
        reward = float(flag) if self.mode == "flag" else float(prob)
        return obs, reward, terminated or (self.terminate and flag), truncated, info
