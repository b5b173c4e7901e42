"""The recorder's episode logic without ROS: streams → grid steps → EpisodeStore.

recorder_node feeds `Sample`s into `EpisodeRecorder.streams` from its subscriptions and calls
`tick(now)` from a timer; everything else (grid, gap marking, action normalisation, store
creation, start / save / discard / label) lives here and is unit-tested without rclpy.

Per step (k at grid time t_k, see alignment.py) the store gets:
- `time` float64: t_k (s, ROS clock);
- `state/ee_pos` (3,), `state/ee_quat` (4,) xyzw, `state/gripper` (1,), `state/q` (7,): newest arm
  samples at or before t_k (base frame), `valid/arm` False when older than two control periods (the
  values are then the newest older sample's: finite, flagged, never NaN once the arm has reported);
- `image/<cam>` (H, W, 3) uint8: the newest frame at or before t_k that no earlier step used and that
  is at most `max_age` old, else a gap: `valid/<cam>` False and zeros; `capture_time/<cam>` (capture
  time, NaN in a gap) and `frame_number/<cam>` (int64, -1 in a gap): the frame's sequence number at the
  recorder (every frame received since the recorder started is numbered, so a jump of more than one
  between steps means frames came in that the grid did not need, e.g. 30 Hz frames on a 10 Hz grid);
- with depth on, `depth/<cam>` (H, W) float32 m (NaN invalid) the same way, with `valid/<cam>_depth`,
  `capture_time/<cam>_depth`, `frame_number/<cam>_depth`;
- `target/ee_pos`, `target/ee_quat`, `target/gripper`: the newest arm target commanded in
  [t_k - period, t_k + period) (i.e. the reaction to the observation at t_k; teleop_bridge stamps a
  target with the time of the pose it was computed from), `valid/action`;
- `action` (7,) float32 in [-1, 1]: that target relative to the state at t_k, normalised like a task
  action ((target - ee_pos) / pos_scale, rotation vector / rot_scale, 2 * gripper - 1); a hold
  (zeros, gripper kept) when no target came;
- `reward` float32 and `terminal` bool: 1 / True on the last step of an episode labelled successful
  (the task is done after its action: the in-process collector's sparse convention), else 0 / False.
  To know which step is last, each step is written when the next one is assembled (or at save);
- sim only, with `task_state` set: the mirror's privileged object state as `state/<key>` (keys the arm
  topics lack, e.g. `state/object_pos`), the success predicate at t_k as `success` (bool), and
  `valid/task_state`, from the newest sample at or before t_k (older than two control periods: invalid).
The gripper command topic has no header: it is stamped on arrival (recorder clock).
Kill safety is the EpisodeStore's: a killed recorder loses only the episode in flight.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore
from robot_rl.env import rotations as rot
from robot_rl.env.specs import STATE_UNITS
from robot_rl.ros.alignment import Grid, Stream
from robot_rl.ros.configs import RecorderNodeConfig

UNITS: dict[str, tuple[str, str]] = {
    "time": ("s", "ros"), "state/ee_pos": ("m", "base"), "state/ee_quat": ("1", "base"),
    "state/gripper": ("1", ""), "state/q": ("rad", "joint"), "target/ee_pos": ("m", "base"),
    "target/ee_quat": ("1", "base"), "target/gripper": ("1", ""), "action": ("1", "base"),
    "reward": ("1", ""), "terminal": ("1", ""), "success": ("1", ""),
}
ARM_KEYS = ("state/ee_pos", "state/ee_quat", "state/gripper", "state/q")
"""State keys the arm topics give (the task state's copies of them are not recorded twice)."""


def task_state_values(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The recorded part of a mirror task-state sample ({key: value} from sim_node's ~/task_state):
    `state/<key>` float32 for the keys the arm topics lack, and `success` (bool) if present."""
    out = {f"state/{k}": np.asarray(v, np.float32).reshape(-1) for k, v in values.items()
           if k not in ("success", "scene_seed") and f"state/{k}" not in ARM_KEYS}
    if "success" in values:
        out["success"] = np.bool_(float(values["success"]) > 0.5)
    return out


def _outcome(done: bool) -> dict[str, np.ndarray]:
    return {"reward": np.float32(done), "terminal": np.bool_(done)}


def make_streams(cfg: RecorderNodeConfig) -> dict[str, Stream]:
    """The recorder's streams: `arm` (joint states), `pose` (EE pose), `target`, `gripper_cmd`, cameras."""
    period = 1.0 / cfg.control_hz
    # continuous streams are watermarks: a step waits until their data past its command window is in
    state = {"hold": True, "watermark": period}
    streams = {"arm": Stream("arm", 2 * period, **state), "pose": Stream("pose", 2 * period, **state),
               "target": Stream("target", period, window=period),
               "gripper_cmd": Stream("gripper_cmd", math.inf, window=period)}
    # commands may not have started when an episode starts (the operator has not moved yet)
    streams["target"].template = {"target/ee_pos": np.full(3, np.nan, np.float32),
                                  "target/ee_quat": np.full(4, np.nan, np.float32)}
    streams["gripper_cmd"].template = {"target/gripper": np.full(1, np.nan, np.float32)}
    for cam in cfg.cameras:
        streams[f"cam/{cam}"] = Stream(cam, cfg.max_age, unique=True, watermark=0.0)
        if cfg.depth:
            streams[f"depth/{cam}"] = Stream(f"{cam}_depth", cfg.max_age, unique=True, watermark=0.0)
    if cfg.task_state:
        streams["task_state"] = Stream("task_state", 2 * period, **state)
    return streams


class EpisodeRecorder:
    """start → tick* → (label) → save | discard, over `streams` fed by the caller."""

    def __init__(self, cfg: RecorderNodeConfig, attrs: dict[str, Any] | None = None) -> None:
        self.cfg = cfg
        self.attrs = attrs or {}
        self.streams = make_streams(cfg)
        self.store: EpisodeStore | None = None
        self.writer = None
        self.pending: dict[str, Any] | None = None  # the newest step, written once the next one exists
        self.grid: Grid | None = None
        self.success: bool | None = None
        self.gaps = 0

    @property
    def delay(self) -> float:
        return 1.0 / self.cfg.control_hz + self.cfg.lag

    @property
    def recording(self) -> bool:
        return self.writer is not None

    def missing(self) -> list[str]:
        """Streams that have not delivered a first sample (their shapes are unknown)."""
        return [name for name, s in self.streams.items() if s.template is None]

    # ------------------------------------------------------------------ episode control
    def start(self, now: float, **info: Any) -> str:
        """Begin an episode at the next grid time ≥ `now`; returns a message (raises if impossible)."""
        if self.recording:
            raise RuntimeError("an episode is already being recorded; save or discard it first")
        if self.missing():
            raise RuntimeError(f"no data yet on {self.missing()}; is the graph up?")
        self.grid = Grid(self.cfg.control_hz, now)
        if self.store is None:  # the keys' shapes come from the data: assemble a step to learn them
            first = self._step(self.grid.time(0)) | _outcome(False)
            self.store = EpisodeStore.create(self.cfg.store, self._specs(first), self.attrs, exist_ok=True)
        for s in self.streams.values():
            s.reset()
        self.success, self.gaps, self.pending = None, 0, None
        self.writer = self.store.begin_episode(source="demo", task=self.cfg.task, rig=self.cfg.rig,
                                               control_hz=self.cfg.control_hz, grid_start=self.grid.time(0),
                                               **info)
        return f"recording episode {self.store.n_episodes} from t={self.grid.time(0):.3f}"

    def ready(self, t: float) -> bool:
        """Every continuous stream has delivered its data for the step at `t` (see alignment.py)."""
        return all(s.caught_up(t) for s in self.streams.values())

    def tick(self, now: float) -> int:
        """Write every grid step that is due at `now` and whose data is in (or that has waited `max_wait`
        for it); returns how many."""
        if not self.recording:
            return 0
        times = self.grid.due(now, self.delay, self.ready, self.cfg.max_wait)
        for t in times:
            if self.pending is not None:
                self.writer.append(self.pending | _outcome(False))
            self.pending = self._step(t)
        return len(times)

    def label(self, success: bool) -> None:
        if not self.recording:
            raise RuntimeError("no episode in flight to label")
        self.success = success

    def save(self, now: float) -> int:
        """Write the steps due at `now` whose data is in (as `tick`) and commit; returns the episode index.
        Steps still waiting for data are not part of the episode (a recorder behind its queues ends the
        episode where its data ends, rather than writing a tail of gaps)."""
        if not self.recording:
            raise RuntimeError("no episode in flight to save")
        self.tick(now)
        if self.pending is None:
            raise RuntimeError("the episode has no steps yet; wait at least one control period")
        self.writer.append(self.pending | _outcome(self.success is True))
        self.pending = None
        index = self.writer.commit(success=self.success, gaps=self.gaps)
        self.writer = None
        return index

    def discard(self) -> None:
        if not self.recording:
            raise RuntimeError("no episode in flight to discard")
        self.writer.discard()
        self.writer, self.pending = None, None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()  # an episode in flight is dropped, as a kill would
        self.writer, self.pending = None, None

    def status(self) -> dict[str, Any]:
        steps = self.writer.n_steps + (self.pending is not None) if self.recording else 0
        until = float(self.pending["time"]) if self.pending is not None else None
        return {"recording": self.recording, "steps": steps, "until": until,
                "episodes": self.store.n_episodes if self.store else 0, "gaps": self.gaps,
                "success": self.success, "waiting_for": self.missing(),
                "received": {n: s.received for n, s in self.streams.items()}}

    # ------------------------------------------------------------------ steps
    def _step(self, t: float) -> dict[str, Any]:
        s = self.streams
        step: dict[str, Any] = {"time": np.float64(t)}
        step |= s["arm"].assemble(t, "arm")
        pose = s["pose"].assemble(t, "pose")
        pose_ok = pose.pop("valid/pose")
        step["valid/arm"] = np.bool_(step["valid/arm"] and pose_ok)
        step |= pose
        for cam in self.cfg.cameras:
            frame = s[f"cam/{cam}"].assemble(t, cam)
            self.gaps += not frame[f"valid/{cam}"]
            step |= frame
            if self.cfg.depth:
                step |= s[f"depth/{cam}"].assemble(t, f"{cam}_depth")
        target = s["target"].assemble(t, "action")
        grip = s["gripper_cmd"].pick(t)
        g = float(grip.values["target/gripper"][0]) if grip else float(step["state/gripper"][0])
        step |= target | {"target/gripper": np.array([g], np.float32)}
        if "task_state" in s:
            step |= s["task_state"].assemble(t, "task_state")
        step["action"] = self._action(step, g)
        return step

    def _action(self, step: dict[str, Any], gripper: float) -> np.ndarray:
        a = np.zeros(7, np.float32)
        a[6] = 2.0 * gripper - 1.0
        if step["valid/action"] and step["valid/arm"]:
            a[:3] = (step["target/ee_pos"] - step["state/ee_pos"]) / self.cfg.pos_scale
            a[3:6] = rot.difference(step["target/ee_quat"].astype(float),
                                    step["state/ee_quat"].astype(float)) / self.cfg.rot_scale
        return np.clip(np.nan_to_num(a), -1.0, 1.0)

    def _specs(self, step: dict[str, Any]) -> dict[str, KeySpec]:
        specs = {}
        for key, value in step.items():
            v = np.asarray(value)
            units, frame = UNITS.get(key, ("", ""))
            kind, _, name = key.partition("/")
            if kind == "state" and key not in UNITS:
                units, frame, _ = STATE_UNITS.get(name, ("", "", ""))
            if kind in ("image", "depth"):
                units, frame = ("rgb" if kind == "image" else "m"), f"{name}_color_optical_frame"
            elif kind == "time":
                units = "s"
            specs[key] = KeySpec(v.shape, v.dtype.name, units=units, frame=frame)
        return specs


def config_attrs(cfg: RecorderNodeConfig) -> dict[str, Any]:
    """Store attrs: the recorder's config, rig and task; for a registered task also its language prompt
    (VLM reward backends read `prompt`) and config, as the in-process collector writes them."""
    from robot_rl.tasks.registry import TASKS

    attrs = {"recorder": dataclasses.asdict(cfg), "rig": cfg.rig, "task": cfg.task,
             "recorded_by": "robot_rl recorder_node"}
    if cfg.task in TASKS:
        task = TASKS[cfg.task]()
        attrs |= {"prompt": task.prompt(), "task_config": dataclasses.asdict(task.config)}
    return attrs
