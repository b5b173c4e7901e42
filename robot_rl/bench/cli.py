"""`robot-rl bench NAME --json PATH`: benchmarks, each writing its results as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import tyro

from robot_rl.bench.finetune_bench import FinetuneBenchConfig
from robot_rl.bench.reset_free_bench import ResetFreeBenchConfig
from robot_rl.bench.store_bench import StoreBenchConfig
from robot_rl.rewards.bench import RewardBenchConfig

# flags read --json, not --cfg.json
Flat = tyro.conf.arg(name="")


def store(cfg: Annotated[StoreBenchConfig, Flat]) -> int:
    """Recording throughput (2 cameras 480x640 at 30 Hz + arm state) and sampler speed of the EpisodeStore."""
    from robot_rl.bench.store_bench import run

    run(cfg)
    return 0


def sim(json: Path = Path("out/bench/sim.json"), steps: int = 300, image_steps: int = 100) -> int:
    """Environment steps per second of every mirror task, state-only and with two 128x128 cameras.

    Args:
        json: Where to write the results (JSON).
        steps: Control steps timed per task without images.
        image_steps: Control steps timed per task with two 128x128 cameras.
    """
    from robot_rl.bench.sim_bench import run_sim_bench

    run_sim_bench(json, steps=steps, image_steps=image_steps)
    return 0


def devices(json: Path = Path("out/bench/devices.json"), frames: int = 300, trials: int = 50) -> int:
    """Device drivers against their real peers: RealSense read latency (librealsense software device),
    Franka command roundtrip and safety-watchdog reaction (franky-sim on loopback).

    Args:
        json: Where to write the results (JSON).
        frames: Frames injected for the camera latency.
        trials: Franka roundtrip trials (watchdog trials: a tenth of it, at least 3).
    """
    from robot_rl.bench.common import write_json
    from robot_rl.bench.devices_bench import camera_read_latency
    from robot_rl.bench.franka_bench import franka_numbers

    write_json(json, "devices", {**camera_read_latency(frames), **franka_numbers(trials)})
    return 0


def ros(json: Path = Path("out/bench/ros.json"), duration: float = 60.0,
        jitter_duration: float = 10.0) -> int:
    """ROS 2 across processes: two 640x480 colour streams at 30 Hz into the recorder (latency p99, drop
    rate) and control-loop timer jitter at 10 Hz and 100 Hz.

    Args:
        json: Where to write the results (JSON).
        duration: Seconds of image streaming.
        jitter_duration: Seconds per control-loop rate.
    """
    from robot_rl.bench.ros_bench import run_ros_bench

    run_ros_bench(json, duration=duration, jitter_duration=jitter_duration)
    return 0


def policy_latency(json: Path = Path("out/bench/policy_latency.json"), reps: int = 200, ddpm_reps: int = 30,
                   threads: int = 1) -> int:
    """Per-chunk sampling latency (p50/p99) of the diffusion policy on CPU: DDIM 4/8/16 and DDPM 100,
    state-only and two 96x96 cameras.

    Args:
        json: Where to write the results (JSON).
        reps: Timed chunks per DDIM setting.
        ddpm_reps: Timed chunks for DDPM 100 (slow).
        threads: torch threads.
    """
    from robot_rl.bench.latency_bench import run

    run(json, reps=reps, ddpm_reps=ddpm_reps, threads=threads)
    return 0


def bc(json: Path = Path("out/bench/bc.json"), images: bool = False, state: bool = True, demos: int = 50,
       steps: int = 8000, minutes: float = 13.0, image_steps: int = 3000, image_minutes: float = 13.0,
       eval_episodes: int = 50, image_size: int = 96, threads: int = 1, seed: int = 0,
       keep: Path | None = None, image_batch_size: int = 32) -> int:
    """Behaviour cloning on pick_cube: collect scripted demos, train the quick diffusion-policy config on CPU
    within a step and wall-clock budget, evaluate closed-loop (success rate, 95% CI, train time).

    Args:
        json: Where to write the results (JSON).
        images: Also run the image variant (robot state + front/wrist cameras, no privileged state).
        state: Run the state-observation variant.
        demos: Scripted demonstrations per variant.
        steps: Training steps of the state variant.
        minutes: Wall-clock training budget of the state variant.
        image_steps: Training steps of the image variant.
        image_minutes: Wall-clock training budget of the image variant.
        image_batch_size: Windows per update of the image variant (a batch of 64 costs ~5x the time of 32
            on CPU, past the caches).
        eval_episodes: Evaluation episodes per variant.
        image_size: Camera image side (pixels) of the image variant.
        threads: torch CPU threads for training and evaluation (1: with other jobs on the 2 cores, a second
            OpenMP thread made training steps 20x slower, 2 s instead of 0.06 s).
        seed: Seed of the demos (episode k uses seed + k) and of training.
        keep: Keep stores and checkpoints in this directory (default: a temporary directory, removed).
    """
    from robot_rl.bench.bc_bench import run

    variants = tuple(v for v, on in (("state", state), ("images", images)) if on)
    run(json, variants, demos, steps, minutes, image_steps, image_minutes, eval_episodes, image_size, threads,
        seed, keep, image_batch_size)
    return 0


def reward(cfg: Annotated[RewardBenchConfig, Flat], json: Path = Path("out/bench/reward.json"),
           keep: Path | None = None) -> int:
    """Success classifiers on the mirror: per task, 50 demos + noisy and stalled failures, trained from the
    recorder's labels (threshold and hysteresis k chosen on validation episodes of the training store);
    precision/recall/false-positive rates against privileged success on held-out episodes, train time,
    and a PNG of the hardest mistakes per task next to the JSON.

    Args:
        cfg: What is recorded, trained and evaluated.
        json: Where to write the results (JSON).
        keep: Keep stores and models in this directory (default: a temporary one, removed); a rerun with
            the same directory reuses the recorded stores.
    """
    from robot_rl.rewards.bench import run_reward_bench

    run_reward_bench(json, cfg, keep)
    return 0


def finetune(cfg: Annotated[FinetuneBenchConfig, Flat]) -> int:
    """Online fine-tuning on the mirror: pretrain from few demos (<= 50% success), fine-tune with Q-chunking
    on a wall-clock budget with the simulated operator taking over mistakes, then BC-only and
    RLPD-from-scratch with the same environment steps; success over fixed-seed evaluation episodes,
    learning-curve PNGs."""
    from robot_rl.bench.finetune_bench import run

    run(cfg)
    return 0


def reset_free(cfg: Annotated[ResetFreeBenchConfig, Flat], json: Path = Path("out/bench/reset_free.json"),
               keep: Path | None = None) -> int:
    """Reset-free forward/backward practice on drawer_open: a learned backward policy resets (its pass rate
    on its own first), the forward policy is fine-tuned online by the Learner; forward success
    before/after/control with Wilson CIs, backward success, wall time.

    Args:
        cfg: Demos, training, practice and evaluation sizes.
        json: Where to write the results (JSON).
        keep: Keep the run directories (stores, checkpoints, logs) here.
    """
    from robot_rl.bench.reset_free_bench import run_reset_free_bench

    run_reset_free_bench(json, cfg, keep)
    return 0


COMMANDS = {"store": store, "sim": sim, "devices": devices, "ros": ros, "policy-latency": policy_latency,
            "bc": bc, "reward": reward, "finetune": finetune, "reset-free": reset_free}
