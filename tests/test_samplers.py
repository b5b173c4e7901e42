"""EpisodeData, window / chunked-TD / mixed samplers, the episode split, and the sampler benchmark.

Test data encode (episode, step) in every value, so any crossing of an episode boundary or off-by-one
in padding shows up as a wrong number.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from robot_rl.data.episodes import EpisodeData, split_episodes
from robot_rl.data.samplers import (
    SOURCE_OFFLINE,
    SOURCE_ONLINE,
    MixedSampler,
    WindowConfig,
    WindowSampler,
    batch_to_torch,
)
from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore
from robot_rl.data.td_sampler import ChunkTDSampler, TDConfig

A = 3  # action dim


def code(ep: int, step: int) -> float:
    return ep * 1000.0 + step


def episode_arrays(ep: int, length: int, terminal_at: int | None = None, offset: float = 0.0) -> dict:
    steps = np.arange(length)
    codes = code(ep, steps) + offset
    terminal = np.zeros(length, dtype=bool)
    if terminal_at is not None:
        terminal[terminal_at] = True
    return {
        "state/x": np.stack([codes, np.full(length, ep)], axis=1).astype(np.float32),
        "image/cam": np.broadcast_to(((ep * 10 + steps) % 256).astype(np.uint8)[:, None, None, None],
                                     (length, 4, 4, 3)).copy(),
        "action": np.repeat(codes[:, None], A, axis=1).astype(np.float32),
        "reward": (codes + 1).astype(np.float32),
        "terminal": terminal,
    }


def make_data(lengths, terminals=None, offset=0.0) -> EpisodeData:
    terminals = terminals or [None] * len(lengths)
    parts = [episode_arrays(i, n, t, offset) for i, (n, t) in enumerate(zip(lengths, terminals, strict=True))]
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return EpisodeData(data, np.cumsum(lengths))


# ---------------------------------------------------------------------------------------------- EpisodeData
def test_episode_data_index_helpers():
    d = make_data([3, 5, 2])
    assert d.n_episodes == 3 and d.n_steps == 10
    np.testing.assert_array_equal(d.episode_starts, [0, 3, 8])
    np.testing.assert_array_equal(d.episode_lengths, [3, 5, 2])
    np.testing.assert_array_equal(d.episode_of(np.arange(10)), [0, 0, 0, 1, 1, 1, 1, 1, 2, 2])
    assert d.episode_of(8) == 2
    with pytest.raises(IndexError):
        d.episode_of(10)
    np.testing.assert_array_equal(d.episode(1)["state/x"][:, 0], code(1, np.arange(5)))


def test_subset_keeps_order_and_values():
    d = make_data([3, 5, 2])
    s = d.subset([2, 0])
    np.testing.assert_array_equal(s.episode_ends, [2, 5])
    np.testing.assert_array_equal(s["state/x"][:, 0], [2000, 2001, 0, 1, 2])


def test_add_episode_grows_and_keeps_data():
    d = make_data([4]).empty_like()
    expected = []
    for ep in range(40):
        arrays = episode_arrays(ep, 3 + ep % 5)
        arrays["state/x"] = arrays["state/x"].astype(np.float64)  # same_kind cast to float32
        assert d.add_episode(arrays) == ep
        expected.append(arrays["state/x"][:, 0])
    np.testing.assert_array_equal(d["state/x"][:, 0], np.concatenate(expected))
    assert d["state/x"].dtype == np.float32 and d.n_episodes == 40
    np.testing.assert_array_equal(d.episode_lengths, [3 + ep % 5 for ep in range(40)])


def test_add_episode_capacity_grows_geometrically():
    d = make_data([4]).empty_like()
    capacities = set()
    for ep in range(2000):
        d.add_episode(episode_arrays(ep % 7, 1))
        capacities.add(d.capacity)
    assert d.n_steps == 2000 and d.capacity >= 2000
    assert len(capacities) < 25  # ~log_1.5(2000) reallocations, not one per episode


def test_add_episode_rejects_bad_input():
    d = make_data([4])
    bad_keys = episode_arrays(1, 3)
    del bad_keys["reward"]
    with pytest.raises(KeyError):
        d.add_episode(bad_keys)
    bad_shape = episode_arrays(1, 3)
    bad_shape["action"] = np.zeros((3, A + 1), np.float32)
    with pytest.raises(ValueError):
        d.add_episode(bad_shape)
    bad_len = episode_arrays(1, 3)
    bad_len["reward"] = bad_len["reward"][:2]
    with pytest.raises(ValueError):
        d.add_episode(bad_len)
    assert d.n_episodes == 1


def test_from_store_matches_written_episodes(tmp_path):
    lengths = [4, 6, 3]
    specs = {"state/x": KeySpec(shape=(2,), dtype="float32"),
             "image/cam": KeySpec(shape=(4, 4, 3), dtype="uint8"),
             "action": KeySpec(shape=(A,), dtype="float32"), "reward": KeySpec(shape=(), dtype="float32"),
             "terminal": KeySpec(shape=(), dtype="bool")}
    with EpisodeStore.create(tmp_path / "s", specs) as store:
        for ep, n in enumerate(lengths):
            w = store.begin_episode(source="demo")
            w.extend(episode_arrays(ep, n))
            w.commit(success=True)
    with EpisodeStore.open(tmp_path / "s") as store:
        full = EpisodeData.from_store(store, progress=True)
        part = EpisodeData.from_store(store, keys=["action"], episodes=[2, 0])
    ref = make_data(lengths)
    for k in ref.keys:
        np.testing.assert_array_equal(full[k], ref[k])
    np.testing.assert_array_equal(full.episode_ends, [4, 10, 13])
    assert part.keys == ["action"]
    np.testing.assert_array_equal(part["action"][:, 0], ref.subset([2, 0])["action"][:, 0])


# ---------------------------------------------------------------------------------------------- split
def test_split_disjoint_covering_deterministic():
    for n in (2, 3, 10, 101):
        train, val = split_episodes(n, 0.1, seed=3)
        assert len(train) >= 1 and len(val) >= 1
        assert set(train).isdisjoint(val) and set(train) | set(val) == set(range(n))
        t2, v2 = split_episodes(n, 0.1, seed=3)
        np.testing.assert_array_equal(train, t2)
        np.testing.assert_array_equal(val, v2)
    assert len(split_episodes(100, 0.2, seed=0)[1]) == 20
    assert not np.array_equal(split_episodes(100, 0.2, seed=0)[1], split_episodes(100, 0.2, seed=1)[1])
    train, val = split_episodes(1, 0.9)
    assert list(train) == [0] and len(val) == 0
    assert len(split_episodes(10, 0.0)[1]) == 0


# ------------------------------------------------------------------------------------------ window sampler
def reference_window(d: EpisodeData, t: int, n_obs: int, horizon: int):
    """Loop implementation of the documented padding rule."""
    ep = int(np.searchsorted(d.episode_ends, t, side="right"))
    s, e = int(d.episode_starts[ep]), int(d.episode_ends[ep])
    obs_steps = [t - n_obs + 1 + k for k in range(n_obs)]
    act_steps = [t + i for i in range(horizon)]
    return ([min(max(x, s), e - 1) for x in obs_steps], [x < s for x in obs_steps],
            [min(x, e - 1) for x in act_steps], [x >= e for x in act_steps])


def test_window_padding_exact_values():
    d = make_data([5, 7])
    sampler = WindowSampler(d, WindowConfig(n_obs=3, horizon=4, batch_size=4))
    b = sampler.batch_at(np.array([0, 4, 5, 9]))  # ep0 first, ep0 last, ep1 first, ep1 middle
    np.testing.assert_array_equal(b["obs"]["state/x"][..., 0],
                                  [[0, 0, 0], [2, 3, 4], [1000, 1000, 1000], [1002, 1003, 1004]])
    np.testing.assert_array_equal(b["obs_is_pad"], [[1, 1, 0], [0, 0, 0], [1, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(b["action"][..., 0], [[0, 1, 2, 3], [4, 4, 4, 4], [1000, 1001, 1002, 1003],
                                                        [1004, 1005, 1006, 1006]])
    np.testing.assert_array_equal(b["action_is_pad"],
                                  [[0, 0, 0, 0], [0, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(b["obs"]["image/cam"][:, :, 0, 0, 0],
                                  [[0, 0, 0], [2, 3, 4], [10] * 3, [12, 13, 14]])
    np.testing.assert_array_equal(b["episode"], [0, 0, 1, 1])
    assert b["obs"]["image/cam"].shape == (4, 3, 4, 4, 3) and b["action"].shape == (4, 4, A)


def test_window_all_anchors_match_reference_and_never_cross():
    d = make_data([1, 6, 2, 9])
    n_obs, horizon = 3, 5
    sampler = WindowSampler(d, WindowConfig(n_obs=n_obs, horizon=horizon, batch_size=7))
    batches = list(sampler.iter_batches())
    anchors = np.concatenate([b["anchor"] for b in batches])
    np.testing.assert_array_equal(anchors, np.arange(d.n_steps))  # every step once, in order
    x, ep_col = d["state/x"][:, 0], d["state/x"][:, 1]
    for b in batches:
        for j, t in enumerate(b["anchor"]):
            obs_steps, obs_pad, act_steps, act_pad = reference_window(d, int(t), n_obs, horizon)
            np.testing.assert_array_equal(b["obs"]["state/x"][j, :, 0], x[obs_steps])
            np.testing.assert_array_equal(b["obs_is_pad"][j], obs_pad)
            np.testing.assert_array_equal(b["action"][j, :, 0], x[act_steps])
            np.testing.assert_array_equal(b["action_is_pad"][j], act_pad)
            assert np.all(b["obs"]["state/x"][j, :, 1] == ep_col[t])  # one episode per sample


def test_sample_deterministic_under_seed():
    d = make_data([5, 7, 9])
    cfg = WindowConfig(n_obs=2, horizon=4, batch_size=16, seed=7)
    a, b = WindowSampler(d, cfg).sample(), WindowSampler(d, cfg).sample()
    np.testing.assert_array_equal(a["anchor"], b["anchor"])
    np.testing.assert_array_equal(a["action"], b["action"])
    c = WindowSampler(d, WindowConfig(n_obs=2, horizon=4, batch_size=16, seed=8)).sample()
    assert not np.array_equal(a["anchor"], c["anchor"])


def test_sampler_sees_added_episodes_and_rejects_empty():
    d = make_data([5]).empty_like()
    sampler = WindowSampler(d, WindowConfig(batch_size=4))
    assert len(sampler) == 0
    with pytest.raises(ValueError):
        sampler.sample()
    d.add_episode(episode_arrays(3, 6))
    assert len(sampler) == 6
    assert np.all(sampler.sample()["obs"]["state/x"][..., 1] == 3)


def test_window_sampler_throughput():
    rng = np.random.default_rng(0)
    n = 400
    big = EpisodeData({"image/a": rng.integers(0, 255, (n, 96, 96, 3), dtype=np.uint8),
                       "image/b": rng.integers(0, 255, (n, 96, 96, 3), dtype=np.uint8),
                       "state/x": rng.standard_normal((n, 7)).astype(np.float32),
                       "action": rng.standard_normal((n, 7)).astype(np.float32)}, [100, 200, 300, 400])
    sampler = WindowSampler(big, WindowConfig(n_obs=2, horizon=16, batch_size=64))
    sampler.sample()
    t0 = time.perf_counter()
    for _ in range(10):
        sampler.sample()
    rate = 640 / (time.perf_counter() - t0)
    assert rate >= 1000, f"{rate:.0f} windows/s"


def test_batch_to_torch():
    b = WindowSampler(make_data([5]), WindowConfig(batch_size=3)).sample()
    t = batch_to_torch(b)
    assert tuple(t["obs"]["image/cam"].shape) == b["obs"]["image/cam"].shape
    assert str(t["action_is_pad"].dtype) == "torch.bool"


# ---------------------------------------------------------------------------------------------- chunked TD
GAMMA, H = 0.5, 3
# ep0: terminal at its last step; ep1: time-limited; ep2: terminal at step 2 of 4 (steps after it stay)
TD_LENGTHS, TD_TERMINALS = [6, 7, 4], [5, None, 2]


def td_sampler(n_obs: int = 1) -> ChunkTDSampler:
    return ChunkTDSampler(make_data(TD_LENGTHS, TD_TERMINALS), TDConfig(horizon=H, gamma=GAMMA, n_obs=n_obs,
                                                                        batch_size=8))


def td_batch_for(sampler: ChunkTDSampler, steps: list[int]) -> dict:
    anchors = sampler.index()["anchor"]
    return sampler.batch_at(np.searchsorted(anchors, steps))


def test_td_excluded_anchors():
    anchors = td_sampler().index()["anchor"]
    # ep0 (steps 0-5) all kept: each has a terminal ahead; ep1 (6-12) keeps t with t+3 <= 12;
    # ep2 (13-16, terminal at 15) keeps 13, 14, 15 and drops 16 (no terminal ahead, no step 19)
    np.testing.assert_array_equal(anchors, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15])


def test_td_hand_computed_values():
    s = td_sampler()
    b = td_batch_for(s, [2, 4, 5, 9, 14])
    r = lambda ep, t: code(ep, t) + 1  # noqa: E731
    np.testing.assert_allclose(b["reward_sum"], [
        r(0, 2) + 0.5 * r(0, 3) + 0.25 * r(0, 4),      # full chunk, no terminal
        r(0, 4) + 0.5 * r(0, 5),                        # terminal at the chunk's 2nd step
        r(0, 5),                                        # terminal at the chunk's first step
        r(1, 3) + 0.5 * r(1, 4) + 0.25 * r(1, 5),       # time-limited episode, next obs = its last step
        r(2, 1) + 0.5 * r(2, 2),                        # mid-episode terminal: step 3 of ep2 is not valid
    ], rtol=1e-6)
    np.testing.assert_array_equal(b["valid"], [[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 1, 0]])
    np.testing.assert_array_equal(b["terminal"], [0, 1, 1, 0, 1])
    np.testing.assert_array_equal(b["action"][..., 0], [[2, 3, 4], [4, 5, 5], [5, 5, 5], [1003, 1004, 1005],
                                                        [2001, 2002, 2002]])
    np.testing.assert_array_equal(b["action_is_pad"], b["valid"] == 0)
    np.testing.assert_array_equal(b["next_obs"]["state/x"][:, 0, 0][[0, 3]], [code(0, 5), code(1, 6)])
    np.testing.assert_allclose(b["discount"], GAMMA ** H)
    np.testing.assert_array_equal(b["obs"]["state/x"][:, 0, 0], [2, 4, 5, 1003, 2001])


def test_td_terminal_at_chunk_end_and_history():
    s = td_sampler(n_obs=2)
    b = td_batch_for(s, [3, 6])
    # anchor 3: steps 3,4,5, terminal at 5 is the chunk's last valid step
    np.testing.assert_array_equal(b["valid"][0], [1, 1, 1])
    assert b["terminal"][0] == 1
    # anchor 6 = ep1 step 0: obs history padded with step 0, next obs window = steps 2, 3 of ep1
    np.testing.assert_array_equal(b["obs"]["state/x"][1, :, 0], [code(1, 0), code(1, 0)])
    np.testing.assert_array_equal(b["obs_is_pad"][1], [True, False])
    np.testing.assert_array_equal(b["next_obs"]["state/x"][1, :, 0], [code(1, 2), code(1, 3)])
    np.testing.assert_array_equal(b["next_obs_is_pad"][1], [False, False])


def test_td_random_samples_consistent():
    s = td_sampler()
    b = s.sample(200)
    ep = b["obs"]["state/x"][:, 0, 1]
    assert np.all(b["action"][..., 0] // 1000 == ep[:, None])  # actions from the anchor's episode only
    assert np.all((b["next_obs"]["state/x"][:, 0, 1] == ep) | (b["terminal"] == 1))
    # non-terminal samples bootstrap from exactly t+h
    nt = b["terminal"] == 0
    np.testing.assert_array_equal(b["next_obs"]["state/x"][nt, 0, 0], b["obs"]["state/x"][nt, 0, 0] + H)


# ---------------------------------------------------------------------------------------------- mixing
def test_mixed_ratio_exact_and_empty_online():
    offline = make_data([10, 12])
    online = offline.empty_like()
    cfg = WindowConfig(n_obs=2, horizon=4, batch_size=64)
    mixed = MixedSampler(WindowSampler(offline, cfg), WindowSampler(online, cfg), online_fraction=0.25)
    b = mixed.sample()
    assert np.all(b["source"] == SOURCE_OFFLINE) and len(b["source"]) == 64
    online.add_episode(episode_arrays(7, 9, offset=1e5))
    b = mixed.sample()
    assert (b["source"] == SOURCE_ONLINE).sum() == 16 and b["action"].shape == (64, 4, A)
    from_online = b["obs"]["state/x"][:, 0, 0] >= 1e5
    np.testing.assert_array_equal(from_online, b["source"] == SOURCE_ONLINE)
    assert mixed.split(12) == (9, 3) and mixed.split(7) == (5, 2) and mixed.split(5) == (4, 1)


def test_mixed_td_batches_and_all_online():
    offline = make_data(TD_LENGTHS, TD_TERMINALS)
    online = offline.empty_like()
    cfg = TDConfig(horizon=H, gamma=GAMMA, batch_size=10)
    mixed = MixedSampler(ChunkTDSampler(offline, cfg), ChunkTDSampler(online, cfg), online_fraction=0.5)
    online.add_episode(episode_arrays(5, 8, terminal_at=7, offset=1e5))
    b = mixed.sample()
    np.testing.assert_array_equal(b["source"], [0] * 5 + [1] * 5)
    assert b["next_obs"]["state/x"].shape == (10, 1, 2) and b["reward_sum"].shape == (10,)
    np.testing.assert_array_equal(b["obs"]["state/x"][:, 0, 0] >= 1e5, b["source"] == 1)
    only_online = MixedSampler(ChunkTDSampler(offline.empty_like(), cfg), ChunkTDSampler(online, cfg), 0.5)
    assert np.all(only_online.sample()["source"] == SOURCE_ONLINE)


def test_bench_samplers_small(tmp_path):
    from robot_rl.bench.sampler_bench import bench_samplers

    out = bench_samplers(root=tmp_path, n_episodes=3, episode_len=30, image_hw=16, batches=2, repeats=2)
    for key in ("sampler_windows_per_s", "sampler_lowdim_windows_per_s", "sampler_td_windows_per_s"):
        assert out[key] > 1000, (key, out[key])
    assert out["sampler_settings"]["episode_len"] == 30
    assert not any(tmp_path.iterdir())  # the temporary store is removed
