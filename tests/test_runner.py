"""Episode runner: latency-compensated chunk scheduling (pure + wall-clock executor on an injected clock),
online / intervention episodes with the right store keys, teleop actions replacing the policy's."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from robot_rl.data.store import EpisodeStore
from robot_rl.drivers.teleop_base import TeleopCommand, teleop_to_action
from robot_rl.env.robot_env import RobotEnv
from robot_rl.resets.teleport import TeleportReset
from robot_rl.rl.executor import ChunkStats, ExecutorConfig, RealTimeExecutor, schedule_chunk
from robot_rl.rl.interfaces import ExpertChunkPolicy, MirrorReward, ModelReward
from robot_rl.rl.runner import EpisodeRunner, RunnerConfig, practice_specs, summarize
from robot_rl.tasks.registry import make_task


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def sleep(self, dt: float) -> None:
        assert dt >= 0
        self.t += dt


def test_schedule_drops_actions_late_on_arrival():
    idx, due = schedule_chunk(obs_time=10.0, n=8, dt=0.1, now=10.25, exec_latency=0.01)
    np.testing.assert_array_equal(idx, [3, 4, 5, 6, 7])
    np.testing.assert_allclose(due, 10.0 + 0.1 * np.arange(3, 8))
    idx, _ = schedule_chunk(10.0, 8, 0.1, now=10.0)  # no latency: only action 0 (due now) is late
    np.testing.assert_array_equal(idx, np.arange(1, 8))
    idx, _ = schedule_chunk(10.0, 8, 0.1, now=10.0, offset=1.0)  # offset shifts every stamp by one period
    np.testing.assert_array_equal(idx, np.arange(8))


def test_schedule_all_late_keeps_last_at_next_tick():
    idx, due = schedule_chunk(obs_time=0.0, n=4, dt=0.1, now=1.03)
    np.testing.assert_array_equal(idx, [3])
    assert due[0] == pytest.approx(1.1)


def test_real_time_executor_streams_on_time_after_a_slow_policy():
    clock = FakeClock()
    ex = RealTimeExecutor(0.1, ExecutorConfig(real_time=True, n_action_steps=8), clock, clock.sleep)
    obs_time = clock()
    clock.t += 0.25  # inference latency of 2.5 control periods
    applied: list[tuple[float, float]] = []
    chunk = np.arange(8, dtype=np.float32)[:, None].repeat(7, 1)
    stats = ex.run(chunk, obs_time, lambda a: applied.append((clock(), float(a[0]))) or False)
    assert stats == ChunkStats(executed=5, dropped=3, overruns=0)
    assert [a for _, a in applied] == [3, 4, 5, 6, 7]
    np.testing.assert_allclose([t for t, _ in applied], obs_time + 0.1 * np.arange(3, 8))


class ScriptedTeleop:
    """Engaged (pushing +z) on reads listed in `engaged_reads`, idle otherwise."""

    name = "stub"

    def __init__(self, engaged_reads: set[int]) -> None:
        self.engaged_reads, self.n = engaged_reads, 0

    def read(self) -> TeleopCommand:
        engaged = self.n in self.engaged_reads
        self.n += 1
        twist = np.array([0, 0, 0.5 if engaged else 0.0, 0, 0, 0])
        return TeleopCommand(0.0, twist, gripper=1.0, engaged=engaged)

    def reset(self) -> None:
        pass


def _short_env(steps: int = 20) -> RobotEnv:
    task = make_task("pick_cube")
    task.config = dataclasses.replace(task.config, episode_steps=steps)
    return RobotEnv(task, images=False)


def test_runner_writes_online_and_intervention_episodes(tmp_path):
    env = _short_env()
    log = tmp_path / "log.jsonl"
    db = EpisodeStore.create(tmp_path / "p.zarr", practice_specs(env.observation_space))
    teleop = ScriptedTeleop(engaged_reads={25, 26, 27})  # steps 5-7 of the second episode
    cfg = RunnerConfig(episodes=2, log=str(log), progress=False)
    policy = ExpertChunkPolicy(env.task, noise=0.0, horizon=8)
    records = EpisodeRunner(env, policy, MirrorReward(), TeleportReset(), db, cfg, teleop=teleop).run()
    assert [r["source"] for r in records] == ["online", "intervention"]
    assert [m.source for m in db.all_meta()] == ["online", "intervention"]
    assert set(db.keys) == set(practice_specs(env.observation_space))
    ep0, ep1 = db.read_episode(0), db.read_episode(1)
    assert len(ep0["action"]) == 20 and not ep0["intervention"].any()
    np.testing.assert_array_equal(np.flatnonzero(ep1["intervention"]), [5, 6, 7])
    expected = teleop_to_action(TeleopCommand(0.0, np.array([0, 0, 0.5, 0, 0, 0]), 1.0, True))
    np.testing.assert_array_equal(ep1["action"][5], expected)  # the human's action replaced the policy's
    assert not np.allclose(ep1["action"][4], expected)
    np.testing.assert_allclose(np.diff(ep1["time"]), 0.1, atol=1e-9)
    assert db.episode_meta(1).info["intervention_steps"] == 3
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [x["episode"] for x in lines] == [0, 1] and lines[0]["reset"]["verified"]
    assert lines[0]["reset"]["attempts"][0]["strategy"] == "teleport"
    db.close()
    env.close()


def test_runner_real_time_path_drops_late_actions(tmp_path):
    env = _short_env(steps=16)
    clock = FakeClock()
    db = EpisodeStore.create(tmp_path / "p.zarr", practice_specs(env.observation_space))
    expert = ExpertChunkPolicy(env.task, horizon=8)

    class Slow:
        name = "slow_expert"

        def reset(self) -> None:
            expert.reset()

        def __call__(self, obs):
            clock.t += 0.25  # 250 ms of inference: actions 0-2 of each chunk are late
            return expert(obs)

    cfg = RunnerConfig(episodes=1, progress=False, executor=ExecutorConfig(real_time=True))
    runner = EpisodeRunner(env, Slow(), MirrorReward(), TeleportReset(), db, cfg, clock=clock,
                           sleep=clock.sleep)
    (rec,) = runner.run()
    assert rec["length"] == 16 and rec["dropped_actions"] == 3 * 4  # 16 steps = 4 chunks of 5 - 4
    assert summarize([rec])["dropped_actions"] == 12
    db.close()
    env.close()


def test_model_reward_adapter():
    class Model:
        def __init__(self) -> None:
            self.calls = 0

        def reset(self) -> None:
            self.calls = 0

        def __call__(self, obs):
            self.calls += 1
            return 0.9, self.calls >= 2

    r = ModelReward(Model())
    r.reset()
    assert r({}, {}) == (0.0, False) and r({}, {}) == (1.0, True) and r.last_probability == 0.9


def test_runner_hands_the_policy_every_step_observation(tmp_path):
    """The policy's observation window must hold consecutive steps, as in training, not one observation
    per re-plan (8 steps apart), which halved a pretrained policy's success."""
    from robot_rl.rl.interfaces import ObsWindow

    env = _short_env(steps=20)
    db = EpisodeStore.create(tmp_path / "p.zarr", practice_specs(env.observation_space))
    expert = ExpertChunkPolicy(env.task, horizon=8)

    class Windowed:
        name = "windowed"

        def __init__(self) -> None:
            self.window, self.plans = ObsWindow(2), []

        def reset(self) -> None:
            self.window.clear()
            expert.reset()

        def observe(self, obs) -> None:
            self.window.push(obs)

        def __call__(self, obs):
            self.window.push(obs)  # the observation just handed over: not added twice
            self.plans.append([float(o["state/ee_pos"][2]) for o in self.window.items])
            return expert(obs)

    policy = Windowed()
    runner = EpisodeRunner(env, policy, MirrorReward(), TeleportReset(), db, RunnerConfig(episodes=1,
                                                                                           progress=False))
    (rec,) = runner.run()
    assert rec["length"] == 20 and len(policy.plans) == 3
    assert policy.plans[0][0] == policy.plans[0][1]  # episode start: the first observation repeated
    ep = db.read_episode(rec["store_index"])
    z = ep["state/ee_pos"][:, 2]
    for k, plan in enumerate(policy.plans[1:], start=1):  # re-plan at step 8k: window = steps 8k-1, 8k
        np.testing.assert_allclose(plan, z[8 * k - 1:8 * k + 1])
    db.close()
    env.close()
