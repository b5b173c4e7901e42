"""Sampler throughput: windows per second drawn from in-memory EpisodeData loaded from a real store.

Only sampling is timed (the store is written and loaded first); each repeat times `batches` calls of
`sample()` and the median over repeats is reported, so one slow repeat (page faults on first touch,
another process) does not skew the number.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.data.episodes import EpisodeData
from robot_rl.data.samplers import AnchorSampler, WindowConfig, WindowSampler
from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore
from robot_rl.data.td_sampler import ChunkTDSampler, TDConfig

CAMERAS = ("image/front", "image/wrist")
STATE = "state/ee"


def bench_samplers(root: str | Path | None = None, n_episodes: int = 20, episode_len: int = 200,
                   image_hw: int = 96, batch_size: int = 64, n_obs: int = 2, horizon: int = 16,
                   td_horizon: int = 5, batches: int = 20, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Write a synthetic store (two image_hw² RGB cameras + 7-D state + 7-D action, reward, terminal),
    load it into EpisodeData and time the samplers.

    Returns windows/s for: `sampler_windows_per_s` (images + state), `sampler_lowdim_windows_per_s`
    (state only), `sampler_td_windows_per_s` (chunked TD, images + state, h = td_horizon), plus the
    load time `sampler_load_s` (s) and the settings used. `root`: a directory for the temporary store
    (default: the system temp dir).
    """
    with tempfile.TemporaryDirectory(dir=root, prefix="sampler_bench_") as tmp:
        path = Path(tmp) / "store"
        write_synthetic_store(path, n_episodes, episode_len, image_hw, seed)
        t0 = time.perf_counter()
        with EpisodeStore.open(path) as store:
            data = EpisodeData.from_store(store, progress=False)
        load_s = time.perf_counter() - t0
    images = WindowConfig(n_obs=n_obs, horizon=horizon, obs_keys=(*CAMERAS, STATE), batch_size=batch_size,
                          seed=seed)
    lowdim = WindowConfig(n_obs=n_obs, horizon=horizon, obs_keys=(STATE,), batch_size=batch_size, seed=seed)
    td = TDConfig(horizon=td_horizon, n_obs=n_obs, obs_keys=(*CAMERAS, STATE), batch_size=batch_size,
                  seed=seed)
    return {
        "sampler_windows_per_s": _rate(WindowSampler(data, images), batches, repeats),
        "sampler_lowdim_windows_per_s": _rate(WindowSampler(data, lowdim), batches, repeats),
        "sampler_td_windows_per_s": _rate(ChunkTDSampler(data, td), batches, repeats),
        "sampler_load_s": load_s,
        "sampler_settings": {"n_episodes": n_episodes, "episode_len": episode_len, "image_hw": image_hw,
                             "cameras": len(CAMERAS), "state_dim": 7, "batch_size": batch_size,
                             "n_obs": n_obs, "horizon": horizon, "td_horizon": td_horizon,
                             "batches": batches, "repeats": repeats},
    }


def write_synthetic_store(path: Path, n_episodes: int, episode_len: int, image_hw: int,
                          seed: int = 0) -> None:
    """Camera-like frames (a moving gradient plus noise, so the codecs see realistic work) and random
    low-dim data; the last step of every other episode is terminal with reward 1."""
    rng = np.random.default_rng(seed)
    specs = {cam: KeySpec(shape=(image_hw, image_hw, 3), dtype="uint8", units="rgb") for cam in CAMERAS}
    specs |= {STATE: KeySpec(shape=(7,), dtype="float32"), "action": KeySpec(shape=(7,), dtype="float32"),
              "reward": KeySpec(shape=(), dtype="float32"), "terminal": KeySpec(shape=(), dtype="bool")}
    ramp = np.add.outer(np.arange(image_hw), np.arange(image_hw)).astype(np.int64)
    with EpisodeStore.create(path, specs) as store:
        for ep in range(n_episodes):
            steps = np.arange(episode_len)
            frames = (ramp[None, :, :, None] + steps[:, None, None, None] + np.arange(3) * 40) % 256
            noise = rng.integers(0, 8, size=frames.shape)
            terminal = np.zeros(episode_len, dtype=bool)
            terminal[-1] = ep % 2 == 0
            w = store.begin_episode(source="demo")
            w.extend({**{cam: (frames + noise + i * 17).astype(np.uint8) for i, cam in enumerate(CAMERAS)},
                      STATE: rng.standard_normal((episode_len, 7)).astype(np.float32),
                      "action": rng.uniform(-1, 1, (episode_len, 7)).astype(np.float32),
                      "reward": terminal.astype(np.float32), "terminal": terminal})
            w.commit(success=bool(terminal[-1]))


def _rate(sampler: AnchorSampler, batches: int, repeats: int) -> float:
    """Median windows/s over `repeats` timings of `batches` sample() calls (after one warm-up call)."""
    sampler.sample()
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(batches):
            sampler.sample()
        rates.append(batches * sampler.batch_size / (time.perf_counter() - t0))
    return statistics.median(rates)


if __name__ == "__main__":
    import json

    print(json.dumps(bench_samplers(), indent=2))
