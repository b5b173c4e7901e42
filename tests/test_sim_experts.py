"""Scripted experts succeed (by each task's own predicate) and the predicates mean what they say."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.env.robot_env import RobotEnv
from robot_rl.tasks.registry import TASKS

N_SEEDS = 50  # ≈ 15 s per task without images on the 2-core CI machine


def _condition(env: RobotEnv) -> bool:
    """Each task's goal computed here from raw MjData, independently of the task's code."""
    m, d, name = env.sim.model, env.sim.data, env.task.config.name
    if name == "pick_cube":
        return d.xpos[m.body("cube").id][2] - 0.02 >= 0.05
    if name == "drawer_open":
        return d.qpos[m.joint("drawer_joint").qposadr[0]] >= 0.10
    if name == "peg_insert":
        mat = d.xmat[m.body("peg").id].reshape(3, 3)
        ends = [d.xpos[m.body("peg").id] + s * 0.04 * mat[:, 2] for s in (-1, 1)]
        tip = min(ends, key=lambda p: p[2])
        hole = d.site_xpos[m.site("hole").id]
        return bool(np.all(np.abs(tip[:2] - hole[:2]) < 0.011) and tip[2] <= hole[2] - 0.03)
    raise AssertionError(f"no independent condition for {name}")


@pytest.fixture(scope="module", params=sorted(TASKS))
def env(request):
    e = RobotEnv(request.param, images=False)
    yield e
    e.close()


def _run_expert(env: RobotEnv, seed: int, noise: float = 0.0) -> tuple[bool, list[tuple[bool, bool]]]:
    """Success of one expert episode, and (predicate, independent condition) after every step."""
    obs, info = env.reset(seed=seed)
    trace = [(info["success"], _condition(env))]
    expert = env.task.expert(noise, np.random.default_rng(seed))
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(expert.act(info["state"]))
        trace.append((info["success"], _condition(env)))
        assert reward == float(info["success"])
        done = terminated or truncated
    return info["success"], trace


def test_expert_succeeds_on_90_percent_of_seeds(env):
    wins = [_run_expert(env, seed)[0] for seed in range(N_SEEDS)]
    rate = float(np.mean(wins))
    print(f"{env.task.config.name}: expert success {sum(wins)}/{N_SEEDS}")
    assert rate >= 0.9, f"{env.task.config.name}: expert success {rate:.0%} over {N_SEEDS} seeds"


def test_noisy_expert_still_mostly_succeeds(env):
    wins = [_run_expert(env, seed, noise=0.1)[0] for seed in range(100, 105)]
    assert sum(wins) >= 4


def test_predicate_false_at_reset_true_exactly_when_condition_holds(env):
    success, trace = _run_expert(env, seed=3)
    assert success
    assert trace[0] == (False, False), "the predicate must be false at reset"
    for step, (predicate, condition) in enumerate(trace):
        assert predicate == condition, f"step {step}: predicate {predicate}, condition {condition}"
    assert trace[-1] == (True, True)
    for seed in range(10):  # false at reset on every seed
        _, info = env.reset(seed=seed)
        assert not info["success"] and not _condition(env)


def _teleport(env: RobotEnv, body: str, dz: float = 0.0, dx: float = 0.0) -> None:
    m, d = env.sim.model, env.sim.data
    adr = m.joint(m.body(body).jntadr[0]).qposadr[0]
    d.qpos[adr] += dx
    d.qpos[adr + 2] += dz
    env.sim.forward()


def test_predicate_thresholds(env):
    name, sim, task = env.task.config.name, env.sim, env.task
    env.reset(seed=0)
    if name == "pick_cube":
        _teleport(env, "cube", dz=0.045)
        assert not task.success(sim)
        _teleport(env, "cube", dz=0.01)
        assert task.success(sim)
    elif name == "drawer_open":
        adr = sim.model.joint("drawer_joint").qposadr[0]
        for opening, expected in ((0.09, False), (0.11, True)):
            sim.data.qpos[adr] = opening
            sim.forward()
            assert task.success(sim) is expected
    else:  # peg_insert: tip 2.5 cm then 3.5 cm below the entrance, then 3.5 cm deep but beside the hole
        hole = sim.data.site_xpos[sim.model.site("hole").id].copy()
        adr = sim.model.joint("peg_joint").qposadr[0]
        for depth, dx, expected in ((0.025, 0.0, False), (0.035, 0.0, True), (0.035, 0.05, False)):
            sim.data.qpos[adr:adr + 7] = [hole[0] + dx, hole[1], hole[2] - depth + 0.04, 1, 0, 0, 0]
            sim.forward()
            assert task.success(sim) is expected, (depth, dx)
