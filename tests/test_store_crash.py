"""A writer killed at any instant, or stopped by a full disk, never damages committed episodes."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from robot_rl.data.store import EpisodeStore
from tests.helpers.store_writer import episode

ROOT = Path(__file__).resolve().parents[1]
N_KILLS = 25


def _check_committed(path: Path) -> tuple[int, bool]:
    """Reopen (running recovery), check every committed episode; returns (episodes, tail was dropped)."""
    store = EpisodeStore.open(path, mode="a")  # runs recovery, like any writer would
    n = store.n_episodes
    for i in range(n):
        got, want = store.read_episode(i), episode(i)
        for k in want:
            assert got[k].tobytes() == want[k].tobytes(), f"episode {i} key {k} damaged"
        meta = store.episode_meta(i)
        assert meta.info == {"n": i} and meta.success == i % 2
    for key in store.keys:  # no partial episode survives recovery
        assert store.array(key).shape[0] == store.n_steps
    assert not list(path.rglob("*.partial"))
    store.close()
    return n, bool(store.recovery["dropped_steps"] or store.recovery["dropped_episode_entries"])


def test_sigkill_at_random_moments_never_damages_committed_episodes(tmp_path):
    path = tmp_path / "store"
    rng = np.random.default_rng(0)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    committed = mid_episode_kills = 0
    for _ in range(N_KILLS):
        proc = subprocess.Popen([sys.executable, "-m", "tests.helpers.store_writer", str(path), "100000"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        # kill somewhere inside appends or a commit (an episode takes ~5-60 ms to write)
        try:
            proc.wait(timeout=float(rng.uniform(0.0, 0.4)))
        except subprocess.TimeoutExpired:
            pass
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        n, dropped_tail = _check_committed(path)
        assert n >= committed, "committed episodes disappeared"
        committed = n
        mid_episode_kills += dropped_tail
    assert committed > N_KILLS, "the writer should have committed episodes between kills"
    assert mid_episode_kills >= N_KILLS // 2, "most kills should land inside an episode in flight"


def test_crash_between_any_two_writes_of_a_commit(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    outcomes = []
    for crash_at in range(40):
        path = tmp_path / f"store{crash_at}"
        cmd = [sys.executable, "-m", "tests.helpers.store_writer", "crash-during-commit", path, str(crash_at)]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        n, _ = _check_committed(path)
        finished = proc.returncode == 0
        assert n == (3 if finished else 2), f"crash at write {crash_at}: {n} episodes ({proc.stderr[-500:]})"
        outcomes.append(finished)
        if finished:
            break
    assert outcomes[-1] and len(outcomes) > 5, "the commit should involve several writes, all crash-tested"


def _run_in_tmpfs(tmp_path: Path, script: str) -> dict:
    """Run `script` with a 3 MiB tmpfs mounted at $MNT in a private mount namespace."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed: cannot mount a small tmpfs")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    (tmp_path / "child.py").write_text(textwrap.dedent(script))
    cmd = f"mount -t tmpfs -o size=3m tmpfs {mnt} && exec {sys.executable} {tmp_path / 'child.py'} {mnt}"
    proc = subprocess.run(["unshare", "-Urm", "sh", "-c", cmd], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    if proc.returncode != 0 and "mount" in proc.stderr and "Traceback" not in proc.stderr:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_full_disk_raises_clear_error_and_keeps_committed_episodes(tmp_path):
    result = _run_in_tmpfs(tmp_path, """
        import json, sys
        import numpy as np
        from robot_rl.data.errors import StoreFullError
        from robot_rl.data.store import EpisodeStore
        from tests.helpers.store_writer import SPECS, episode

        path = sys.argv[1] + "/store"
        store = EpisodeStore.create(path, SPECS)
        error, n = None, 0
        try:
            while True:  # each episode ~0.1 MiB of barely compressible frames: fills 3 MiB quickly
                ep = episode(n)
                w = store.begin_episode(source="demo", n=n)
                for i in range(len(ep["state/q"])):
                    w.append({k: v[i] for k, v in ep.items()})
                w.commit(success=bool(n % 2))
                n += 1
        except StoreFullError as e:
            error = str(e)
            w.discard()
        store.close()
        store = EpisodeStore.open(path, mode="a")
        ok = all(store.read_episode(i)[k].tobytes() == episode(i)[k].tobytes()
                 for i in range(store.n_episodes) for k in SPECS)
        print(json.dumps({"error": error, "committed_before": n, "reopened": store.n_episodes, "intact": ok}))
    """)
    assert "disk full" in result["error"] and "committed episodes are intact" in result["error"]
    assert result["committed_before"] > 3
    assert result["reopened"] == result["committed_before"]
    assert result["intact"]
