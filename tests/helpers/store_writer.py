"""Child process for the crash tests: appends deterministic episodes to a store until killed.

Episode n's contents are a pure function of n (`episode(n)`), so the parent can check every
committed episode byte for byte after a SIGKILL at any moment.
"""

import os
import sys

import numpy as np

from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore

SPECS = {
    "image/cam": KeySpec((24, 32, 3), "uint8"),  # one frame per chunk: the whole-chunk fast path
    "state/q": KeySpec((7,), "float32", chunk_steps=16),  # chunks shared across episodes: zarr merges
    "terminal": KeySpec((), "bool", chunk_steps=64),
}


def episode(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n)
    t = int(rng.integers(1, 40))
    return {
        "image/cam": rng.integers(0, 255, (t, 24, 32, 3), dtype=np.uint8),
        "state/q": rng.standard_normal((t, 7)).astype(np.float32),
        "terminal": np.arange(t) == t - 1,
    }


def main(path: str, max_episodes: int) -> None:
    store = EpisodeStore.create(path, SPECS, exist_ok=True)
    print("ready", flush=True)
    while store.n_episodes < max_episodes:
        n = store.n_episodes
        ep = episode(n)
        w = store.begin_episode(source="demo", n=n)
        for i in range(len(ep["state/q"])):
            w.append({k: v[i] for k, v in ep.items()})
        w.commit(success=bool(n % 2))
    print("done", flush=True)




def crash_during_commit(path: str, crash_at: int) -> None:
    """Commit episodes 0 and 1, then die (os._exit) just before the `crash_at`-th disk operation of
    episode 2's commit: every boundary between the commit protocol's writes is a crash point."""
    from robot_rl.data.writer import EpisodeWriter

    calls = iter(range(10**6))
    guarded = EpisodeWriter._guarded

    def dying(self, fn):
        if next(calls) == crash_at:
            os._exit(9)
        guarded(self, fn)

    store = EpisodeStore.create(path, SPECS, exist_ok=True)
    for n in range(3):
        w = store.begin_episode(source="demo", n=n)
        w.extend(episode(n))
        if n == 2:
            EpisodeWriter._guarded = dying
        w.commit(success=bool(n % 2))
    print("committed all", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "crash-during-commit":
        crash_during_commit(sys.argv[2], int(sys.argv[3]))
    else:
        main(sys.argv[1], int(sys.argv[2]))
