"""ChunkCritic: vectorized ensemble, aggregation, TD target, and recovering known Q-values on a chain MDP."""

import copy

import numpy as np
import pytest
import torch

from robot_rl.critics.chunk_critic import ChunkCritic, CriticConfig, critic_loss, polyak, td_target
from robot_rl.data.episodes import EpisodeData
from robot_rl.data.normalizer import Normalizer
from robot_rl.data.samplers import batch_to_torch
from robot_rl.data.td_sampler import ChunkTDSampler, TDConfig

torch.set_num_threads(1)


def make_critic(cfg: CriticConfig, obs_dim: int = 3, act_dim: int = 2) -> ChunkCritic:
    torch.manual_seed(0)
    norm = Normalizer({"state/x": (-np.ones(obs_dim, np.float32), np.ones(obs_dim, np.float32)),
                       "action": (-np.ones(act_dim, np.float32), np.ones(act_dim, np.float32))})
    return ChunkCritic(cfg, {"state/x": (obs_dim,), "action": (act_dim,)}, norm, n_obs=1)


def test_ensemble_matches_member_by_member_evaluation():
    critic = make_critic(CriticConfig(horizon=3, hidden=(16, 16), ensemble_size=4))
    feat, chunk = torch.randn(5, 3), torch.rand(5, 3, 2) * 2 - 1
    q = critic.q(feat, chunk)
    assert q.shape == (4, 5)
    x = torch.cat([feat, chunk.flatten(1)], -1)
    for e in range(4):
        h = x
        for lin, ln, _ in zip(*[iter(critic.body)] * 3, strict=False):
            h = h @ lin.weight[e] + lin.bias[e]
            h = torch.relu(torch.nn.functional.layer_norm(h, h.shape[-1:]) * ln.weight[e] + ln.bias[e])
        torch.testing.assert_close(q[e], (h @ critic.head.weight[e] + critic.head.bias[e])[:, 0])
    assert not torch.allclose(q[0], q[1])  # members are initialised independently


def test_aggregation_min_over_subset_and_mean():
    q = torch.tensor([[1.0, 5.0], [2.0, 4.0], [3.0, 0.0]])
    mean = make_critic(CriticConfig(ensemble_size=3, aggregate="mean"))
    torch.testing.assert_close(mean.aggregate(q), torch.tensor([2.0, 3.0]))
    full = make_critic(CriticConfig(ensemble_size=3, subset_size=3))
    torch.testing.assert_close(full.aggregate(q), torch.tensor([1.0, 0.0]))
    one = make_critic(CriticConfig(ensemble_size=3, subset_size=1))
    picks = {tuple(one.aggregate(q, torch.Generator().manual_seed(s)).tolist()) for s in range(20)}
    assert picks == {(1.0, 5.0), (2.0, 4.0), (3.0, 0.0)}
    with pytest.raises(ValueError, match="subset_size"):
        make_critic(CriticConfig(ensemble_size=2, subset_size=3))


def test_td_target_masks_terminals():
    y = td_target(torch.tensor([1.0, 0.5]), torch.tensor([0.9, 0.9]), torch.tensor([1.0, 0.0]),
                  torch.tensor([10.0, 10.0]))
    torch.testing.assert_close(y, torch.tensor([1.0, 9.5]))


# chain MDP: positions 0..N-1, action +1 / -1 (normalized actions are the same numbers), reward 1 and
# termination on reaching N-1. Data: random walks. Evaluated policy: always +1.
N, H, GAMMA = 6, 2, 0.8


def chain_data(n_eps=60, seed=0) -> EpisodeData:
    rng = np.random.default_rng(seed)
    pos, acts, rews, terms, ends = [], [], [], [], []
    for _ in range(n_eps):
        s = int(rng.integers(0, N - 1))
        for _ in range(30):
            a = 1 if rng.random() < 0.6 else -1
            s2 = min(max(s + a, 0), N - 1)
            pos.append(np.eye(N, dtype=np.float32)[s])
            acts.append([a])
            rews.append(float(s2 == N - 1))
            terms.append(s2 == N - 1)
            s = s2
            if terms[-1]:
                break
        ends.append(len(pos))
    return EpisodeData({"state/x": np.array(pos), "action": np.array(acts, np.float32),
                        "reward": np.array(rews, np.float32), "terminal": np.array(terms)}, ends)


def true_q(s: int, chunk: list[int]) -> float:
    """Q^{always +1}(s, chunk) by rolling the chunk out, then V(s') = gamma^(steps to goal - 1)."""
    ret = 0.0
    for i, a in enumerate(chunk):
        s = min(max(s + a, 0), N - 1)
        if s == N - 1:
            return ret + GAMMA ** i
    return ret + GAMMA ** H * GAMMA ** (N - 1 - s - 1)


def test_critic_recovers_chain_q_values():
    data = chain_data()
    cfg = CriticConfig(horizon=H, gamma=GAMMA, hidden=(64, 64), ensemble_size=2, aggregate="mean", lr=3e-3,
                       tau=0.05)
    norm = Normalizer({"state/x": (np.zeros(N, np.float32), np.ones(N, np.float32)),
                       "action": (-np.ones(1, np.float32), np.ones(1, np.float32))})
    torch.manual_seed(0)
    critic = ChunkCritic(cfg, {"state/x": (N,), "action": (1,)}, norm, n_obs=1)
    target = copy.deepcopy(critic).requires_grad_(False)
    opt = torch.optim.Adam(critic.parameters(), lr=cfg.lr)
    sampler = ChunkTDSampler(data, TDConfig(horizon=H, gamma=GAMMA, n_obs=1, batch_size=128, seed=0))
    right = torch.ones(128, H, 1)
    states = [0, 1, 2, 3, 4, 4]
    chunks = [[1, 1], [-1, 1], [1, -1], [1, 1], [-1, -1], [1, 1]]  # after a terminal the sampler
    # repeats the last action, so (4, [1, -1]) never occurs: (4, [1, 1]) is the in-data chunk
    feats = torch.eye(N)[states] * 2 - 1  # normalized one-hot
    chunk_t = torch.tensor(chunks, dtype=torch.float32)[..., None]
    want = torch.tensor([true_q(s, c) for s, c in zip(states, chunks, strict=True)])

    def err():
        with torch.no_grad():
            return (critic.q(feats, chunk_t).mean(0) - want).abs().max().item()

    before = err()
    for _ in range(400):
        loss, _ = critic_loss(critic, target, batch_to_torch(sampler.sample()), right)
        opt.zero_grad()
        loss.backward()
        opt.step()
        polyak(target, critic, cfg.tau)
    after = err()
    assert before > 0.3 and after < 0.02, (before, after)


def test_td_targets_stay_in_the_value_range():
    """A critic whose target network says -1 must not teach itself negative values for a 0/1 reward."""
    for value_range, expected_min in (((0.0, 1.0), 0.0), (None, -0.9)):
        critic = make_critic(CriticConfig(horizon=2, hidden=(8,), value_range=value_range))
        target = copy.deepcopy(critic)
        with torch.no_grad():
            target.head.bias.fill_(-1.0)
            target.head.weight.zero_()
        batch = {"obs": {"state/x": torch.zeros(4, 1, 3)}, "next_obs": {"state/x": torch.zeros(4, 1, 3)},
                 "action": torch.zeros(4, 2, 2), "reward_sum": torch.zeros(4),
                 "discount": torch.full((4,), 0.9), "terminal": torch.zeros(4)}
        with torch.no_grad():
            critic.head.weight.zero_()
            critic.head.bias.fill_(expected_min)  # predicting exactly the (clamped) target: zero loss
        loss, _ = critic_loss(critic, target, batch, torch.zeros(4, 2, 2))
        assert loss.item() == pytest.approx(0.0, abs=1e-10)
