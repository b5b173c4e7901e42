"""`robot-rl demo` (`make demo`): the whole loop on the embedded default, the MuJoCo mirror of pick_cube.

1. Record scripted demonstrations with both cameras through the ROS 2 graph `sim_demo` (sim_node, the
   scripted expert as the operator's teleop device, teleop_bridge, recorder_node as separate processes;
   the episodes driven through the recorder's services), or in-process with --no-ros.
2. Check the store (every chunk decoded), plot an episode, export to the diffusion_policy layout.
3. Train the diffusion chunk policy offline on the demonstrations' state observations.
4. Evaluate the offline policy on fixed scenes (the mirror's privileged success predicate), recording its
   failed attempts with both cameras (what an operator watching it would label failed).
5. Train the success classifier on the recorder's labels and the failed attempts (camera frames); score it
   on held-out episodes of both.
6. Fine-tune online: practice with the classifier's reward and scripted resets; the chunked critic is
   pretrained offline when the warm-up ends, then picks the best of N sampled chunks.
7. Evaluate the fine-tuned actor on the same scenes.
8. Measure recording throughput and write OUT/report.html (+ results.json and PNGs).

The stages live in demo_stages.py (offline), demo_finetune.py (acting) and demo_report.py (report).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import resource
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import tyro

from robot_rl.tasks.registry import TASKS

TaskName = Literal[tuple(TASKS)]  # type: ignore[valid-type]
Flat = tyro.conf.arg(name="")
STAGES = 8


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """Sizes of the demo run. The defaults are the quick run (<= 20 min on 2 CPU cores); --full the
    real-size one."""

    out: Path = Path("out/demo")
    """Output directory (replaced if it exists)."""
    task: TaskName = "pick_cube"
    """Mirror task to run."""
    episodes: int = 20
    """Demonstrations to record."""
    image_size: int = 64
    """Side of the square camera images (pixels): what the classifier sees, recorded and in practice."""
    train_steps: int = 4000
    """Gradient steps of offline policy training (2000 left the policy at 1/30 on in-process and ROS
    demonstrations alike)."""
    classifier_steps: int = 1000
    """Gradient steps of the success classifier."""
    classifier_minutes: float = 10.0
    """Wall-clock cap of the classifier's training (min; a safety net: the steps are the budget)."""
    eval_episodes: int = 30
    """Evaluation episodes before and after fine-tuning (the same scenes)."""
    finetune_episodes: int = 40
    """Practice episodes of fine-tuning, warm-up included: the budget (the same work on a loaded machine,
    so the before/after comparison does not depend on the load)."""
    finetune_minutes: float = 0.0
    """Wall-clock cap of fine-tuning (min; 0 = none)."""
    warmup_episodes: int = 10
    """Practice episodes with the offline policy before the first update (WSRL warm-up)."""
    critic_pretrain_steps: int = 500
    """TD steps of the critic's offline pretraining at the end of the warm-up."""
    bench_seconds: float = 10.0
    """Recorded seconds of the recording-throughput measurement."""
    seed: int = 0
    """Seeds the scenes of the demonstrations, training and practice."""
    ros: bool = True
    """Record through the ROS 2 graph; --no-ros records in-process (no rclpy needed)."""
    full: bool = False
    """Real-size run: the FULL sizes replace the ones above."""


FULL: dict[str, Any] = {"episodes": 100, "train_steps": 20000, "classifier_steps": 3000, "eval_episodes": 100,
                        "finetune_episodes": 400, "bench_seconds": 60.0}
"""--full: 100 demonstrations, 20000 policy steps, 400 practice episodes, 100 evaluation episodes (~1.5-2 h on
2 free cores, estimated from the quick run's stage costs)."""


def cpu_seconds() -> float:
    """CPU time (s) of this process and of its children that have exited (the ROS node processes)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class StageClock:
    """Prints `== [n/N] title` when a stage starts and its wall and CPU time when it ends; keeps both (CPU
    time says what a stage costs on free cores when the machine is shared)."""

    def __init__(self, total: int) -> None:
        self.total, self.n, self.times, self.cpu = total, 0, {}, {}

    @contextlib.contextmanager
    def stage(self, key: str, title: str) -> Iterator[None]:
        self.n += 1
        print(f"\n== [{self.n}/{self.total}] {title}", flush=True)
        start, cpu = time.perf_counter(), cpu_seconds()
        yield
        self.times[key], self.cpu[key] = time.perf_counter() - start, cpu_seconds() - cpu
        print(f"== [{self.n}/{self.total}] done in {self.times[key]:.0f} s ({self.cpu[key]:.0f} s CPU)",
              flush=True)


def demo(cfg: Annotated[DemoConfig, Flat] = DemoConfig()) -> int:
    """Run the whole loop on the MuJoCo mirror and write OUT/report.html: demonstrations over ROS 2, offline
    policy, success classifier, online fine-tuning with its reward and scripted resets, evaluation before and
    after on the same scenes."""
    import torch

    if cfg.full:
        cfg = dataclasses.replace(cfg, **FULL)
    torch.set_num_threads(1)  # 2 shared cores: a second thread under contention made steps 20x slower
    out = cfg.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    clock = StageClock(STAGES)
    r = _offline(cfg, clock)
    r |= _online(cfg, clock, r)
    with clock.stage("bench_s", "recording throughput: 2 cameras 480x640 @ 30 Hz + arm state into a store"):
        r["recording"] = _recording_bench(out, cfg.bench_seconds)
    r["timings"], r["cpu_s"] = clock.times, clock.cpu
    report = _report(out, r)
    b, a = r["before"], r["after"]
    print(f"\noffline policy {b['successes']}/{b['episodes']}, fine-tuned {a['successes']}/{a['episodes']} "
          f"on the same scenes; {sum(clock.times.values()) / 60:.1f} min in total\nreport: {report}")
    return 0


def _offline(cfg: DemoConfig, clock: StageClock) -> dict[str, Any]:
    """Stages 1-3: demonstrations, store check, policy."""
    from robot_rl import demo_stages as st

    out, store = cfg.out, cfg.out / "demos.zarr"
    how = "over ROS 2 (sim_demo graph: node processes + recorder services)" if cfg.ros else "in-process"
    r: dict[str, Any] = {"task": cfg.task, "full": cfg.full, "config": dataclasses.asdict(cfg)}
    with clock.stage("collect_s", f"record {cfg.episodes} scripted demonstrations of {cfg.task} {how}"):
        r["collection"] = st.record_demos(cfg.task, cfg.episodes, store, cfg.image_size, cfg.ros,
                                          out / "ros_logs", cfg.seed)
    with clock.stage("check_s", "validate the store, plot an episode, export to the diffusion_policy layout"):
        r["store"] = st.check_store(store, out)
    with clock.stage("policy_s", f"train the diffusion chunk policy offline ({cfg.train_steps} steps)"):
        start = time.perf_counter()
        r["checkpoint"] = st.train_policy(store, out / "policy", cfg.task, cfg.train_steps, cfg.seed)
        r["policy"] = {"steps": cfg.train_steps, "seconds": time.perf_counter() - start}
    return r


def _online(cfg: DemoConfig, clock: StageClock, r: dict[str, Any]) -> dict[str, Any]:
    """Stages 4-7: evaluate, classifier, fine-tune, evaluate again on the same scenes."""
    from robot_rl import demo_finetune as ft
    from robot_rl import demo_stages as st
    from robot_rl.rl.actor import QChunkPolicy
    from robot_rl.rl.offline import load_policy

    res: dict[str, Any] = {"eval_seed": ft.EVAL_SEED}
    failures = cfg.out / "failed_attempts.zarr"
    with clock.stage("eval_before_s", f"evaluate the offline policy on {cfg.eval_episodes} fixed scenes, "
                                      "recording its failed attempts with both cameras"):
        res["before"] = ft.evaluate_policy(QChunkPolicy(load_policy(r["checkpoint"]), None), cfg.task,
                                           cfg.eval_episodes, "offline", failures, cfg.image_size)
    with clock.stage("classifier_s", "train the success classifier on the recorder's labels and the failed "
                                     "attempts"):
        res["classifier"] = st.train_classifier(cfg.out / "demos.zarr", failures, cfg.out / "reward",
                                                cfg.classifier_steps, cfg.classifier_minutes, cfg.seed)
    title = (f"fine-tune online, {cfg.finetune_episodes} practice episodes: classifier reward, scripted "
             f"resets, {cfg.warmup_episodes} warm-up episodes, then critic pretraining and best-of-N")
    with clock.stage("finetune_s", title):
        overrides = {"warmup_episodes": cfg.warmup_episodes,
                     "critic_pretrain_steps": cfg.critic_pretrain_steps}
        learner, res["finetune"] = ft.finetune_online(
            cfg.task, r["checkpoint"], cfg.out / "demos.zarr", cfg.out / "reward", cfg.out / "finetune",
            cfg.image_size, cfg.finetune_minutes, cfg.finetune_episodes, overrides, cfg.seed)
    with clock.stage("eval_after_s", f"evaluate the fine-tuned actor on the same {cfg.eval_episodes} scenes"):
        res["after"] = ft.evaluate_policy(learner.actor(cfg.seed), cfg.task, cfg.eval_episodes, "fine-tuned")
    return res


def _recording_bench(out: Path, seconds: float) -> dict[str, Any]:
    from robot_rl.bench.store_bench import record

    result = record(out / "bench_store.zarr", seconds)
    shutil.rmtree(out / "bench_store.zarr")
    return result


def _report(out: Path, r: dict[str, Any]) -> Path:
    """The PNGs, OUT/results.json and OUT/report.html."""
    from robot_rl import demo_report as rep

    print("\nwriting the report", flush=True)
    ft = r["finetune"]
    rep.plot_before_after(r["before"], r["after"], out / "before_after.png")
    rep.plot_learning_curve(ft, r["before"], r["after"], out / "curve.png")
    rep.plot_training(ft, out / "training.png")
    rep.plot_practice_frames(out / "finetune" / "practice.zarr", ft, out / "practice_frames.png")
    (out / "results.json").write_text(json.dumps(_jsonable(r), indent=2, default=str) + "\n")
    return rep.write_report(out, r)


def _jsonable(r: dict[str, Any]) -> dict[str, Any]:
    """results.json: the practice records cut to what the classifier and the predicate said (the full ones
    are in finetune/episodes.jsonl)."""
    keys = ("episode", "success", "predicate_success", "length", "env_steps", "updates")
    ft = r["finetune"] | {"records": [{k: rec[k] for k in keys} for rec in r["finetune"]["records"]]}
    return r | {"finetune": ft}
