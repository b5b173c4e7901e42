"""How the policies of reset-free practice (robot_rl/resets/reset_free.py) learn from it:

- `LearnerUpdates`: the forward policy is the acting policy of a fine-tuning `Learner`
  (robot_rl/rl/learner.py, any `preset`); after every forward/backward pair the forward episode goes into
  its replay and the updates it earned run, as in rl/finetune.py's practice loop (WSRL warm-up acting with
  one sample, the critic pretrained once warm-up is over). The learner updates the actor's networks in place.
- `FilteredBC`: after a block, continue offline BC training (robot_rl/rl/offline.py) on the demonstrations
  plus the verified successes; used for the backward policy on its demos + verified backward attempts.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.rl.interfaces import ChunkPolicy


class LearnerUpdates:
    """The `learn` hook of `ResetFreePractice` for a Learner; `actor` is the forward policy to practise
    with (exploring, when the learner's variant explores)."""

    def __init__(self, learner: Any, store: Any, seed: int = 0) -> None:
        """`store`: the practice EpisodeStore the forward episodes are written to."""
        self.learner, self.store = learner, store
        self.actor = practice_actor(learner, seed)
        self.records: list[dict[str, Any]] = []
        self.prepare()

    def prepare(self) -> None:
        """Before an episode: pretrain the critic once warm-up is over (on demos + warm-up episodes), and
        act with one sample while warming up (a critic that has seen no failure cannot rank samples)."""
        learner = self.learner
        if learner.critic is not None and learner.critic_steps == 0 and not learner.warming_up:
            learner.pretrain_critic()
        self.actor.n_samples = 1 if learner.warming_up else learner.cfg.n_samples

    def __call__(self, record: dict[str, Any], start_ok: bool) -> dict[str, Any]:
        """After a pair: add the forward episode (`record` from the runner) and run the updates it earned.
        A success counts as one only from a verified start state. Returns what the log line shows."""
        learner = self.learner
        learner.add_episode(self.store.read_episode(record["store_index"]), record["success"] and start_ok)
        metrics = learner.train_pending()
        mean = {k: round(float(np.mean([m[k] for m in metrics])), 5) for k in (metrics[0] if metrics else {})}
        q = getattr(self.actor, "q_values", [])  # Q of the chunks the actor chose in this episode
        out = {"updates": learner.step, "env_steps": learner.env_steps, "warming_up": learner.warming_up,
               "q_chosen": round(float(np.mean(q)), 5) if q else None, **mean}
        q.clear()
        self.records.append(out)
        self.prepare()
        return out


def practice_actor(learner: Any, seed: int) -> ChunkPolicy:
    """The learner's actor for practice: `learner.actor(seed, explore=True)` where the learner's variants
    explore (the evaluation actor `learner.actor(seed)` does not), else `learner.actor(seed)`."""
    import inspect

    if "explore" in inspect.signature(learner.actor).parameters:
        return learner.actor(seed, explore=True)
    return learner.actor(seed)


class FilteredBC:
    """The `improve` step of filtered behaviour cloning: continue training `trainer` (robot_rl.rl.offline)
    for `steps` updates on the demonstrations plus the given successful practice episodes of `store`, save
    a checkpoint under `out` and return its EMA policy as a ChunkPolicy.

    `demo_fraction`: share of every batch drawn from the demonstrations once there are practice episodes
    (RLPD-style symmetric batches); None = uniform over all windows, so practice data outweighs a few demos
    as it grows. Measured on drawer_open: with 24 practice successes beside 5 demos, uniform batches let
    a bias the success predicate tolerates (grasping the 10 cm handle bar 1-3 cm off its centre) grow
    block after block until the grasp missed the bar: success 67% before, 33% after practice."""

    def __init__(self, trainer: Any, demos: Any, store: Any, steps: int, out: str | Path,
                 name: str = "forward", seed: int = 0, demo_fraction: float | None = None) -> None:
        """`demos`: EpisodeData with (at least) the trainer's keys; `store`: the practice EpisodeStore."""
        self.trainer, self.store, self.steps, self.out = trainer, store, steps, Path(out)
        self.keys, self.name, self.seed, self.demo_fraction = list(trainer.shapes), name, seed, demo_fraction
        self.demos = type(demos)({k: demos[k] for k in self.keys}, demos.episode_ends)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, block: int, successes: list[int]) -> ChunkPolicy:
        from robot_rl.rl.interfaces import CheckpointChunkPolicy

        practice = self.demos.empty_like()
        for i in successes:
            practice.add_episode(self.store.read_episode(int(i), self.keys))
        demos = self.attach(practice)
        start = time.perf_counter()
        for _ in range(self.steps):
            self.trainer.train_step()
        self.trainer.samplers["policy"] = demos  # checkpoints store the RNG state of plain window samplers
        self.calls.append({"block": block, "practice_episodes": len(successes), "steps": self.steps,
                           "train_s": round(time.perf_counter() - start, 1)})
        path = self.trainer.save(self.out / f"{self.name}_block{block}.safetensors")
        return CheckpointChunkPolicy(path, seed=self.seed + block)

    def attach(self, practice: Any) -> Any:
        """Point the trainer's policy sampler at demos + `practice` (mixed by `demo_fraction`, else uniform),
        freshly seeded per call (`attach` reseeds with the training seed: every block would draw the same
        windows); returns the plain sampler to restore afterwards."""
        from robot_rl.data.samplers import MixedSampler, WindowSampler

        call = len(self.calls) + 1
        if self.demo_fraction is None or not practice.n_episodes:
            data = self.demos.subset(np.arange(self.demos.n_episodes))
            for i in range(practice.n_episodes):
                data.add_episode(practice.episode(i))
            self.trainer.attach(data)
            demos = self.trainer.samplers["policy"]
            demos.rng = np.random.default_rng([self.seed, call])
            return demos
        self.trainer.attach(self.demos)
        demos = self.trainer.samplers["policy"]
        demos.rng = np.random.default_rng([self.seed, call])
        window = dataclasses.replace(demos.cfg, seed=demos.cfg.seed + 1)
        online = WindowSampler(practice, window)
        online.rng = np.random.default_rng([self.seed, call, 1])
        mixed = MixedSampler(demos, online, online_fraction=1.0 - self.demo_fraction)
        self.trainer.samplers["policy"] = mixed
        return demos
