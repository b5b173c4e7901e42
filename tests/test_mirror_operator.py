"""The simulated operator takes over a missed grasp or a stalled episode with the expert, never a good one;
its steps are stored as interventions and the learner imitates them."""

from __future__ import annotations

import numpy as np

from robot_rl.data.store import EpisodeStore
from robot_rl.env.robot_env import RobotEnv
from robot_rl.resets.teleport import TeleportReset
from robot_rl.rl.interfaces import ExpertChunkPolicy, MirrorReward
from robot_rl.rl.mirror_operator import MirrorOperator
from robot_rl.rl.replay import bc_segments
from robot_rl.rl.runner import EpisodeRunner, RunnerConfig, practice_specs


class Constant:
    """A policy repeating one action: (dx, dy, dz, ..., gripper) in normalised units."""

    name = "constant"

    def __init__(self, action: list[float]) -> None:
        self.action = np.asarray(action, np.float32)

    def reset(self) -> None:
        pass

    def __call__(self, obs) -> np.ndarray:
        return np.tile(self.action, (8, 1))


def run(tmp_path, policy, episodes: int = 1):
    env = RobotEnv("pick_cube", images=False)
    operator = MirrorOperator(env)
    db = EpisodeStore.create(tmp_path / "p.zarr", practice_specs(env.observation_space))
    cfg = RunnerConfig(episodes=episodes, progress=False, seed=3)
    records = EpisodeRunner(env, policy, MirrorReward(), TeleportReset(), db, cfg, teleop=operator).run()
    return env, operator, db, records


def test_missed_grasp_is_taken_over_and_finished_by_the_expert(tmp_path):
    # closes the gripper at home, far above the cube: a miss after `closed_steps` closed steps
    env, operator, db, records = run(tmp_path, Constant([0, 0, 0, 0, 0, 0, -1.0]))
    assert operator.takeovers == [{"step": operator.config.closed_steps, "why": "missed grasp"}]
    assert records[0]["source"] == "intervention" and records[0]["success"]
    ep = db.read_episode(0)
    flags = ep["intervention"]
    assert not flags[:operator.config.closed_steps].any() and flags[operator.config.closed_steps:].all()
    assert records[0]["intervention_steps"] == len(flags) - operator.config.closed_steps
    # what the learner imitates from it: exactly the operator's steps
    segments = bc_segments({k: ep[k] for k in ("action", "reward", "terminal", "intervention")}, False,
                             imitate_successes=False)
    assert [len(s["action"]) for s in segments] == [int(flags.sum())]
    db.close()
    env.close()


def test_stalled_episode_is_taken_over_after_patience(tmp_path):
    env, operator, db, records = run(tmp_path, Constant([0, 0, 0, 0, 0, 0, 1.0]))  # holds still, open
    patience = int(np.ceil(operator.config.patience * env.task.config.episode_steps))
    assert operator.takeovers == [{"step": patience, "why": "patience"}]
    assert int(db.read_episode(0)["intervention"].sum()) == records[0]["length"] - patience
    db.close()
    env.close()


def test_a_good_policy_is_left_alone(tmp_path):
    env = RobotEnv("pick_cube", images=False)
    env, operator, db, records = run(tmp_path, ExpertChunkPolicy(env.task), episodes=3)
    assert operator.takeovers == []
    assert [r["source"] for r in records] == ["online"] * 3 and all(r["success"] for r in records)
    db.close()
    env.close()


def test_coming_down_beside_the_cube_is_taken_over_before_the_grasp(tmp_path):
    env = RobotEnv("pick_cube", images=False)
    env.reset(seed=3)
    s = env.full_state()
    side = np.sign(s["ee_pos"][1] - s["object_pos"][1]) or 1.0  # step away from the cube, then straight down
    env, operator, db, records = run(tmp_path, Down(side))
    (takeover,) = operator.takeovers
    assert takeover["why"] == "coming down beside the target"
    ep = db.read_episode(0)
    step = takeover["step"]
    assert ep["state/ee_pos"][step][2] - ep["state/object_pos"][step][2] < operator.approach.height
    assert ep["state/gripper"][:step + 1].min() > 0.9  # it never got to close the gripper
    assert records[0]["success"]  # the expert finished it
    db.close()
    env.close()


class Down(Constant):
    """Sideways (away from the cube) for 3 steps, then straight down with the gripper open."""

    def __init__(self, side: float) -> None:
        super().__init__([0, 0, -1.0, 0, 0, 0, 1.0])
        self.side, self.t = side, 0

    def reset(self) -> None:
        self.t = 0

    def __call__(self, obs) -> np.ndarray:
        chunk = super().__call__(obs)
        for i in range(len(chunk)):
            if self.t + i < 3:
                chunk[i] = [0, self.side, 0, 0, 0, 0, 1.0]
        self.t += len(chunk)
        return chunk


def test_finetune_cli_practises_with_the_operator(tmp_path):
    import json

    import torch

    from robot_rl.env.cli import collect
    from robot_rl.policies.policy import PolicyConfig
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.finetune import next_fits
    from robot_rl.rl.finetune_cli import finetune
    from robot_rl.rl.train_cli import train

    torch.set_num_threads(1)
    store = tmp_path / "demos.zarr"
    collect(task="pick_cube", episodes=2, store=store, images=False, seed=0)
    tiny = PolicyConfig(horizon=8, down_dims=(8, 16), inference_steps=2)
    train(store=store, out=tmp_path / "pre", task="pick_cube",
          cfg=TrainConfig(policy=tiny, steps=4, warmup_steps=1, batch_size=8, eval_episodes=0, ckpt_every=4))
    assert finetune("pick_cube", tmp_path / "pre" / "last.safetensors", demos=store, algo="bc", episodes=2,
                    operator=True, out=tmp_path / "ft") == 0
    metrics = json.loads((tmp_path / "ft" / "metrics.json").read_text())
    assert metrics["episodes"] == 2 and metrics["intervention_episodes"] == 2  # a 4-step policy fails
    with EpisodeStore.open(tmp_path / "ft" / "practice.zarr") as db:
        assert [m.source for m in db.all_meta()] == ["intervention"] * 2
        assert all(db.read_episode(i)["intervention"].any() for i in range(2))
    # a wall-clock budget ends the run; no episode starts that would likely end after it
    assert finetune("pick_cube", tmp_path / "pre" / "last.safetensors", demos=store, algo="bc", episodes=500,
                    minutes=0.2, out=tmp_path / "budget") == 0
    assert 1 <= len((tmp_path / "budget" / "episodes.jsonl").read_text().splitlines()) < 500
    assert next_fits(10.0, [2.0, 4.0], 14.0) and not next_fits(10.5, [2.0, 4.0], 14.0)
    assert next_fits(1e6, [5.0], 0.0) and next_fits(0.0, [], 1.0)
