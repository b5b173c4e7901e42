"""The MuJoCo mirror's physics: owns MjModel/MjData, sim time, the arm controller and renderers.

`MujocoSim` is shared by the mirror's devices (SimArm, SimCamera) the way one robot is shared by its
drivers. The environment advances it by one control period at a time; within that period the
operational-space controller runs at every physics step (timestep 0.002 s → 500 Hz).
Quaternions here are MuJoCo's (w, x, y, z); the device classes convert to the interface's xyzw.
"""

from __future__ import annotations

import mujoco
import numpy as np

from robot_rl.drivers.mujoco.controller import ControllerConfig, OperationalSpaceController

ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("finger_joint1", "finger_joint2")
ARM_ACTUATORS = tuple(f"actuator{i}" for i in range(1, 8))
FINGER_TRAVEL = 0.04  # m per finger, fully open
HAND_BODIES = ("link7", "hand", "left_finger", "right_finger")


class MujocoSim:
    """Physics + controller for one scene holding the `franka_panda.xml` robot."""

    def __init__(self, model: mujoco.MjModel, controller: ControllerConfig | None = None) -> None:
        self.model = model
        self.data = mujoco.MjData(model)
        joints = [model.joint(n) for n in ARM_JOINTS]
        self.arm_qpos = np.array([j.qposadr[0] for j in joints])
        self.arm_dofs = np.array([j.dofadr[0] for j in joints])
        self.finger_qpos = np.array([model.joint(n).qposadr[0] for n in FINGER_JOINTS])
        self.arm_act = np.array([model.actuator(n).id for n in ARM_ACTUATORS])
        self.grip_act = model.actuator("gripper").id
        self.ee_site = model.site("ee").id
        self.controller = OperationalSpaceController(model, self.arm_dofs, self.arm_qpos, self.ee_site,
                                                     controller or ControllerConfig())
        self._hand_bodies = {model.body(n).id for n in HAND_BODIES}
        self.target_pos = np.zeros(3)
        self.target_quat = np.array([1.0, 0.0, 0.0, 0.0])
        self.gripper_target = 1.0
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self.revision = 0
        """Incremented whenever the state changes (steps, resets, teleports); cameras cache by it."""

    # ------------------------------------------------------------------ state
    @property
    def time(self) -> float:
        """Sim time (s) since the last reset."""
        return float(self.data.time)

    @property
    def timestep(self) -> float:
        return float(self.model.opt.timestep)

    def ee_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """TCP position (3,) m and orientation quaternion wxyz (4,), world (= base) frame."""
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[self.ee_site])
        return self.data.site_xpos[self.ee_site].copy(), quat

    def gripper_opening(self) -> float:
        """0 closed .. 1 fully open."""
        return float(np.clip(self.data.qpos[self.finger_qpos].sum() / (2 * FINGER_TRAVEL), 0.0, 1.0))

    def external_wrench(self) -> np.ndarray:
        """(6,) contact force (N) and torque about the TCP (N·m) acting on the hand, world frame."""
        d, m = self.data, self.model
        wrench, f6 = np.zeros(6), np.zeros(6)
        tcp = d.site_xpos[self.ee_site]
        for i in range(d.ncon):
            c = d.contact[i]
            b1, b2 = m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2]
            sign = (b2 in self._hand_bodies) - (b1 in self._hand_bodies)  # force acts on geom2
            if sign == 0:
                continue
            mujoco.mj_contactForce(m, d, i, f6)
            f = sign * (c.frame.reshape(3, 3).T @ f6[:3])
            wrench[:3] += f
            wrench[3:] += np.cross(c.pos - tcp, f)
        return wrench

    # ------------------------------------------------------------------ commands
    def set_target(self, pos: np.ndarray, quat_wxyz: np.ndarray, gripper: float) -> None:
        """Stream a TCP target (world frame) and gripper opening (0..1)."""
        self.target_pos = np.asarray(pos, dtype=float).copy()
        q = np.asarray(quat_wxyz, dtype=float)
        self.target_quat = q / np.linalg.norm(q)
        self.gripper_target = float(np.clip(gripper, 0.0, 1.0))

    def hold(self) -> None:
        """Target the current TCP pose (keeps the gripper target)."""
        self.target_pos, self.target_quat = self.ee_pose()

    def set_arm(self, q: np.ndarray, gripper: float = 1.0) -> None:
        """Teleport the arm to joint positions `q` (7,) at rest, gripper opening 0..1, and hold there."""
        self.data.qpos[self.arm_qpos] = q
        self.data.qvel[self.arm_dofs] = 0.0
        self.data.qpos[self.finger_qpos] = gripper * FINGER_TRAVEL
        self.data.qvel[self.finger_qpos] = 0.0
        self.controller.q_rest = np.asarray(q, dtype=float).copy()
        self.forward()
        self.hold()
        self.gripper_target = float(gripper)

    def reset(self) -> None:
        """Back to the model's initial state at time 0."""
        mujoco.mj_resetData(self.model, self.data)
        self.forward()
        self.hold()

    def forward(self) -> None:
        """Recompute derived quantities after editing qpos/qvel directly (teleports)."""
        mujoco.mj_forward(self.model, self.data)
        self.revision += 1

    # ------------------------------------------------------------------ stepping
    def step(self, n: int = 1) -> None:
        """Advance `n` physics steps, running the controller at each."""
        m, d = self.model, self.data
        d.ctrl[self.grip_act] = self.gripper_target * FINGER_TRAVEL
        for _ in range(n):
            mujoco.mj_step1(m, d)  # kinematics, inertia, bias forces at the current state ...
            d.ctrl[self.arm_act] = self.controller.torque(d, self.target_pos, self.target_quat)
            mujoco.mj_step2(m, d)  # ... then integrate with the controller's torques
        mujoco.mj_forward(m, d)  # derived quantities (poses, contacts) for the state reached
        self.revision += 1

    def advance(self, duration: float) -> None:
        """Advance by `duration` seconds (rounded to whole physics steps)."""
        self.step(max(1, round(duration / self.timestep)))

    # ------------------------------------------------------------------ rendering
    def render(self, camera: str, height: int, width: int,
               depth: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """RGB (H, W, 3) uint8 and, if asked, depth (H, W) float32 metres from the named camera."""
        r = self._renderers.get((height, width))
        if r is None:
            r = self._renderers[(height, width)] = mujoco.Renderer(self.model, height, width)
        r.update_scene(self.data, camera=camera)
        rgb = r.render().copy()
        dep = None
        if depth:
            r.enable_depth_rendering()
            r.update_scene(self.data, camera=camera)
            dep = r.render().astype(np.float32)
            r.disable_depth_rendering()
        return rgb, dep

    def close(self) -> None:
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()
