"""Online fine-tuning: variants are config, best-of-N picks the argmax-Q chunk, interventions become BC
targets, weight/episode blobs round-trip and reject what does not fit, a tiny qc run learns (toy env),
and a learner checkpoint resumes exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from robot_rl.critics.chunk_critic import ChunkCritic
from robot_rl.rl.actor import QChunkPolicy, best_of_n
from robot_rl.rl.blobs import BlobError, decode_episode, decode_weights, encode_episode, encode_weights
from robot_rl.rl.learner import Learner, preset
from robot_rl.rl.learner_ckpt import actor_from_pretrained, from_pretrained, resume, save
from robot_rl.rl.replay import bc_segments, intervention_runs
from tests.helpers.finetune_toy import TINY_CRITIC, pretrained, run_episode
from tests.helpers.point_env import PointReach

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def pre(tmp_path_factory):
    return pretrained(tmp_path_factory.mktemp("pre"))


def _cfg(algo: str, **kw):
    critic = TINY_CRITIC
    if algo == "rlpd":
        critic = dataclasses.replace(TINY_CRITIC, ensemble_size=10, subset_size=2)
    return preset(algo, critic=critic, batch_size=32, n_samples=8, critic_pretrain_steps=0, **kw)


def test_variants_are_config_of_one_learner(pre):
    path, data = pre
    from robot_rl.rl.offline import load_policy

    start = load_policy(path).state_dict()
    learners = {a: from_pretrained(_cfg(a), path, data) for a in ("qc", "bc", "rlpd")}
    assert {type(v) for v in learners.values()} == {Learner}
    assert learners["bc"].critic is None and learners["qc"].critic.cfg.ensemble_size == 2
    assert learners["rlpd"].critic.cfg.ensemble_size == 10 and learners["rlpd"].critic.cfg.subset_size == 2
    same = [torch.equal(v, learners["qc"].policy.state_dict()[k]) for k, v in start.items()]
    fresh = [torch.equal(v, learners["rlpd"].policy.state_dict()[k]) for k, v in start.items()]
    assert all(same) and not all(fresh)
    diff = {f.name for f in dataclasses.fields(preset("qc"))
            if getattr(preset("qc"), f.name) != getattr(preset("rlpd"), f.name)}
    assert diff == {"algo", "pretrained", "ema_start", "critic", "bc_online_fraction"}


def test_best_of_n_picks_the_argmax_q_chunk(pre):
    path, data = pre
    learner = from_pretrained(_cfg("qc"), path, data)
    actor = QChunkPolicy(learner.ema.model, learner.critic, n_samples=8, seed=3)
    obs = {"state/obs": np.array([0.1, -0.2, 0.5, 0.4], np.float32)}
    chunk = actor(obs)
    # replay the same draw: same seed, same window
    window = {"state/obs": torch.from_numpy(np.stack([obs["state/obs"]] * 2))[None]}
    chunks = learner.ema.model.sample(window, 8, generator=torch.Generator().manual_seed(3)).clamp(-1, 1)
    with torch.no_grad():
        q = learner.critic.q(learner.critic.features(window).expand(8, -1), chunks[0, :, :4]).mean(0)
    best, scores = best_of_n(learner.critic, window, chunks)
    assert best == int(torch.argmax(q)) and torch.allclose(scores, q)
    want = learner.normalizer.unnormalize("action", chunks[0, best]).numpy()
    np.testing.assert_allclose(chunk, want, atol=1e-6)
    assert actor.last_q == pytest.approx(float(q.max()), abs=1e-6)


def test_interventions_are_bc_targets(pre):
    path, data = pre
    runs = intervention_runs(np.array([0, 1, 1, 0, 0, 1], bool))
    assert [(s.start, s.stop) for s in runs] == [(1, 3), (5, 6)]
    learner = from_pretrained(_cfg("bc"), path, data)
    env = PointReach()
    ep, ok = run_episode(learner.actor(), env, seed=7, engaged=lambda t: 1 <= t < 3)
    ep["terminal"][:] = False  # pretend it failed: only the human's steps are BC targets
    assert ep["intervention"][1:3].all() and ep["intervention"].sum() == 2
    assert len(bc_segments(ep, False)) == 1
    learner.add_episode(ep, False)
    good = learner.replay.good
    assert good.n_episodes == 1 and good.n_steps == 2
    np.testing.assert_array_equal(good["action"], ep["action"][1:3])
    learner.add_episode(ep | {"intervention": np.zeros_like(ep["intervention"])}, False)
    assert good.n_episodes == 1  # a failed episode without interventions teaches BC nothing
    learner.add_episode(ep, True)  # a success: only its intervention steps (imitate_successes is off)
    assert good.n_episodes == 2 and good.n_steps == 4
    learner.replay.imitate_successes = True
    learner.add_episode(ep, True)
    assert good.n_episodes == 3 and good.n_steps == 4 + len(ep["action"])
    assert learner.replay.online.n_episodes == 4


def test_weight_blobs_round_trip_and_reject_misfits(pre):
    path, data = pre
    learner = from_pretrained(_cfg("qc"), path, data)
    with torch.no_grad():
        next(learner.critic.parameters()).add_(1.0)
    blob = encode_weights(learner.actor_modules(), step=17)
    actor = actor_from_pretrained(_cfg("qc"), path)
    assert actor.critic is None  # no critic until a snapshot brings one
    assert actor.load_snapshot(blob) == 17 and actor.critic is not None
    for k, v in learner.critic.state_dict().items():
        assert torch.equal(actor.critic.state_dict()[k], v)
    wrong = ChunkCritic(dataclasses.replace(TINY_CRITIC, hidden=(32, 32)), learner.critic.shapes,
                        learner.normalizer, 2)
    with pytest.raises(BlobError, match="shape"):
        decode_weights(encode_weights({"policy": learner.ema.model, "critic": wrong}, 1), actor.modules())
    with pytest.raises(BlobError, match="missing"):
        decode_weights(encode_weights({"policy": learner.ema.model}, 1), actor.modules())
    with pytest.raises(BlobError, match="not a weight snapshot"):
        actor.load_snapshot(encode_episode({"action": np.zeros((2, 2), np.float32)}, True))
    ep, ok = run_episode(actor, PointReach(), seed=1)
    steps, success, info = decode_episode(encode_episode(ep, ok, {"index": 4}))
    assert success == ok and info == {"index": 4}
    for k, v in ep.items():
        np.testing.assert_array_equal(steps[k], v)


def test_tiny_qc_run_learns_and_resumes_exactly(pre, tmp_path):
    path, data = pre
    learner = from_pretrained(_cfg("qc", utd=0.5, warmup_episodes=2), path, data)
    env, actor = PointReach(), learner.actor(seed=0)
    probe = learner.replay.critic_batches.offline.sample(64)
    from robot_rl.critics.chunk_critic import critic_loss
    from robot_rl.data.samplers import SOURCE_OFFLINE, batch_to_torch

    def td_loss() -> float:
        b = batch_to_torch(probe | {"source": np.full(64, SOURCE_OFFLINE, np.uint8)})
        return critic_loss(learner.critic, learner.critic_target, b, learner.next_chunk(b))[1]["critic_loss"]

    before = td_loss()
    for k in range(2):  # WSRL warm-up: episodes collected, no updates
        learner.add_episode(*run_episode(actor, env, seed=100 + k))
        assert not learner.train_pending() and learner.step == 0
    for k in range(4):
        learner.add_episode(*run_episode(actor, env, seed=102 + k))
        learner.train_pending()
    assert learner.step == int(0.5 * sum(learner.replay.online.episode_lengths[2:]))
    assert td_loss() < 0.5 * before  # the critic learned the chunked TD targets
    ckpt = save(learner, tmp_path / "learner.safetensors")
    again, _ = resume(ckpt, data)
    counters = ("step", "episodes", "env_steps", "critic_steps")
    assert [getattr(again, k) for k in counters] == [getattr(learner, k) for k in counters]
    assert again.replay.online.n_episodes == 6
    assert again.update() == learner.update()  # optimizers, samplers and RNG continue exactly


def test_lr_cycles_anneal_then_hand_the_weights_to_the_actor(pre):
    path, data = pre
    learner = from_pretrained(_cfg("bc", lr_cycle=4, lr_warmup=1, lr=1e-3), path, data)
    assert [round(learner.lr_at(k), 6) for k in range(5)] == [1e-3, 8.54e-4, 5e-4, 1.46e-4, 1e-3]
    acting = learner.actor_modules()["policy"]
    start = {k: v.clone() for k, v in acting.state_dict().items()}
    for _ in range(3):
        learner.update()
    assert all(torch.equal(v, acting.state_dict()[k]) for k, v in start.items())  # mid-cycle: unchanged
    learner.update()  # the cycle's last update: the annealed weights act from now on
    trained = learner.policy.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in acting.state_dict().items())
    assert not all(torch.equal(v, start[k]) for k, v in acting.state_dict().items())
