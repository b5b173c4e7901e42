"""actor_node: practises beside the robot (here: the task's MuJoCo mirror) with the latest weights.

A worker thread runs the shared EpisodeRunner episode after episode (inference never blocks the
executor). After each episode it publishes the episode as a safetensors blob (std_msgs/UInt8MultiArray)
on `/learner/transitions`. Weight snapshots arrive on `/learner/weights` (TRANSIENT_LOCAL: a late joiner
gets the last one); the newest is validated and loaded between episodes. When none arrive (the learner is
down) the actor keeps acting with the weights it has. Status JSON on `/actor/status` (latched).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import threading
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String, UInt8MultiArray

from robot_rl.ros import qos
from robot_rl.ros.params import declare_config

TRANSITIONS = QoSProfile(depth=50, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
"""Episode blobs: reliable, a few dozen in flight."""


@dataclasses.dataclass(frozen=True)
class ActorNodeConfig:
    """The actor beside the robot."""

    task: str = "pick_cube"
    """Mirror task to practise."""
    checkpoint: str = ""
    """Pretrained `robot-rl train` checkpoint: network shapes, normalizer, starting weights."""
    algo: str = "qc"
    """Learner variant (must match the learner's: it fixes which networks the snapshots carry)."""
    n_samples: int = 0
    """Best-of-N samples per decision (0 = the variant's default)."""
    store: str = ""
    """EpisodeStore for the practice episodes (empty = a temporary directory)."""
    episodes: int = 0
    """Episodes to run (0 = until shutdown)."""
    reset: str = "teleport"
    """Reset strategy between episodes ("teleport" in the mirror, "scripted")."""
    seed: int = 0
    """Seeds the first scene, resets and sampling."""
    actor_id: str = "actor0"
    """Name in the episode blobs (the learner skips episodes it has already seen per actor)."""


class ActorNode(Node):
    def __init__(self) -> None:
        super().__init__("actor_node")
        self.cfg = declare_config(self, ActorNodeConfig)
        self.pub = self.create_publisher(UInt8MultiArray, "/learner/transitions", TRANSITIONS)
        self.status_pub = self.create_publisher(String, "/actor/status", qos.LATCHED)
        self.create_subscription(UInt8MultiArray, "/learner/weights", self.on_weights, qos.LATCHED)
        self.lock, self.latest, self.stop = threading.Lock(), None, threading.Event()
        self.status = {"episodes": 0, "successes": 0, "weights_step": -1, "snapshots": 0, "rejected": 0}
        self.worker = threading.Thread(target=self.loop, daemon=True)
        self.worker.start()

    def on_weights(self, msg: UInt8MultiArray) -> None:
        with self.lock:
            self.latest = bytes(msg.data)

    def publish_status(self, **extra) -> None:
        self.status |= extra
        self.status_pub.publish(String(data=json.dumps(self.status)))

    def refresh(self, actor) -> None:
        """Load the newest snapshot, if any arrived since the last episode."""
        from robot_rl.rl.blobs import BlobError

        with self.lock:
            blob, self.latest = self.latest, None
        if blob is None:
            return
        try:
            step = actor.load_snapshot(blob)
            self.status["snapshots"] += 1
            self.status["weights_step"] = step
        except BlobError as e:
            self.status["rejected"] += 1
            self.get_logger().error(f"rejected a weight snapshot: {e}")

    def loop(self) -> None:
        try:
            self.practise()
        except Exception as e:  # the node reports and stays up for inspection
            self.get_logger().error(f"actor loop failed: {e!r}")
            self.publish_status(error=repr(e))

    def practise(self) -> None:
        import torch

        from robot_rl.data.store import EpisodeStore
        from robot_rl.env.robot_env import RobotEnv
        from robot_rl.resets.base import make_reset
        from robot_rl.resets.verify import verified_reset
        from robot_rl.rl.blobs import encode_episode
        from robot_rl.rl.interfaces import MirrorReward
        from robot_rl.rl.learner import preset
        from robot_rl.rl.learner_ckpt import actor_from_pretrained
        from robot_rl.rl.runner import EpisodeRunner, RunnerConfig, practice_specs

        torch.set_num_threads(1)
        c = self.cfg
        lcfg = preset(c.algo, **({"n_samples": c.n_samples} if c.n_samples else {}))
        actor = actor_from_pretrained(lcfg, c.checkpoint, c.seed)
        env = RobotEnv(c.task, images=False)
        reset = make_reset(c.reset)
        path = Path(c.store) if c.store else Path(tempfile.mkdtemp(prefix="actor_")) / "practice.zarr"
        with EpisodeStore.create(path, practice_specs(env.observation_space), {"task": c.task},
                                 exist_ok=True) as db:
            runner = EpisodeRunner(env, actor, MirrorReward(), reset, db,
                                   RunnerConfig(seed=c.seed, progress=False))
            env.reset(seed=c.seed)
            k = 0
            while not self.stop.is_set() and (c.episodes == 0 or k < c.episodes):
                self.refresh(actor)
                rec = runner.run_episode(k)
                verified_reset(env, reset, runner.verifier, runner.rng, runner.config.verify)
                info = {"actor": c.actor_id, "index": k, "weights_step": actor.weights_step}
                blob = encode_episode(db.read_episode(rec["store_index"]), rec["success"], info)
                self.pub.publish(UInt8MultiArray(data=blob))
                k += 1
                self.publish_status(episodes=k, successes=self.status["successes"] + int(rec["success"]))

    def close(self) -> None:
        self.stop.set()
        self.worker.join(timeout=30)


def main(args: list[str] | None = None) -> int:
    from robot_rl.ros.runtime import run

    return run(ActorNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
