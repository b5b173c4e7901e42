"""`robot-rl demo` (`make demo`): the main job on the embedded default, the MuJoCo mirror of pick_cube.

Today it runs the part of the pipeline that is wired in: record demonstrations on the mirror into an
EpisodeStore — through the ROS 2 graph `sim_demo` (sim_node, the scripted expert as the operator's
teleop device, teleop_bridge, recorder_node as separate processes, episodes driven through the
recorder's services; ros/demo_collect.py), or in-process with --no-ros — check, plot and export the
store, train the diffusion chunk policy offline and evaluate it in the mirror, measure recording
throughput, and write an HTML report. Fine-tuning joins next.
"""

from __future__ import annotations

import html
import json
import shutil
import time
from pathlib import Path

from robot_rl.tasks.registry import TASKS

STAGES = 5


def record_demos(task: str, episodes: int, store: Path, image_size: int, ros: bool, log_dir: Path) -> dict:
    """Stage 1: scripted demonstrations into `store`, over the ROS graph or in-process; returns how it went
    (collector, seconds per episode, and for ROS the operator's per-episode outcomes)."""
    start = time.perf_counter()
    if ros:
        from robot_rl.ros.demo_collect import collect_over_ros

        try:
            import rclpy  # noqa: F401
        except ImportError as e:
            raise SystemExit(f"robot-rl demo: recording over ROS 2 needs rclpy ({e}): install the ROS 2 "
                             "wheels (pip install -e '.[ros-wheels]') or source a ROS 2 install; --no-ros "
                             "records in-process") from e
        return {"collector": "ros", **collect_over_ros(task, episodes, store, image_size, log_dir=log_dir)}
    from robot_rl.env.cli import collect

    collect(task=task, episodes=episodes, store=store, image_size=image_size)
    return {"collector": "in_process", "s_per_episode": (time.perf_counter() - start) / episodes}


def train_and_evaluate(store: Path, out: Path, task: str, steps: int, episodes: int) -> dict:
    """Train the diffusion chunk policy on the store's state observations, evaluate it closed-loop in the
    task's mirror on scenes the demonstrations never saw; returns success, 95% CI and timings."""
    from robot_rl.data.store import EpisodeStore
    from robot_rl.policies.policy import PolicyConfig
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.eval import evaluate
    from robot_rl.rl.offline import load_policy
    from robot_rl.rl.train_cli import make_env, train

    with EpisodeStore.open(store) as db:  # state observations only: image policies need more compute
        state_keys = tuple(k for k in db.keys if k.startswith("state/"))
    cfg = TrainConfig(policy=PolicyConfig(obs_keys=state_keys), steps=steps, eval_episodes=0,
                      ckpt_every=steps, threads=1)
    train(store=store, out=out, task=task, cfg=cfg)
    policy = load_policy(out / "last.safetensors")
    env = make_env(task, None, policy.shapes)
    result = evaluate(policy, env, episodes, seed=10_000)  # seeds disjoint from the demonstrations'
    env.close()
    return {"steps": steps, "episodes": result.episodes, "successes": result.successes,
            "success_rate": result.success_rate, "ci95": list(result.ci95), "mean_length": result.mean_length,
            "plan_ms_p50": result.plan_ms_p50, "summary": result.summary()}


def demo(out: Path = Path("out/demo"), task: str = "pick_cube", episodes: int = 20, image_size: int = 96,
         train_steps: int = 2000, eval_episodes: int = 20, bench_seconds: float = 10.0,
         full: bool = False, ros: bool = True) -> int:
    """Run the main job on the MuJoCo mirror and write `out/report.html`.

    Args:
        out: Output directory (replaced if it holds an earlier demo).
        task: Mirror task to run.
        episodes: Demonstrations to record (quick default); --full records 100.
        image_size: Side of the square camera images, pixels.
        train_steps: Gradient steps of offline policy training (state observations).
        eval_episodes: Closed-loop evaluation episodes of the trained policy in the mirror.
        bench_seconds: Recorded time of the recording-throughput measurement (s).
        full: Real-size run: 100 demonstrations, 20000 training steps, 50 evaluation episodes and a
            60 s recording benchmark.
        ros: Record through the ROS 2 graph (node processes, recorder services); --no-ros records
            in-process with the same scripted expert (no rclpy needed).
    """
    from robot_rl.bench.store_bench import record
    from robot_rl.data.export import export_diffusion_policy
    from robot_rl.data.plot import plot_episode
    from robot_rl.data.store import EpisodeStore
    from robot_rl.data.validate import summarize, validate_store

    if task not in TASKS:
        raise SystemExit(f"robot-rl demo: unknown task {task!r}; tasks: {sorted(TASKS)}")
    if full:
        episodes, train_steps, eval_episodes, bench_seconds = 100, 20000, 50, 60.0
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    timings: dict[str, float] = {}

    def stage(n: int, title: str) -> float:
        print(f"\n== [{n}/{STAGES}] {title}", flush=True)
        return time.perf_counter()

    how = "over ROS 2 (sim_demo graph: node processes + recorder services)" if ros else "in-process"
    t = stage(1, f"record {episodes} scripted demonstrations of {task} on the MuJoCo mirror {how}")
    store_path = out / "demos.zarr"
    collection = record_demos(task, episodes, store_path, image_size, ros, out / "ros_logs")
    timings["collect_s"] = time.perf_counter() - t

    t = stage(2, "validate the store (every chunk decoded) and summarise it")
    problems = validate_store(store_path, deep=True, progress=True)
    errors = [p.message for p in problems if p.severity == "error"]
    if errors:
        raise SystemExit(f"robot-rl demo: the recorded store failed validation: {errors}")
    summary = summarize(store_path)
    timings["validate_s"] = time.perf_counter() - t

    t = stage(3, "plot an episode and export to the diffusion_policy layout")
    store = EpisodeStore.open(store_path)
    metas = store.all_meta()
    plot_episode(store_path, 0, out / "episode0.png")
    # what a diffusion_policy config reads: observations, action, reward; not the recorder's bookkeeping
    # (valid/, capture_time/, frame_number/, target/), whose camera names would clash with the images'
    keys = [k for k in store.keys if k.startswith(("state/", "image/", "depth/"))
            or k in ("action", "reward", "terminal", "time")]
    names = export_diffusion_policy(store_path, out / "demos_diffusion_policy.zarr", keys, progress=True)
    timings["plot_export_s"] = time.perf_counter() - t

    t = stage(4, f"train the diffusion chunk policy offline ({train_steps} steps) and evaluate it")
    policy_result = train_and_evaluate(store_path, out / "policy", task, train_steps, eval_episodes)
    timings["train_eval_s"] = time.perf_counter() - t

    t = stage(5, "recording throughput: 2 cameras 480x640 at 30 Hz + arm state")
    bench = record(out / "bench_store.zarr", bench_seconds)
    shutil.rmtree(out / "bench_store.zarr")
    timings["bench_s"] = time.perf_counter() - t

    results = {
        "task": task, "episodes": len(metas), "steps": store.n_steps,
        "expert_success_rate": sum(m.success == 1 for m in metas) / len(metas),
        "mean_episode_length": store.n_steps / len(metas), "store_bytes": store.size_on_disk(),
        "export_names": names, "recording": bench, "policy": policy_result, "timings": timings,
        "collection": collection,
        "warnings": [p.message for p in problems],
    }
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    _write_report(out, results, summary)
    print(f"\nexpert success {results['expert_success_rate']:.0%} over {len(metas)} episodes; offline policy "
          f"{policy_result['summary']}; recording {bench['write_realtime_factor']:.1f}x real time")
    print(f"report: {out / 'report.html'}")
    return 0


def _write_report(out: Path, r: dict, summary: dict) -> None:
    rec = r["recording"]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in [
        ("task", r["task"]), ("episodes", r["episodes"]), ("steps", r["steps"]),
        ("demonstrations recorded", "over ROS 2: sim_node + expert_teleop + teleop_bridge + recorder_node"
         if r["collection"]["collector"] == "ros" else "in-process"),
        ("scripted expert success", f"{r['expert_success_rate']:.0%}"),
        ("recording wall time per episode", f"{r['collection']['s_per_episode']:.1f} s"),
        ("mean episode length (steps)", f"{r['mean_episode_length']:.1f}"),
        (f"offline diffusion policy ({r['policy']['steps']} steps, state obs)", r["policy"]["summary"]),
        ("policy chunk latency p50", f"{r['policy']['plan_ms_p50']:.1f} ms"),
        ("store size", f"{r['store_bytes'] / 2**20:.1f} MiB"),
        ("recording real-time factor (2x 480x640 @ 30 Hz)", f"{rec['write_realtime_factor']:.1f}x"),
        ("append p99", f"{rec['append_p99_ms']:.1f} ms"),
        ("bytes per 480x640 frame", f"{rec['bytes_per_frame']:,.0f} of {rec['raw_bytes_per_frame']:,}"),
    ])
    keys = "".join(f"<tr><td>{html.escape(k)}</td><td>{tuple(v['shape'])}</td><td>{v['dtype']}</td>"
                   f"<td>{html.escape(v['units'])}</td><td>{html.escape(v['frame'])}</td></tr>"
                   for k, v in summary["keys"].items())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>robot_rl demo: {r['task']}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}td{{padding:2px 12px}}
img{{max-width:100%;border:1px solid #ccc}}</style></head><body>
<h1>robot_rl demo: {html.escape(r['task'])} on the MuJoCo mirror</h1>
<h2>Summary</h2><table>{rows}</table>
<h2>Recorded keys</h2><table><tr><th>key</th><th>shape</th><th>dtype</th><th>units</th>
<th>frame</th></tr>{keys}</table>
<h2>Episode 0: low-dim signals</h2><img src="episode0.png">
<h2>Episode 0: camera frames</h2><img src="episode0_frames.png">
<p>Stage timings (s): {html.escape(json.dumps({k: round(v, 1) for k, v in r['timings'].items()}))}</p>
</body></html>"""
    (out / "report.html").write_text(page)
