"""`robot-rl bench reward` end to end at toy size: mirror episodes recorded, a classifier trained and
evaluated on held-out scenes, results and the mistakes PNG written, stores reused by a rerun."""

import dataclasses
import json

import pytest

from robot_rl.data.store import EpisodeStore
from robot_rl.rewards.bench import RewardBenchConfig, run_reward_bench

TOY = RewardBenchConfig(tasks=("pick_cube",), demos=4, noisy=0, stalls=1, test_demos=1, test_noisy=0,
                        test_stalls=1, image_size=16, steps=20)


def test_toy_bench_writes_results_and_reuses_its_stores(tmp_path):
    keep, out = tmp_path / "keep", tmp_path / "bench" / "reward.json"
    run_reward_bench(out, TOY, keep)
    res = json.loads(out.read_text())
    task = res["tasks"]["pick_cube"]
    assert task["episodes"]["train_demo_noise0.0"]["episodes"] == 4
    assert task["episodes"]["test_stall_noise0.0"]["successful"] == 0
    assert res["pick_cube_fit_steps"] == 20 and res["pick_cube_k"] in TOY.k
    assert 0.5 <= res["pick_cube_threshold"] <= 1.0  # chosen on validation, never below min_threshold
    assert task["test"]["episodes"] == 2 and task["test"]["positive_frames"] > 0
    by_k = task["test"]["by_k"]  # longer hysteresis flags a subset of the frames: recall can only drop
    assert by_k["1"]["recall"] >= by_k["2"]["recall"] >= by_k["3"]["recall"]
    assert isinstance(res["pick_cube_passed"], bool) and res["cpu_seconds"] > 0
    assert (out.parent / "reward_mistakes_pick_cube.png").stat().st_size > 1000

    run_reward_bench(out, dataclasses.replace(TOY, steps=10), keep)  # same plan: no new episodes
    with EpisodeStore.open(keep / "pick_cube" / "train.zarr") as s:
        assert s.n_episodes == 5
    assert json.loads(out.read_text())["pick_cube_fit_steps"] == 10
    with pytest.raises(ValueError, match="another plan"):
        run_reward_bench(out, dataclasses.replace(TOY, test_seed=7), keep)
