"""Reset-free forward/backward practice on the drawer_open mirror: the loop alternates forward episodes and
backward resets without a single teleport or direct state write, logs both, and hands the improvement step
exactly the successful forward episodes; reverse demos come from the scripted reset; filtered BC trains on
demos + those episodes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from robot_rl.data.episodes import EpisodeData
from robot_rl.data.store import EpisodeStore
from robot_rl.env.robot_env import RobotEnv
from robot_rl.env.specs import episode_specs
from robot_rl.resets.backward import BackwardConfig
from robot_rl.resets.base import home_pose
from robot_rl.resets.reset_free import FilteredBC, ResetFreeConfig, ResetFreePractice, record_reverse_demos
from robot_rl.rl.interfaces import ExpertChunkPolicy
from robot_rl.rl.runner import practice_specs


class ScriptBackward:
    """The scripted reset as a backward chunk policy (one action per chunk): a perfect learned one."""

    name = "script_backward"

    def __init__(self, env: RobotEnv) -> None:
        self.env, self.resets = env, 0

    def reset(self) -> None:
        self.script = self.env.task.reset_script(home_pose(self.env), np.random.default_rng(self.resets))
        self.resets += 1

    def __call__(self, obs):
        return self.script.act(self.env.full_state())[None]


class FlakyForward:
    """A noisy expert (closed loop: one action per chunk) on even episodes, idle (sure to fail) on odd."""

    name = "flaky_forward"

    def __init__(self, env: RobotEnv) -> None:
        self.expert, self.episode = ExpertChunkPolicy(env.task, noise=0.05, horizon=1, seed=0), -1

    def reset(self) -> None:
        self.episode += 1
        self.expert.reset()

    def __call__(self, obs):
        return self.expert(obs) if self.episode % 2 == 0 else np.zeros((8, 7), np.float32)


def _no_teleports(env: RobotEnv) -> None:
    """Any teleport or direct simulator write fails the test."""
    def refuse(*_a, **_k):
        raise AssertionError("reset-free practice teleported or wrote the simulator state")

    env.sim.forward = env.sim.set_arm = env.sim.reset = refuse
    keep = env.reset

    def reset(*, seed=None, options=None):
        if seed is not None or (options or {}).get("teleport", True):
            refuse()
        return keep(options=options)

    env.reset = reset


@pytest.fixture()
def env():
    env = RobotEnv("drawer_open", images=False)
    env.reset(seed=0)  # the scene is laid out once, before practice
    yield env
    env.close()


def test_alternation_never_teleports_and_improves_on_successes_only(env, tmp_path):
    _no_teleports(env)
    calls: list[tuple[int, list[int]]] = []

    def improve(block, successes):
        calls.append((block, successes))
        return FlakyForward(env)

    log = tmp_path / "practice.jsonl"
    cfg = ResetFreeConfig(blocks=2, block_episodes=3, log=str(log))
    with EpisodeStore.create(tmp_path / "practice.zarr", practice_specs(env.observation_space)) as db:
        result = ResetFreePractice(env, FlakyForward(env), ScriptBackward(env), db, cfg, improve).run()
        success = {i: db.episode_meta(i).success for i in range(db.n_episodes)}
        assert db.n_episodes == 6 and {db.episode_meta(i).source for i in range(6)} == {"online"}
    assert len(result.records) == 6 and len(log.read_text().splitlines()) == 6
    assert json.loads(log.read_text().splitlines()[0])["forward"]["success"] is True
    # episodes 0, 2 of each block by the expert (succeed), 1 by the idle policy (fails)
    assert [r["forward"]["success"] for r in result.records] == [True, False, True] * 2
    assert all(r["backward"]["verified"] and r["start_ok"] for r in result.records)
    assert result.block_success(0) == (2, 3) and result.backward_success() == (6, 6)
    assert [b for b, _ in calls] == [0, 1]
    assert calls[0][1] == [0, 2] and calls[1][1] == [0, 2, 3, 5]
    assert all(success[i] for _, s in calls for i in s)
    assert all(a["strategy"] == "backward" for r in result.records for a in r["backward"]["attempts"])


def test_failed_backward_leaves_the_next_success_out(env, tmp_path):
    class Idle:
        name = "idle"

        def reset(self) -> None:
            pass

        def __call__(self, obs):
            return np.zeros((8, 7), np.float32)

    _no_teleports(env)
    seen = []
    cfg = ResetFreeConfig(blocks=1, block_episodes=2, backward_attempts=1,
                          backward=BackwardConfig(max_steps=16))
    forward = ExpertChunkPolicy(env.task, horizon=1, seed=0)
    with EpisodeStore.create(tmp_path / "p.zarr", practice_specs(env.observation_space)) as db:
        practice = ResetFreePractice(env, forward, Idle(), db, cfg, lambda b, s: seen.append(s) or forward)
        result = practice.run()
    # the first forward starts from the laid-out scene; the idle backward leaves the drawer open, so the
    # second "success" started from an unverified state and is not practice data
    assert [r["start_ok"] for r in result.records] == [True, False]
    assert result.records[0]["forward"]["success"] and seen == [[0]]
    assert result.backward_success() == (0, 2)


def test_reverse_demos_and_filtered_bc(env, tmp_path):
    import torch

    from robot_rl.policies.policy import PolicyConfig
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.offline import Trainer

    with EpisodeStore.create(tmp_path / "reverse.zarr", episode_specs(env.observation_space)) as db:
        assert record_reverse_demos(env, db, 2, seed=3) == 2
        assert {db.episode_meta(i).source for i in range(2)} == {"reset"}
        demos = EpisodeData.from_store(db)
    assert demos["action"].shape[1:] == (7,) and np.all(np.abs(demos["action"]) <= 1)
    assert 20 < demos.episode_lengths.min() and demos.episode_lengths.max() < 300

    tiny = PolicyConfig(horizon=8, down_dims=(8, 16), inference_steps=2)
    cfg = TrainConfig(policy=tiny, steps=10, warmup_steps=1, batch_size=8, eval_episodes=0)
    trainer = Trainer.create(cfg, demos)
    env.reset(seed=0)
    forward = ExpertChunkPolicy(env.task, horizon=1, seed=0)
    with EpisodeStore.create(tmp_path / "p.zarr", practice_specs(env.observation_space)) as db:
        improve = FilteredBC(trainer, demos, db, steps=3, out=tmp_path / "ckpt")
        result = ResetFreePractice(env, forward, ScriptBackward(env), db,
                                   ResetFreeConfig(blocks=1, block_episodes=2), improve).run()
        assert [r["forward"]["success"] for r in result.records] == [True, True]
    assert trainer.step == 3 and trainer.data.n_episodes == 2 + 2
    assert improve.calls[0]["practice_episodes"] == 2
    policy = improve(1, [])  # a demos-only update still returns a usable policy
    torch.set_num_threads(1)
    policy.reset()
    assert policy(env.observe()).shape == (8, 7)
