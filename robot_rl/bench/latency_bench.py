"""`robot-rl bench policy-latency`: time to produce one action chunk (B = 1) on CPU.

Eager `sample` and the torch.compile'd DDIM loop (`compiled_sampler`, the deployment path) are both
timed. Policies are built with the quick PolicyConfig and random weights (weights do not change the cost) for
pick_cube's observation shapes: state-only (robot + privileged object state, 22 numbers per step) and
two 96x96 cameras plus robot state. Each sampler (DDIM 4/8/16 steps, DDPM 100 steps) is timed per
chunk, including normalization and observation encoding, after warm-up.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.bench.common import write_json

STATE = {"state/ee_pos": (3,), "state/ee_quat": (4,), "state/gripper": (1,), "state/q": (7,)}
PRIVILEGED = {"state/object_pos": (3,), "state/object_quat": (4,)}
VARIANTS = {
    "state": STATE | PRIVILEGED,
    "2cam96": STATE | {"image/front": (96, 96, 3), "image/wrist": (96, 96, 3)},
}
SAMPLERS = [("ddim", 4), ("ddim", 8), ("ddim", 16), ("ddpm", 100)]


def build_policy(shapes: dict[str, tuple[int, ...]], cfg: Any = None) -> Any:
    import torch

    from robot_rl.data.normalizer import Normalizer
    from robot_rl.policies.policy import DiffusionChunkPolicy, PolicyConfig

    shapes = shapes | {"action": (7,)}
    stats = {k: (-np.ones(s, np.float32), np.ones(s, np.float32)) for k, s in shapes.items()
             if not k.startswith("image/")}
    torch.manual_seed(0)
    return DiffusionChunkPolicy(cfg or PolicyConfig(), shapes, Normalizer(stats)).eval()


def time_policy(policy: Any, sampler: str, steps: int, reps: int, warmup: int = 3,
                compiled: bool = False) -> dict[str, float]:
    """Per-chunk latency of `policy.sample` at B = 1, or of its compiled DDIM sampler (no compile time)."""
    import torch

    g = torch.Generator().manual_seed(0)
    obs = {k: (torch.randint(0, 256, (1, policy.cfg.n_obs, *s), dtype=torch.uint8, generator=g)
               if k.startswith("image/") else torch.rand(1, policy.cfg.n_obs, *s, generator=g))
           for k, s in policy.shapes.items() if k != policy.cfg.action_key}
    fast = policy.compiled_sampler(steps) if compiled else None
    times = []
    for i in range(warmup + reps):
        start = time.perf_counter()
        if fast is not None:
            fast(obs, torch.randn(1, 1, policy.cfg.horizon, policy.action_dim, generator=g))
        else:
            policy.sample(obs, 1, steps=steps, sampler=sampler, generator=g)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    ms = np.array(times) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "reps": reps}


def run(json: Path, reps: int = 200, ddpm_reps: int = 30, threads: int = 1,
        compiled_steps: tuple[int, ...] = (8,)) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    results: dict[str, Any] = {"threads": threads, "batch": 1, "rows": []}
    for variant, shapes in VARIANTS.items():
        policy = build_policy(shapes)
        params = sum(p.numel() for p in policy.parameters())
        for sampler, steps in SAMPLERS:
            row = {"variant": variant, "sampler": sampler, "steps": steps, "params": params,
                   **time_policy(policy, sampler, steps, ddpm_reps if sampler == "ddpm" else reps)}
            results["rows"].append(row)
            print(f"{variant:>7} {sampler}-{steps:<3}  p50 {row['p50_ms']:7.2f} ms  "
                  f"p99 {row['p99_ms']:7.2f} ms")
            results[f"{variant}_{sampler}{steps}_p99_ms"] = row["p99_ms"]
        for steps in compiled_steps:  # torch.compile'd DDIM loop (compile time reported, not timed per chunk)
            start = time.perf_counter()
            row = {"variant": variant, "sampler": "ddim-compiled", "steps": steps, "params": params,
                   **time_policy(policy, "ddim", steps, reps, warmup=1, compiled=True)}
            row["compile_and_warmup_s"] = time.perf_counter() - start - row["mean_ms"] * reps / 1000
            results["rows"].append(row)
            print(f"{variant:>7} ddim-{steps} compiled  p50 {row['p50_ms']:7.2f} ms  "
                  f"p99 {row['p99_ms']:7.2f} ms  "
                  f"(compile {row['compile_and_warmup_s']:.0f} s)")
            results[f"{variant}_ddim{steps}_compiled_p99_ms"] = row["p99_ms"]
    results["targets"] = {"state_ddim8_p99_ms<=10": results["state_ddim8_p99_ms"] <= 10,
                          "2cam96_ddim8_p99_ms<=40": results["2cam96_ddim8_p99_ms"] <= 40}
    if 8 in compiled_steps:
        results["targets"] |= {
            "state_ddim8_compiled_p99_ms<=10": results["state_ddim8_compiled_p99_ms"] <= 10,
            "2cam96_ddim8_compiled_p99_ms<=40": results["2cam96_ddim8_compiled_p99_ms"] <= 40}
    from robot_rl.policies.policy import PolicyConfig

    results["config"] = {"policy": str(PolicyConfig())}
    return write_json(json, "policy-latency", results)
