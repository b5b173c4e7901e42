"""`robot-rl demo` end to end at toy size: every stage runs and the report shows real numbers."""

import json

from robot_rl.cli import main


def test_demo_toy_size(tmp_path):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--episodes", "2", "--image-size", "32", "--bench-seconds", "1",
            "--train-steps", "20", "--eval-episodes", "2"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["episodes"] == 2 and results["steps"] > 20
    assert results["expert_success_rate"] == 1.0
    assert results["recording"]["write_realtime_factor"] > 0
    assert results["export_names"]["image/front"] == "front"
    assert results["policy"]["episodes"] == 2 and 0 <= results["policy"]["success_rate"] <= 1
    report = (out / "report.html").read_text()
    assert "scripted expert success" in report and "100%" in report and "offline diffusion policy" in report
    for png in ("episode0.png", "episode0_frames.png"):
        assert (out / png).stat().st_size > 10_000
    assert (out / "demos_diffusion_policy.zarr" / "meta" / "episode_ends" / ".zarray").exists()
