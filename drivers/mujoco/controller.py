"""Cartesian impedance (operational-space) controller for the MuJoCo arm, run at the physics rate.

The command is the same as the hardware arm's: a target TCP pose (+ gripper, handled by the sim).
Each physics step computes, for the 7 arm joints,

    e    = clip(pose error)                       # translation ≤ max_pos_error, rotation ≤ max_rot_error
    F    = Λ (kp ⊙ e − kd ⊙ v)                    # 6-D wrench at the TCP, world frame, Λ = (J M⁻¹ Jᵀ)⁻¹
    F   ← F scaled so |F_lin| ≤ max_force, |F_rot| ≤ max_torque
    τ    = Jᵀ F + Nᵀ (kn (q_rest − q) − dn q̇) + bias(q, q̇),   Nᵀ = I − Jᵀ Λ J M⁻¹
    τ   ← clip(τ, torque limits)

Clipping the pose error (as SERL does) bounds the spring force when the target sits inside an
obstacle, so pushing into the table gives a bounded contact force instead of a runaway one.
Gains are mass-normalised (1/s², 1/s) through Λ, so tracking is uniform across the workspace.
"""

from __future__ import annotations

import dataclasses
import math

import mujoco
import numpy as np


@dataclasses.dataclass(frozen=True)
class ControllerConfig:
    """Gains and limits of the operational-space controller."""

    kp_pos: float = 400.0
    """Translational stiffness, mass-normalised (1/s²)."""
    kp_rot: float = 300.0
    """Rotational stiffness, mass-normalised (1/s²)."""
    damping_ratio: float = 1.0
    """kd = 2·damping_ratio·sqrt(kp) for both parts."""
    max_pos_error: float = 0.02
    """Translation error is clipped to this length (m): bounds contact force."""
    max_rot_error: float = 0.3
    """Rotation error is clipped to this angle (rad)."""
    max_force: float = 60.0
    """Cap on the commanded TCP force (N)."""
    max_torque: float = 10.0
    """Cap on the commanded TCP torque (N·m)."""
    kp_null: float = 10.0
    """Null-space joint stiffness towards the rest posture (N·m/rad); damping 2·sqrt(kp_null)."""
    torque_limits: tuple[float, ...] = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)
    """Joint torque limits (N·m), Franka's published values."""


class OperationalSpaceController:
    """Computes arm joint torques that pull a site towards a target pose.

    `dofs`: the arm's 7 dof indices in MjData (qvel/qfrc order); `qpos_adr` their qpos indices;
    `site_id`: the controlled site (the TCP). Λ uses the whole system's inertia (mj_solveM), so the
    fingers' dynamics are accounted for; torques go to the arm dofs only.
    """

    def __init__(self, model: mujoco.MjModel, dofs: np.ndarray, qpos_adr: np.ndarray, site_id: int,
                 config: ControllerConfig = ControllerConfig()) -> None:
        self.model, self.cfg = model, config
        self.dofs, self.qpos_adr, self.site_id = np.asarray(dofs), np.asarray(qpos_adr), site_id
        self.q_rest = np.zeros(len(dofs))
        self._jac = np.zeros((6, model.nv))
        self._jminv = np.zeros((6, model.nv))
        self._kp = np.array([config.kp_pos] * 3 + [config.kp_rot] * 3)
        self._kd = 2.0 * config.damping_ratio * np.sqrt(self._kp)
        self._kn, self._dn = config.kp_null, 2.0 * np.sqrt(config.kp_null)
        self._tau_lim = np.asarray(config.torque_limits)
        self._reg = 1e-6 * np.eye(6)
        self._quat = np.zeros(4)
        self._err_quat = np.zeros(4)
        self._neg = np.zeros(4)
        self._err = np.zeros(6)

    def pose_error(self, data: mujoco.MjData, target_pos: np.ndarray,
                   target_quat_wxyz: np.ndarray) -> np.ndarray:
        """(6,) unclipped error: translation (m) and rotation vector (rad), world frame."""
        err = self._err
        mujoco.mju_mat2Quat(self._quat, data.site_xmat[self.site_id])
        mujoco.mju_negQuat(self._neg, self._quat)
        mujoco.mju_mulQuat(self._err_quat, target_quat_wxyz, self._neg)
        mujoco.mju_quat2Vel(err[3:], self._err_quat, 1.0)
        err[:3] = target_pos - data.site_xpos[self.site_id]
        return err.copy()

    def torque(self, data: mujoco.MjData, target_pos: np.ndarray, target_quat_wxyz: np.ndarray) -> np.ndarray:
        """Joint torques (7,) N·m for the current state of `data` (positions/velocities up to date)."""
        cfg, d, jac, jminv = self.cfg, self.dofs, self._jac, self._jminv
        err = self.pose_error(data, target_pos, target_quat_wxyz)
        _cap(err[:3], cfg.max_pos_error)
        _cap(err[3:], cfg.max_rot_error)
        mujoco.mj_jacSite(self.model, data, jac[:3], jac[3:], self.site_id)
        mujoco.mj_solveM(self.model, data, jminv, jac)  # J M⁻¹ (6, nv)
        lam = np.linalg.inv(jminv @ jac.T + self._reg)
        F = lam @ (self._kp * err - self._kd * (jac @ data.qvel))
        _cap(F[:3], cfg.max_force)
        _cap(F[3:], cfg.max_torque)
        J = jac[:, d]
        tau_null = self._kn * (self.q_rest - data.qpos[self.qpos_adr]) - self._dn * data.qvel[d]
        tau = J.T @ (F - lam @ (jminv[:, d] @ tau_null)) + tau_null + data.qfrc_bias[d]
        return np.clip(tau, -self._tau_lim, self._tau_lim)


def _cap(v: np.ndarray, limit: float) -> None:
    """Scale `v` in place so its length is at most `limit`."""
    n = math.sqrt(float(v @ v))
    if n > limit:
        v *= limit / n
