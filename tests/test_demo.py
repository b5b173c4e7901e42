"""`robot-rl demo` end to end at toy size: every stage runs (demonstrations over ROS 2, offline policy,
success classifier, fine-tuning with its reward and scripted resets, evaluation before and after) and the
report shows real numbers."""

import json

from robot_rl.cli import main

SECTIONS = ("Summary", "1. Demonstrations", "2. Offline training", "3. Success classifier", "4. Fine-tuning",
            "5. Before and after", "6. Policy latency", "7. Recording throughput", "8. Practice episodes")


def test_demo_toy_size(tmp_path):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--episodes", "2", "--image-size", "32", "--train-steps", "20",
            "--classifier-steps", "20", "--eval-episodes", "2", "--finetune-episodes", "2",
            "--warmup-episodes", "1", "--critic-pretrain-steps", "10", "--bench-seconds", "1"]
    assert main(args) == 0
    r = json.loads((out / "results.json").read_text())
    assert r["collection"]["collector"] == "ros" and r["collection"]["episodes"] == 2
    assert r["store"]["episodes"] == 2 and r["store"]["demo_success_rate"] == 1.0
    assert r["store"]["export_names"]["image/front"] == "front"
    # the classifier is scored against the mirror's per-frame predicate on a held-out demonstration,
    # whose last frames show the finished task
    held = r["classifier"]["held_out"]
    assert r["classifier"]["val_episodes"] == 1 and held["positive_frames"] >= 5 and held["frames"] > 20
    # the offline policy's failed evaluation episodes (20 training steps: all of them) join its training
    failed = r["before"]["episodes"] - r["before"]["successes"]
    assert r["before"]["failures_recorded"] == failed
    assert r["classifier"]["failed_train_episodes"] + r["classifier"]["failed_val_episodes"] == failed
    for run in (r["before"], r["after"]):  # the same fixed scenes before and after
        assert run["episodes"] == 2 and 0 <= run["success_rate"] <= 1 and run["chunk_ms_p50"] > 0
        lo, hi = run["ci95"]
        assert 0 <= lo <= run["success_rate"] <= hi <= 1
    ft = r["finetune"]
    assert ft["episodes"] == 2 and ft["updates"] > 0 and ft["critic_steps"] >= 10
    assert ft["resets"]["scripted"] >= 2  # a scripted reset after every practice episode
    # every environment step of practice was rewarded by the classifier, with the predicate beside it
    assert ft["reward_on_policy"]["frames"] == ft["env_steps"]
    assert r["recording"]["write_realtime_factor"] > 0
    assert set(r["timings"]) >= {"collect_s", "policy_s", "classifier_s", "finetune_s", "bench_s"}
    report = (out / "report.html").read_text()
    for section in SECTIONS:
        assert f">{section}" in report, section
    assert "95% CI" in report
    for png in ("episode0.png", "episode0_frames.png", "before_after.png", "curve.png", "training.png",
                "practice_frames.png", "reward/mistakes.png"):
        assert (out / png).stat().st_size > 5_000, png
    assert (out / "demos_diffusion_policy.zarr" / "meta" / "episode_ends" / ".zarray").exists()
