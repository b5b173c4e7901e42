"""Reset-free forward/backward practice on the drawer_open mirror: the loop alternates forward episodes and
backward resets without a single teleport or direct state write, logs both, hands the per-pair learning hook
every forward episode with its start verdict and the improvement steps exactly the successful forward
episodes and the verified backward attempts; a fine-tuning Learner learns from every pair through the
public API; reverse demos come from the scripted reset, start from wandering end states too and end still at
the start state; the backward pass rate is measured on its own; filtered BC trains on demos + those
episodes."""

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
from robot_rl.resets.improve import FilteredBC, LearnerUpdates
from robot_rl.resets.reset_free import ResetFreeConfig, ResetFreePractice
from robot_rl.resets.reverse_demos import ReverseDemoConfig, evaluate_backward, record_reverse_demos
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


class Idle:
    name = "idle"

    def reset(self) -> None:
        pass

    def __call__(self, obs):
        return np.zeros((8, 7), np.float32)


def test_backward_attempts_are_recorded_and_verified_ones_improve_the_backward_policy(env, tmp_path):
    _no_teleports(env)
    calls: list[tuple[int, list[int]]] = []

    def improve_backward(block, successes):
        calls.append((block, successes))
        return Idle()  # from block 1 on the backward policy never reaches a start state

    cfg = ResetFreeConfig(blocks=2, block_episodes=2, backward_attempts=1)
    forward = ExpertChunkPolicy(env.task, horizon=1, seed=0)
    with (EpisodeStore.create(tmp_path / "p.zarr", practice_specs(env.observation_space)) as db,
          EpisodeStore.create(tmp_path / "b.zarr", episode_specs(env.observation_space)) as bdb):
        result = ResetFreePractice(env, forward, ScriptBackward(env), db, cfg, backward_store=bdb,
                                   improve_backward=improve_backward).run()
        metas = [bdb.episode_meta(i) for i in range(bdb.n_episodes)]
        actions = EpisodeData.from_store(bdb)["action"]
    assert [r["backward"]["verified"] for r in result.records] == [True, True, False, False]
    assert [m.success for m in metas] == [1, 1, 0, 0] and {m.source for m in metas} == {"reset"}
    steps = [a["steps"] for r in result.records for a in r["backward"]["attempts"]]
    assert [m.length for m in metas] == steps
    assert calls == [(0, [0, 1]), (1, [0, 1])]  # only verified attempts are backward training data
    assert np.all(actions[sum(m.length for m in metas[:2]):] == 0)  # the idle policy's actions, as applied


def test_reverse_demos_and_filtered_bc(env, tmp_path):
    import torch

    from robot_rl.policies.policy import PolicyConfig
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.offline import Trainer

    reverse = ReverseDemoConfig(wander=0.5, hold_steps=4)
    with EpisodeStore.create(tmp_path / "reverse.zarr", episode_specs(env.observation_space)) as db:
        assert record_reverse_demos(env, db, 4, seed=3, config=reverse) == 4
        metas = [db.episode_meta(i) for i in range(4)]
        demos = EpisodeData.from_store(db)
    assert {m.source for m in metas} == {"reset"}
    assert {m.info["wandered"] for m in metas} == {True, False}  # both kinds of start state
    assert demos["action"].shape[1:] == (7,) and np.all(np.abs(demos["action"]) <= 1)
    assert 20 < demos.episode_lengths.min() and demos.episode_lengths.max() < 300
    for i in range(4):  # every demo ends holding still with the gripper open, at a start state
        tail = demos.episode(i)["action"][-4:]
        assert np.all(tail[:, :6] == 0) and np.all(tail[:, 6] == 1)
    starts = np.array([demos.episode(i)["state/ee_pos"][0] for i in range(4)])
    wandered = np.array([m.info["wandered"] for m in metas])
    home = home_pose(env)
    assert np.linalg.norm(starts[wandered] - home, axis=1).min() > 0.06  # wandering starts far from home

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
        assert trainer.step == 3 and trainer.data.n_episodes == 4 + 2  # uniform over demos + practice
        assert improve.calls[0]["practice_episodes"] == 2

        splits, train_step = [], trainer.train_step

        def step():
            splits.append(trainer.samplers["policy"].split(8))
            return train_step()

        trainer.train_step = step
        symmetric = FilteredBC(trainer, demos, db, steps=2, out=tmp_path / "ckpt", demo_fraction=0.25)
        symmetric(1, [0, 1])
        trainer.train_step = train_step
        assert splits == [(2, 6), (2, 6)]  # (demo, practice) windows of each batch
        assert trainer.step == 5 and trainer.data.n_episodes == 4
    policy = improve(2, [])  # a demos-only update still returns a usable policy
    torch.set_num_threads(1)
    policy.reset()
    assert policy(env.observe()).shape == (8, 7)


def test_learn_hook_sees_every_pair_with_its_start_verdict(env, tmp_path):
    _no_teleports(env)
    seen: list[tuple[int, bool, bool]] = []

    def learn(record, start_ok):
        seen.append((record["store_index"], record["success"], start_ok))
        return {"n": len(seen)}

    cfg = ResetFreeConfig(blocks=1, block_episodes=3, backward_attempts=1,
                          backward=BackwardConfig(max_steps=16))
    forward = ExpertChunkPolicy(env.task, horizon=1, seed=0)
    with EpisodeStore.create(tmp_path / "p.zarr", practice_specs(env.observation_space)) as db:
        result = ResetFreePractice(env, forward, Idle(), db, cfg, learn=learn).run()
    # the idle backward never resets: only the first episode started from a verified start state
    assert [s[2] for s in seen] == [True, False, False] and seen[0][1]
    assert [s[0] for s in seen] == [0, 1, 2]
    assert [r["learn"] for r in result.records] == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_learner_updates_fine_tune_the_forward_policy_in_place(env, tmp_path):
    import torch

    from robot_rl.critics.chunk_critic import CriticConfig
    from robot_rl.env.cli import collect
    from robot_rl.policies.policy import PolicyConfig
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.learner import preset
    from robot_rl.rl.learner_ckpt import from_pretrained, load_offline
    from robot_rl.rl.offline import Trainer

    torch.set_num_threads(1)
    store = tmp_path / "demos.zarr"
    collect(task="drawer_open", episodes=2, store=store, images=False, seed=0)
    with EpisodeStore.open(store) as db:
        demos = EpisodeData.from_store(db)
    keys = ("state/ee_pos", "state/gripper", "state/handle_pos", "state/drawer_opening")
    tiny = PolicyConfig(obs_keys=keys, horizon=8, down_dims=(8, 16), inference_steps=2)
    trainer = Trainer.create(TrainConfig(policy=tiny, steps=4, warmup_steps=1, batch_size=8,
                                         eval_episodes=0), demos)
    ckpt = trainer.save(tmp_path / "forward.safetensors")
    cfg = preset("qc", warmup_episodes=1, critic_pretrain_steps=3, utd=0.05, batch_size=8, n_samples=2,
                 critic=CriticConfig(horizon=8, hidden=(16, 16), batch_size=16))
    learner = from_pretrained(cfg, ckpt, load_offline(store, ckpt))
    weights = [p.detach().clone() for p in learner.policy.parameters()]
    flags, add = [], learner.add_episode
    learner.add_episode = lambda steps, success: flags.append(success) or add(steps, success)

    env.reset(seed=0)
    _no_teleports(env)
    with EpisodeStore.create(tmp_path / "p.zarr", practice_specs(env.observation_space)) as db:
        updates = LearnerUpdates(learner, db, seed=0)
        assert updates.actor.n_samples == 1  # warm-up: the critic has not been trained
        result = ResetFreePractice(env, updates.actor, ScriptBackward(env), db,
                                   ResetFreeConfig(blocks=1, block_episodes=2), learn=updates).run()
        lengths = [db.episode_meta(i).length for i in range(db.n_episodes)]
        updates({"store_index": 0, "success": True}, False)  # a success from an unverified start
    assert learner.episodes == 3 and learner.env_steps == sum(lengths) + lengths[0]
    assert flags == [r["forward"]["success"] for r in result.records] + [False]
    assert learner.critic_steps >= 3 and updates.actor.n_samples == 2  # pretrained after warm-up
    assert learner.step > 0
    assert any(not torch.equal(a, b) for a, b in zip(weights, learner.policy.parameters(), strict=True))
    assert updates.actor.policy is learner.ema.model  # the practising actor acts with the learner's networks
    assert [r["learn"]["updates"] for r in result.records] == [u["updates"] for u in updates.records[:2]]


def test_backward_pass_rate_on_its_own(env):
    from robot_rl.resets.backward import BackwardReset
    from robot_rl.resets.scripted import ScriptedReset

    reverse = ReverseDemoConfig(wander=0.5, layout_seed=0)
    good = evaluate_backward(env, ScriptedReset(), 3, seed=5, config=reverse)
    assert good["successes"] == 3 and good["failed_checks"] == {} and good["by_origin"] == {"expert": [3, 3]}
    idle = BackwardReset(Idle(), config=BackwardConfig(max_steps=8))
    bad = evaluate_backward(env, idle, 3, seed=5, config=reverse)
    # the same end states (seeds), none a start state: the idle policy leaves every one as it is
    assert bad["successes"] == 0 and bad["failed_checks"]["tcp_home"] == 3 and bad["mean_steps"] == 8


def test_reverse_demos_start_where_the_forward_policy_left_the_scene(env, tmp_path):
    reverse = ReverseDemoConfig(from_policy=1.0, hold_steps=2)
    with EpisodeStore.create(tmp_path / "reverse.zarr", episode_specs(env.observation_space)) as db:
        # the flaky forward policy opens the drawer in its first episode and idles through the second
        assert record_reverse_demos(env, db, 2, seed=3, config=reverse, forward=FlakyForward(env)) == 2
        metas = [db.episode_meta(i) for i in range(2)]
        demos = EpisodeData.from_store(db)
    assert [m.info["origin"] for m in metas] == ["policy", "policy"]
    assert [m.info["forward_success"] for m in metas] == [True, False]
    opening = [float(demos.episode(i)["state/drawer_opening"][0][0]) for i in range(2)]
    assert opening[0] >= env.task.config.open_distance and opening[1] < 0.003  # as the policy left it
