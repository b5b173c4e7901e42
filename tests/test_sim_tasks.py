"""Every registered task on the MuJoCo mirror: reset, step, both cameras, finite, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.env.chunk import execute_chunk
from robot_rl.env.robot_env import RobotEnv
from robot_rl.tasks.registry import TASKS, make_task

SIZE = (48, 64)


@pytest.fixture(scope="module", params=sorted(TASKS))
def env(request):
    e = RobotEnv(request.param, images=True, image_size=SIZE)
    yield e
    e.close()


def _rollout(env: RobotEnv, seed: int, n: int = 8) -> list[dict]:
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(123)
    out = [obs]
    for _ in range(n):
        obs, *_ = env.step(rng.uniform(-1, 1, 7).astype(np.float32))
        out.append(obs)
    return out


def test_task_files_and_config(env):
    task = env.task
    assert task.prompt() and "\n" not in task.prompt()
    cfg = task.config
    assert cfg.name in TASKS and cfg.control_hz == 10.0 and cfg.episode_steps > 0
    assert set(cfg.privileged_keys) <= set(task.privileged(env.sim))


def test_reset_step_render_both_cameras_finite(env):
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["success"] is False and info["time"] == 0.0
    for cam in ("front", "wrist"):
        img = obs[f"image/{cam}"]
        assert img.shape == (*SIZE, 3) and img.dtype == np.uint8 and img.std() > 3
    for obs in _rollout(env, seed=0)[1:]:
        assert env.observation_space.contains(obs)
        for key, value in obs.items():
            if key.startswith("state/"):
                assert np.isfinite(value).all(), key
    assert env.sim.time == pytest.approx(0.8)


def test_deterministic_for_a_fixed_seed(env):
    a, b = _rollout(env, seed=7), _rollout(env, seed=7)
    for oa, ob in zip(a, b, strict=True):
        for key in oa:
            np.testing.assert_array_equal(oa[key], ob[key], err_msg=key)
    c = _rollout(env, seed=8, n=0)
    assert any(not np.array_equal(a[0][k], c[0][k]) for k in a[0] if k.startswith("state/"))


def test_chunk_execution_stops_at_episode_end(env):
    env.reset(seed=1)
    result = execute_chunk(env, np.zeros((4, 7), np.float32))
    assert result.n_executed == 4 and not result.done and result.rewards.shape == (4,)
    env.steps = env.task.config.episode_steps - 2
    result = execute_chunk(env, np.zeros((5, 7), np.float32))
    assert result.n_executed == 2 and result.truncated


def test_action_space_and_scaling(env):
    env.reset(seed=2)
    space = env.action_space
    assert space.shape == (7,) and space.low.min() == -1 and space.high.max() == 1
    s = env.arm.state()
    pos, quat, gripper = env.task.command(np.array([1, -1, 0.5, 0, 0, 0, -1.0]), s)
    scale = env.task.config.pos_scale
    np.testing.assert_allclose(pos - s.ee_pos, [scale, -scale, scale / 2])
    np.testing.assert_allclose(quat, s.ee_quat)
    assert gripper == 0.0


def test_unknown_task_is_a_clear_error():
    with pytest.raises(KeyError, match="registered tasks"):
        make_task("fold_laundry")
