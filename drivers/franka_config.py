"""Configuration of the Franka arm driver (`robot_rl.drivers.franka.FrankaArm`)."""

from __future__ import annotations

import dataclasses

HOME_Q = (0.0, -0.7853981633974483, 0.0, -2.356194490192345, 0.0, 1.5707963267948966, 0.7853981633974483)
"""Franka's ready pose (rad), the same one the MuJoCo mirror homes to (drivers/mujoco/sim_arm.py)."""


@dataclasses.dataclass(frozen=True)
class FrankaConfig:
    """How to reach and drive one Franka (Panda / FR3) through franky-control (libfranka)."""

    host: str = "172.16.0.2"
    """FCI address of the robot controller (the arm's shop-floor port), or 127.0.0.1 for franky-sim."""
    realtime_ignore: bool = False
    """Pass RealtimeConfig.Ignore to libfranka: needed without a PREEMPT_RT kernel (franky-sim, laptops);
    keep False on the real rig so a missing realtime kernel is an error rather than jitter reflexes."""
    relative_dynamics_factor: float = 0.15
    """Scale (0, 1] of franky's velocity/acceleration/jerk limits for streamed Cartesian targets."""
    max_linear_velocity: float | None = 0.25
    """Cap (m/s) on the speed of the setpoints franky interpolates (its Cartesian velocity limit); with
    SafeArm's workspace box this bounds the overshoot past the box to the braking distance. None: franky's."""
    max_angular_velocity: float | None = 1.0
    """Cap (rad/s) on the angular speed of the interpolated setpoints; None: franky's default."""
    home_dynamics_factor: float = 0.15
    """Scale (0, 1] of the joint limits for `home()` moves."""
    home_q: tuple[float, ...] = HOME_Q
    """Joint configuration (7,) rad that `home()` moves to."""
    gripper: bool = True
    """Whether a Franka Hand is attached (connects the gripper server on the same host)."""
    gripper_speed: float = 0.1
    """Finger speed (m/s) for gripper moves and grasps (the Hand's limit is 0.1 m/s)."""
    gripper_force: float = 40.0
    """Grasp force (N) applied when closing below `grasp_below` (the Hand allows up to 70 N continuous)."""
    grasp_below: float = 0.05
    """Opening (0..1) below which a gripper command becomes a force-controlled grasp instead of a move."""
    gripper_deadband: float = 0.02
    """Opening change (0..1) below which a new gripper command is ignored (avoids re-sending per step)."""
    torque_threshold: float = 20.0
    """Collision reflex torque threshold (N·m) for every joint (libfranka collision behaviour)."""
    force_threshold: float = 30.0
    """Collision reflex force threshold (N) at the end effector."""
    control_period: float = 0.1
    """Expected time (s) between streamed targets; used by the safety watchdog and benches."""
    connect_timeout: float = 3.0
    """Bound (s) on reaching the FCI TCP port before libfranka connects (libfranka itself waits longer)."""
    stop_timeout: float = 2.0
    """Longest wait (s) for `stop()` to bring the arm to rest."""
    home_timeout: float = 30.0
    """Longest wait (s) for `home()`."""
    clock_resync: float = 0.02
    """Re-anchor the robot-clock → host-monotonic map when a sample arrives more than this (s) late
    relative to the map (the robot clock drifted, or the connection stalled)."""
