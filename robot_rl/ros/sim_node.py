"""sim_node: the MuJoCo mirror as a ROS node — the same camera and arm topics as camera_node and
arm_node, the same commands (behind the same SafeArm), and /clock.

Free-running (default): a wall-clock timer advances the sim by 1/publish_hz s per tick (scaled by
real_time_factor), then publishes /clock, the arm state and, on the camera_hz grid of sim time,
every camera. Other nodes run with use_sim_time:=true, so their timers and stamps follow the sim;
if the machine is slow the sim (and the whole graph with it) runs slower than real time, never
skipping physics. Lock-step (`lockstep:=true`): time stands still until a target arrives (or the
`~/step` service is called); each advances exactly one control period.
Sim time published on /clock never goes backwards: `~/reset` (std_srvs/Trigger) re-randomises the
scene with the next seed and continues the clock. `~/success` (std_msgs/Bool) is the task's
success predicate, published with each camera frame.

Privileged, sim-only topic (never present on hardware): `~/task_state` (sensor_msgs/JointState, see
convert.values_to_joint_state) after every physics chunk, stamped with the sim time: what the in-process
env hands its scripted expert as `info["state"]` (robot state keys + the task's object state,
`Task.privileged`), plus `success` (1.0 / 0.0) and `scene_seed` (the seed of the current scene, so a
reader sees a reset in the same message as the new scene). expert_teleop drives the arm from it; the
recorder can store the object state next to what the real sensors give.

Run: `python -m robot_rl.ros.sim_node --ros-args -r __node:=sim -p task:=pick_cube`.
"""

from __future__ import annotations

import numpy as np
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from robot_rl.env.safety import SafeArm
from robot_rl.ros import convert, qos, runtime
from robot_rl.ros.arm_io import ArmIO, safety_config
from robot_rl.ros.camera_io import CameraIO
from robot_rl.ros.configs import SimNodeConfig
from robot_rl.ros.diagnostics import Diagnostics
from robot_rl.ros.params import declare_config

CLOCK_START = 1.0
"""ROS time (s) of sim time 0: ROS treats time 0 as "not set"."""


class SimNode(Node):
    def __init__(self, node_name: str = "sim") -> None:
        super().__init__(node_name)
        self.cfg = cfg = declare_config(self, SimNodeConfig)
        self._build_sim()
        self.offset, self.seed = CLOCK_START, cfg.seed
        self.diag = Diagnostics(self, hardware_id=f"mujoco:{cfg.task}")
        self.diag.extra["sim_time"] = lambda: f"{self.now():.3f}"
        self.io = ArmIO(self, self.arm, cfg.arm_ns, cfg.joint_prefix, cfg.base_frame,
                        lambda t: t + self.offset, self.diag,
                        on_target=self._step_period if cfg.lockstep else None)
        counter = self.diag.counter("frames")
        self.cams = {name: CameraIO(self, cfg.camera_ns, name, cfg.depth, cfg.depth_encoding, counter)
                     for name in cfg.cameras}
        self.pub_clock = self.create_publisher(Clock, "/clock", qos.COMMAND)
        self.pub_success = self.create_publisher(Bool, "~/success", qos.COMMAND)
        self.pub_task_state = self.create_publisher(JointState, "~/task_state", qos.STATE_PUB)
        self.srv_reset = self.create_service(Trigger, "~/reset", self._on_reset)
        self.srv_step = self.create_service(Trigger, "~/step", self._on_step)
        self.chunk = max(1, round(1.0 / cfg.publish_hz / self.sim.timestep))
        self.next_frame = 0.0
        self._reset_scene()
        self.timer = None
        if not cfg.lockstep:
            wall = self.chunk * self.sim.timestep / cfg.real_time_factor
            self.timer = self.create_timer(wall, self._advance, clock=runtime.steady_clock())

    def _build_sim(self) -> None:
        from robot_rl.drivers.mujoco.assets import load_scene
        from robot_rl.drivers.mujoco.sim import MujocoSim
        from robot_rl.drivers.mujoco.sim_arm import SimArm
        from robot_rl.drivers.mujoco.sim_camera import SimCamera
        from robot_rl.tasks.registry import make_task

        cfg = self.cfg
        self.task = make_task(cfg.task)
        self.sim = MujocoSim(load_scene(self.task.scene_xml()))
        self.task.bind(self.sim)
        arm = SimArm(self.sim, self.task.config.home_q)
        self.arm = SafeArm(arm, safety_config(cfg), watchdog_thread=False)
        self.cameras = {n: SimCamera(self.sim, n, cfg.image_height, cfg.image_width, depth=cfg.depth)
                        for n in cfg.cameras}

    def now(self) -> float:
        """Current ROS time published on /clock (s)."""
        return self.offset + self.sim.time

    # ------------------------------------------------------------------ stepping
    def _advance(self) -> None:
        self.sim.step(self.chunk)
        self._publish()

    def _step_period(self) -> None:
        for _ in range(max(1, round(self.cfg.control_period * self.cfg.publish_hz))):
            self._advance()

    def _publish(self) -> None:
        t = self.now()
        self.pub_clock.publish(Clock(clock=convert.to_stamp(t)))
        s = self.io.publish_state()
        self._publish_task_state(s, t)
        if t + 1e-9 >= self.next_frame:
            for name, cam in self.cameras.items():
                self.cams[name].publish(cam.read_latest(), t)
            self.pub_success.publish(Bool(data=bool(self.task.success(self.sim))))
            period = 1.0 / self.cfg.camera_hz
            self.next_frame = (np.floor((t + 1e-9) / period) + 1) * period

    def _publish_task_state(self, s, t: float) -> None:
        if self.pub_task_state.get_subscription_count() == 0:  # privileged and unused: skip the work
            return
        values = {"ee_pos": s.ee_pos, "ee_quat": s.ee_quat, "gripper": [s.gripper], "q": s.q,
                  **self.task.privileged(self.sim), "success": float(self.task.success(self.sim)),
                  "scene_seed": float(self.seed - 1)}
        self.pub_task_state.publish(convert.values_to_joint_state(values, t, self.cfg.base_frame))

    # ------------------------------------------------------------------ services
    def _reset_scene(self) -> None:
        self.offset += self.sim.time  # the published clock continues from where it was
        self.sim.reset()
        self.task.reset(self.sim, np.random.default_rng(self.seed))
        self.sim.data.time = 0.0
        self.arm.clear_error()
        self.io.forget_commands()
        self.seed += 1
        self._publish()

    def _on_reset(self, request, response):
        self._reset_scene()
        response.success, response.message = True, f"scene reset with seed {self.seed - 1}"
        return response

    def _on_step(self, request, response):
        self._step_period()
        response.success, response.message = True, f"t={self.now():.3f}"
        return response

    def close(self) -> None:
        self.sim.close()


def main(args: list[str] | None = None) -> int:
    return runtime.run(SimNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
