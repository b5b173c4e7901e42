"""learner_node: trains anywhere on the network from the episodes actors publish.

Subscribes `/learner/transitions` (episode blobs, rl/blobs.py); a timer adds queued episodes to the
replay and runs the updates they earned in small slices (callbacks stay responsive); every
`publish_every` updates (and at start) it publishes a weight snapshot on `/learner/weights`
(TRANSIENT_LOCAL, latest only). Checkpoints `out/learner.safetensors` every `ckpt_every` updates and at
shutdown; at start it resumes from that checkpoint when present (counters, replay and optimizers
continue). Episodes already in the replay (per actor, by index) are skipped. Status on `/learner/status`.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from pathlib import Path

from rclpy.node import Node
from std_msgs.msg import String, UInt8MultiArray

from robot_rl.ros import qos
from robot_rl.ros.actor_node import TRANSITIONS
from robot_rl.ros.params import declare_config
from robot_rl.ros.runtime import steady_clock


@dataclasses.dataclass(frozen=True)
class LearnerNodeConfig:
    """The learner."""

    checkpoint: str = ""
    """Pretrained `robot-rl train` checkpoint (starting weights, shapes, normalizer)."""
    demos: str = ""
    """Demonstration store for the offline replay (empty = online data only)."""
    out: str = "out/learner"
    """Run directory: learner.safetensors (resumed from at start when present)."""
    algo: str = "qc"
    """Variant: qc, bc, rlpd."""
    utd: float = 0.0
    """Updates per environment step (0 = the variant's default)."""
    n_samples: int = 0
    """Best-of-N samples (0 = the variant's default)."""
    critic_pretrain_steps: int = -1
    """Offline critic steps before the first update (-1 = the variant's default)."""
    publish_every: int = 20
    """Updates between weight snapshots."""
    ckpt_every: int = 200
    """Updates between checkpoints (also one at shutdown)."""
    updates_per_tick: int = 5
    """Updates per timer tick (keeps subscriptions serviced between slices)."""
    tick: float = 0.02
    """Timer period (s)."""
    seed: int = 0
    """Seeds the learner."""


class LearnerNode(Node):
    def __init__(self) -> None:
        super().__init__("learner_node")
        self.cfg = c = declare_config(self, LearnerNodeConfig)
        self.learner, self.resumed, self.seen = self.build()
        self.queue: collections.deque[bytes] = collections.deque()
        self.weights_pub = self.create_publisher(UInt8MultiArray, "/learner/weights", qos.LATCHED)
        self.status_pub = self.create_publisher(String, "/learner/status", qos.LATCHED)
        self.create_subscription(UInt8MultiArray, "/learner/transitions", self.on_episode, TRANSITIONS)
        self.last_pub = self.last_ckpt = self.start_step = self.learner.step
        self.publish_weights()
        self.publish_status()
        self.create_timer(c.tick, self.work, clock=steady_clock())

    def build(self):
        from robot_rl.rl.learner import preset
        from robot_rl.rl.learner_ckpt import empty_offline, from_pretrained, load_offline, resume

        c = self.cfg
        offline = load_offline(c.demos, c.checkpoint) if c.demos else empty_offline(c.checkpoint)
        last = Path(c.out) / "learner.safetensors"
        if last.exists():
            learner, state = resume(last, offline)
            self.get_logger().info(f"resumed {last} at update {learner.step}")
            return learner, True, dict(state.get("seen", {}))
        over = {k: v for k, v in (("utd", c.utd), ("n_samples", c.n_samples)) if v > 0}
        if c.critic_pretrain_steps >= 0:
            over["critic_pretrain_steps"] = c.critic_pretrain_steps
        learner = from_pretrained(preset(c.algo, seed=c.seed, **over), c.checkpoint, offline)
        if learner.critic is not None:
            learner.pretrain_critic()
        return learner, False, {}

    def on_episode(self, msg: UInt8MultiArray) -> None:
        self.queue.append(bytes(msg.data))

    def work(self) -> None:
        from robot_rl.rl.blobs import BlobError, decode_episode

        while self.queue:
            try:
                steps, success, info = decode_episode(self.queue.popleft())
            except BlobError as e:
                self.get_logger().error(f"dropped an episode blob: {e}")
                continue
            actor, index = str(info.get("actor", "?")), int(info.get("index", -1))
            if index <= self.seen.get(actor, -1):
                continue  # replayed by TRANSIENT_LOCAL or resent: already in the replay
            self.seen[actor] = index
            self.learner.add_episode(steps, success)
            self.publish_status()
        if self.learner.train_pending(self.cfg.updates_per_tick):
            if self.learner.step - self.last_pub >= self.cfg.publish_every:
                self.publish_weights()
            if self.learner.step - self.last_ckpt >= self.cfg.ckpt_every:
                self.checkpoint()
            self.publish_status()

    def publish_weights(self) -> None:
        from robot_rl.rl.blobs import encode_weights

        blob = encode_weights(self.learner.actor_modules(), self.learner.step)
        self.weights_pub.publish(UInt8MultiArray(data=blob))
        self.last_pub = self.learner.step

    def checkpoint(self) -> None:
        from robot_rl.rl.learner_ckpt import save

        save(self.learner, Path(self.cfg.out) / "learner.safetensors", {"seen": self.seen})
        self.last_ckpt = self.learner.step

    def publish_status(self) -> None:
        lr = self.learner
        status = {"step": lr.step, "episodes": lr.episodes, "env_steps": lr.env_steps,
                  "resumed": self.resumed, "start_step": self.start_step,
                  "weights_published_at": self.last_pub, "checkpoint_at": self.last_ckpt}
        self.status_pub.publish(String(data=json.dumps(status)))

    def close(self) -> None:
        self.checkpoint()


def main(args: list[str] | None = None) -> int:
    from robot_rl.ros.runtime import run

    return run(LearnerNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
