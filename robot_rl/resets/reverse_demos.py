"""Reverse-task demonstrations for a learned backward policy (`BackwardReset`): the task's scripted reset,
recorded step by step through `ScriptedReset(on_step=...)` (source "reset"), from end states that cover
where a forward policy may leave the scene:

- where the forward policy itself (when one is given) left the scene after a whole episode: the end states
  the backward policy meets in practice (measured on drawer_open: a forward policy succeeding 53% of the
  time left the drawer 0.6-3 cm open after most failures, a state 3 of 55 expert-derived demos started
  from; the backward policy went home without closing it and failed 10 of 15 resets in its first practice
  block; with half of the demos from such end states, recorded in the practice scene, it reset 12 of 19
  of them, against 8-10 of 19 without),
- the noisy expert stopped at a random step (failures and partial progress near the task's path), and
- "wandering" end states: after that, the TCP driven to a random point of the workspace box, turned to a
  random orientation, with a random gripper opening, as a failing policy leaves it (measured on
  drawer_open: a weak forward policy ended low in front of the cabinet, x 0.65-0.75 m, z 0.03 m, where
  no expert-derived demo started; a backward policy trained without such starts flew to the workspace
  corner and failed 18/18 checks after forward failures, against 11/15 with them).

The scripted reset runs with noise on its executed motion while its own (clean) actions are recorded
(`ScriptedConfig.noise`, DART), so the demonstrations also show how to get back onto the path from off it:
recorded without it, the script corrects the TCP orientation in its first 1-3 steps and never again, and a
backward policy whose own small errors tilted the TCP did not turn it back (measured on drawer_open, 30
fixed end states: without it 21/30 attempts passed the start check, 6 failures on `tcp_down`; with it 25/30,
1 on `tcp_down`).

Each demonstration ends with `hold_steps` still steps at the start state (zero motion, gripper open), so
the policy learns to stop there instead of drifting on past it between two verifier checks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from robot_rl.env import rotations as rot
from robot_rl.resets.scripted import ScriptedConfig, ScriptedReset
from robot_rl.resets.verify import PredicateVerifier
from robot_rl.rl.interfaces import observe


@dataclasses.dataclass(frozen=True)
class ReverseDemoConfig:
    """Start-state coverage of recorded reverse demonstrations."""

    from_policy: float = 0.5
    """Fraction of demonstrations starting where the forward policy left the scene after an episode, when a
    forward policy is given (the others: the expert's partial runs)."""
    noises: tuple[float, ...] = (0.0, 0.3, 0.6)
    """Action-noise std of the expert's partial run, cycled over demonstrations."""
    wander: float = 0.5
    """Fraction of the expert-derived demonstrations whose end state is then moved to a random workspace
    point."""
    wander_steps: tuple[int, int] = (5, 40)
    """Range of control steps spent wandering towards the random point (uniform, inclusive)."""
    wander_tilt: float = 0.3
    """rad: largest rotation of the random orientation the TCP turns to while wandering."""
    script_noise: float = 0.3
    """Std of the noise on the scripted reset's executed motion (normalised units; its clean actions are
    recorded). 0.3 still let it finish every one of 12 drawer_open resets, 0.5 not."""
    hold_steps: int = 6
    """Still steps (zero motion, gripper open) recorded at the end of each demonstration."""
    layout_seed: int | None = None
    """Fixes the scene layout (as a rig's bolted-down fixture); None = a random layout per demonstration."""


def record_reverse_demos(env: Any, store: Any, episodes: int, seed: int = 0,
                         config: ReverseDemoConfig = ReverseDemoConfig(), forward: Any = None) -> int:
    """Record `episodes` reverse demonstrations into `store` (created with
    `episode_specs(env.observation_space)`): an end state (`end_state`; `forward`: the forward ChunkPolicy
    or None), then the scripted reset + the still steps as one episode, committed only when the start-state
    check passes afterwards. Returns the number committed."""
    verifier, kept = PredicateVerifier(), 0
    for k in range(episodes):
        rng = np.random.default_rng(seed + k)
        origin = end_state(env, k, seed + k, config, rng, forward)
        writer = store.begin_episode(source="reset", task=env.task.config.name, seed=seed + k)
        record = step_recorder(writer, env)
        result = ScriptedReset(ScriptedConfig(noise=config.script_noise), on_step=record)(env, rng)
        if result.ok and result.steps > 0 and verifier(env).ok:
            hold(env, config.hold_steps, record)
        if result.ok and result.steps > 0 and verifier(env).ok:
            writer.commit(success=True, **origin)
            kept += 1
        else:
            writer.discard()
    return kept


def end_state(env: Any, k: int, layout_seed: int, config: ReverseDemoConfig, rng: np.random.Generator,
              forward: Any = None) -> dict[str, Any]:
    """Leave the scene where a forward attempt might: lay it out (`config.layout_seed` if set, else
    `layout_seed`), then with probability `config.from_policy` run the `forward` ChunkPolicy (if given) for an
    episode, else the expert with the k-th noise level for a random number of steps, and wander with
    probability `config.wander`. Returns how: {"origin": "policy" | "expert", "forward_success",
    "wandered"}."""
    layout = layout_seed if config.layout_seed is None else config.layout_seed
    if forward is not None and rng.random() < config.from_policy:
        return {"origin": "policy", "forward_success": run_policy(env, layout, forward), "wandered": False}
    forward_success = run_expert(env, layout, config.noises[k % len(config.noises)], rng)
    wandered = bool(rng.random() < config.wander)
    if wandered:
        wander(env, rng, config.wander_steps, config.wander_tilt)
    return {"origin": "expert", "forward_success": forward_success, "wandered": wandered}


def evaluate_backward(env: Any, reset: Any, episodes: int, seed: int,
                      config: ReverseDemoConfig = ReverseDemoConfig(), forward: Any = None) -> dict[str, Any]:
    """Start-state check pass rate of a reset strategy (e.g. `BackwardReset`) from `episodes` end states
    drawn like its demonstrations' (`end_state`, seeds seed + i): successes, how often each check failed,
    mean steps, and the successes / attempts by origin of the end state."""
    verifier, wins, steps = PredicateVerifier(), 0, []
    failed: dict[str, int] = {}
    origins: dict[str, list[int]] = {}
    for i in range(episodes):
        rng = np.random.default_rng(seed + i)
        origin = end_state(env, i, seed + i, config, rng, forward)["origin"]
        steps.append(reset(env, rng).steps)
        v = verifier(env)
        wins += v.ok
        row = origins.setdefault(origin, [0, 0])
        row[0], row[1] = row[0] + v.ok, row[1] + 1
        for name in (n for n, ok in v.checks.items() if not ok):
            failed[name] = failed.get(name, 0) + 1
    return {"successes": wins, "episodes": episodes, "failed_checks": failed, "by_origin": origins,
            "mean_steps": float(np.mean(steps)) if steps else 0.0}


def run_policy(env: Any, layout_seed: int | None, policy: Any, n_action_steps: int = 8) -> bool:
    """Lay out the scene (None: go on from the current one, no teleport) and run a ChunkPolicy for one
    episode (`n_action_steps` per chunk); its success."""
    obs, _ = env.reset(options={"teleport": False}) if layout_seed is None else env.reset(seed=layout_seed)
    policy.reset()
    while True:
        for action in np.asarray(policy(obs))[:n_action_steps]:
            obs, _, terminated, truncated, info = env.step(np.clip(action, -1.0, 1.0))
            observe(policy, obs)
            if terminated or truncated:
                return bool(info["success"])


def run_expert(env: Any, layout_seed: int, noise: float, rng: np.random.Generator) -> bool:
    """Lay out the scene, run the noisy expert for a random number of steps (up to the episode's end);
    returns whether the task succeeded."""
    _, info = env.reset(seed=layout_seed)
    expert = env.task.expert(noise, rng)
    for _ in range(int(rng.integers(env.task.config.episode_steps // 4, env.task.config.episode_steps + 1))):
        _, _, terminated, truncated, info = env.step(expert.act(info["state"]))
        if terminated or truncated:
            break
    return bool(info["success"])


def wander(env: Any, rng: np.random.Generator, steps: tuple[int, int], tilt: float = 0.0) -> None:
    """Drive the TCP towards a uniform random point of the workspace box and an orientation turned up to
    `tilt` rad (random axis) from the current one, with a random gripper opening, for a random number of
    steps in `steps`, through `env.step` only."""
    cfg = env.task.config
    target = rng.uniform(cfg.workspace_min, cfg.workspace_max)
    axis = rng.normal(size=3)
    turn = rot.from_rotvec(axis / np.linalg.norm(axis) * rng.uniform(0.0, tilt))
    quat = rot.multiply(turn, env.full_state()["ee_quat"])
    gripper = 2.0 * float(rng.uniform()) - 1.0
    for _ in range(int(rng.integers(steps[0], steps[1] + 1))):
        s = env.full_state()
        delta = (target - s["ee_pos"]) / cfg.pos_scale
        delta *= min(1.0, 1.0 / max(float(np.linalg.norm(delta)), 1e-9))
        spin = np.clip(rot.difference(quat, s["ee_quat"]) / cfg.rot_scale, -1.0, 1.0)
        env.step(np.concatenate([delta, spin, [gripper]]).astype(np.float32))


def hold(env: Any, steps: int, on_step: Callable[[dict, np.ndarray, dict], None]) -> None:
    """`steps` still actions (zero motion, gripper open) recorded through `on_step`."""
    action = np.array([0, 0, 0, 0, 0, 0, 1], np.float32)
    obs = env.observe()
    for _ in range(steps):
        next_obs, _, _, _, info = env.step(action)
        on_step(obs, action, info)
        obs = next_obs


def step_recorder(writer: Any, env: Any) -> Callable[[dict, np.ndarray, dict], None]:
    """A `ScriptedReset(on_step=...)` hook appending (observation, action) steps to `writer`."""
    dt = 1.0 / env.task.config.control_hz

    def on_step(obs: dict, action: np.ndarray, info: dict) -> None:
        writer.append(obs | {"action": np.asarray(action, np.float32), "reward": np.float32(0.0),
                             "terminal": False, "time": info["time"] - dt})

    return on_step
