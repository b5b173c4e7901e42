"""recorder_node: the data-collection service (lifecycle node).

Subscribes the configured camera and arm topics (reliable, see qos.py), turns each message into a
timestamped sample (header stamp = capture time), and every 20 ms of wall time lets
`EpisodeRecorder.tick` (recording.py) write the grid steps that are due on the ROS clock.
Services (std_srvs): `~/start` (Trigger: begin an episode at the next grid time), `~/label_success`
(SetBool: label the episode in flight), `~/save` (Trigger: commit it), `~/discard` (Trigger).
`~/status` (std_msgs/String, JSON, latched) after every change, every written step and at 2 Hz:
recording, steps, `until` (time of the newest assembled step), episodes, gaps, label, streams still
silent. The store is created on the first `start`, once every
stream has delivered a sample (its shapes come from the data). A camera that stops is recorded as
gaps; a killed recorder loses only the episode in flight (EpisodeStore commit protocol). On the mirror,
`task_state:=/sim/task_state` also records the privileged object state and success predicate.

Run: `python -m robot_rl.ros.recorder_node --ros-args -r __node:=recorder -p store:=out/demos.zarr`.
"""

from __future__ import annotations

import json

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.lifecycle import State, TransitionCallbackReturn
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64, String
from std_srvs.srv import SetBool, Trigger

from robot_rl.ros import convert, qos, runtime
from robot_rl.ros.alignment import FrameStats, Sample
from robot_rl.ros.configs import GRIPPER_JOINT, RecorderNodeConfig, arm_topics, camera_topics, joint_names
from robot_rl.ros.diagnostics import Diagnostics
from robot_rl.ros.params import declare_config
from robot_rl.ros.recording import EpisodeRecorder, config_attrs, task_state_values

OK = TransitionCallbackReturn.SUCCESS


class RecorderNode(runtime.DeviceNode):
    def __init__(self, node_name: str = "recorder") -> None:
        super().__init__(node_name)
        self.cfg = declare_config(self, RecorderNodeConfig)
        self.rec: EpisodeRecorder | None = None
        self.joints = [*joint_names(self.cfg.joint_prefix), GRIPPER_JOINT]
        self.diag = Diagnostics(self)
        self.diag.extra["status"] = lambda: json.dumps(self.rec.status() if self.rec else {})
        self.pub_status = self.create_publisher(String, "~/status", qos.LATCHED)
        self._entities: list = []
        self._ticks: list = []

    # ------------------------------------------------------------------ lifecycle
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        self.rec = EpisodeRecorder(self.cfg, config_attrs(self.cfg))
        self._subscribe()
        return OK

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        srv = [(Trigger, "start", self._start), (Trigger, "save", self._save),
               (Trigger, "discard", self._discard), (SetBool, "label_success", self._label)]
        self._entities += [self.create_service(t, f"~/{name}", cb) for t, name, cb in srv]
        clock = runtime.steady_clock()
        self._ticks = [self.create_timer(0.02, self._tick, clock=clock),
                       self.create_timer(0.5, self._publish_status, clock=clock)]
        self._publish_status()
        return OK

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        for timer in self._ticks:
            self.destroy_timer(timer)
        self._ticks = []
        return OK

    def close(self) -> None:
        if self.rec is not None:
            self.rec.close()
            self.rec = None

    # ------------------------------------------------------------------ inputs
    def _subscribe(self) -> None:
        cfg, at = self.cfg, arm_topics(self.cfg.arm_ns)
        state = [(JointState, at["joint_states"], self._on_joints),
                 (PoseStamped, at["ee_pose"], self._on_pose), (PoseStamped, at["target"], self._on_target),
                 (Float64, at["gripper"], self._on_gripper)]
        if cfg.task_state:
            state.append((JointState, cfg.task_state, self._on_task_state))
        subs = []
        for cam in cfg.cameras:
            t = camera_topics(cfg.camera_ns, cam)
            subs.append((Image, t["color"], self._camera_callback(cam, "cam", "image")))
            if cfg.depth:
                subs.append((Image, t["depth"], self._camera_callback(cam, "depth", "depth")))
        self._entities += [self.create_subscription(t, name, cb, qos.RECORD_STATE) for t, name, cb in state]
        self._entities += [self.create_subscription(t, name, cb, qos.RECORD) for t, name, cb in subs]

    def _push(self, stream: str, stamp: float, values: dict, seq: int = -1) -> None:
        if self.rec is not None:
            self.rec.streams[stream].push(Sample(stamp, values, seq))
            self.diag.counter(stream).tick()

    def _camera_callback(self, cam: str, kind: str, key: str):
        stream, store_key, seq = f"{kind}/{cam}", f"{key}/{cam}", [0]
        stats = FrameStats()
        self.diag.extra |= stats.fields(stream)

        def on_image(msg: Image) -> None:
            stamp = convert.from_stamp(msg.header.stamp)
            value = convert.color_to_rgb(msg).copy() if kind == "cam" else convert.image_to_depth(msg)
            stats.add(stamp, runtime.ros_time(self))
            seq[0] += 1
            self._push(stream, stamp, {store_key: value}, seq[0])
        return on_image

    def _on_joints(self, msg: JointState) -> None:
        q, _ = convert.joint_state_to_numpy(msg, self.joints)
        self._push("arm", convert.from_stamp(msg.header.stamp),
                   {"state/q": q[:7].astype(np.float32), "state/gripper": q[7:].astype(np.float32)})

    def _on_pose(self, msg: PoseStamped) -> None:
        pos, quat = convert.msg_to_pose(msg)
        self._push("pose", convert.from_stamp(msg.header.stamp),
                   {"state/ee_pos": pos.astype(np.float32), "state/ee_quat": quat.astype(np.float32)})

    def _on_target(self, msg: PoseStamped) -> None:
        pos, quat = convert.msg_to_pose(msg)
        self._push("target", convert.from_stamp(msg.header.stamp),
                   {"target/ee_pos": pos.astype(np.float32), "target/ee_quat": quat.astype(np.float32)})

    def _on_task_state(self, msg: JointState) -> None:
        values = task_state_values(convert.joint_state_to_values(msg))
        self._push("task_state", convert.from_stamp(msg.header.stamp), values)

    def _on_gripper(self, msg: Float64) -> None:  # no header: stamped on arrival
        value = {"target/gripper": np.array([msg.data], np.float32)}
        self._push("gripper_cmd", runtime.ros_time(self), value)

    # ------------------------------------------------------------------ services and ticks
    def _tick(self) -> None:
        if self.rec is not None and self.rec.recording and self.rec.tick(runtime.ros_time(self)):
            self.diag.counter("steps").tick()
            self._publish_status()  # an operator waiting for the last steps sees them at once

    def _call(self, response, action) -> object:
        try:
            response.message = str(action() or "ok")
            response.success = True
        except Exception as e:  # reported to the caller; the node keeps recording
            response.success, response.message = False, f"{type(e).__name__}: {e}"
            self.get_logger().warning(response.message)
        self._publish_status()
        return response

    def _start(self, request, response):
        return self._call(response, lambda: self.rec.start(runtime.ros_time(self)))

    def _save(self, request, response):
        return self._call(response, lambda: f"saved episode {self.rec.save(runtime.ros_time(self))}")

    def _discard(self, request, response):
        return self._call(response, self.rec.discard)

    def _label(self, request, response):
        return self._call(response, lambda: self.rec.label(bool(request.data)))

    def _publish_status(self) -> None:
        if self.rec is not None:
            self.pub_status.publish(String(data=json.dumps(self.rec.status())))


def main(args: list[str] | None = None) -> int:
    return runtime.run(RecorderNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
