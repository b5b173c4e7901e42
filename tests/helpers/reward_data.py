"""Synthetic episode stores for reward tests: 16x16 frames where success shows a bright block.

Successful episodes: the block appears at step `on` and stays to the end (per-frame `success` key); the
recorder's `reward[t]` is the success of frame t+1. Failed episodes show a dim block in another place
(a near miss). Frames carry sensor noise, so the classifier must generalise rather than memorise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore

HW = (16, 16)
SPECS = {
    "image/front": KeySpec((*HW, 3), "uint8"),
    "image/wrist": KeySpec((*HW, 3), "uint8"),
    "reward": KeySpec((), "float32"),
    "success": KeySpec((), "bool"),
}


def episode(seed: int, successful: bool, length: int = 20) -> tuple[dict[str, np.ndarray], bool]:
    rng = np.random.default_rng(seed)
    frames = rng.integers(20, 80, (length, *HW, 3)).astype(np.uint8)
    success = np.zeros(length, bool)
    if successful:
        on = int(rng.integers(length // 2, length - 4))
        success[on:] = True
        frames[on:, 4:10, 4:10] = (230, 220, 40)
    else:
        frames[length // 2:, 9:15, 9:15] = (120, 110, 30)
    reward = np.concatenate([success[1:], success[-1:]]).astype(np.float32)
    wrist = frames[:, ::-1].copy()
    return {"image/front": frames, "image/wrist": wrist, "reward": reward, "success": success}, successful


def make_store(path: Path, n_success: int = 12, n_fail: int = 8, seed: int = 0, prompt: str = "show the block"
               ) -> Path:
    with EpisodeStore.create(path, SPECS, {"prompt": prompt, "task": "synthetic"}) as store:
        for i in range(n_success + n_fail):
            ep, ok = episode(seed + i, successful=i % (n_success + n_fail) < n_success)
            w = store.begin_episode(source="demo")
            w.extend(ep)
            w.commit(success=ok)
    return path
