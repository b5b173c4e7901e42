"""Scripted-reset success rate on a task's mirror (the issue's acceptance measurement).

Reset-free chain: the task's expert (with action noise, so end states include failures) runs an episode
from the current scene, then the scripted reset + predicate verification (retries, no teleport, no
operator). Every scripted attempt counts. A reset still unverified after its retries is recorded and
the scene is teleported back so the chain goes on (that teleport is counted, never hidden).

Run: `python -m robot_rl.resets.measure pick_cube --attempts 50 --json out/resets_pick_cube.json`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from robot_rl.resets.scripted import ScriptedReset
from robot_rl.resets.verify import PredicateVerifier, VerifyConfig, verified_reset
from robot_rl.rl.eval import wilson_interval


def measure(task: str, episodes: int = 50, noise: float = 0.1, seed: int = 0) -> dict:
    from robot_rl.env.robot_env import RobotEnv

    env = RobotEnv(task, images=False)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    attempts = verified = forward = recoveries = 0
    failed_checks: dict[str, int] = {}
    start = time.perf_counter()
    for k in range(episodes):
        _, info = env.reset(options={"teleport": False})
        expert = env.task.expert(noise, np.random.default_rng(seed + k))
        while True:
            _, _, terminated, truncated, info = env.step(expert.act(info["state"]))
            if terminated or truncated:
                break
        forward += bool(info["success"])
        no_operator = VerifyConfig(max_attempts=3, escalate=False)
        report = verified_reset(env, ScriptedReset(), PredicateVerifier(), rng, no_operator)
        for a in report.attempts:
            attempts += 1
            verified += a["verified"]
            for c in a["failed_checks"]:
                failed_checks[c] = failed_checks.get(c, 0) + 1
        if not report.verified:
            recoveries += 1
            env.reset(seed=seed + 10_000 + k)
    env.close()
    lo, hi = wilson_interval(verified, attempts)
    return {"task": task, "episodes": episodes, "noise": noise, "forward_success": forward,
            "attempts": attempts, "attempts_verified": verified, "attempt_success_rate": verified / attempts,
            "ci95": [lo, hi], "unrecovered_resets": recoveries, "failed_checks": failed_checks,
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("task")
    p.add_argument("--attempts", type=int, default=50, help="episodes (each followed by a verified reset)")
    p.add_argument("--noise", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    a = p.parse_args(argv)
    out = measure(a.task, a.attempts, a.noise, a.seed)
    print(json.dumps(out))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
