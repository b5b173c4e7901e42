"""SimArm and SimCamera implement the driver interfaces (robot_rl.drivers.base) with sim time."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.drivers.base import Arm, ArmState, Camera, CameraFrame
from robot_rl.drivers.mujoco.assets import load_scene
from robot_rl.drivers.mujoco.sim import MujocoSim
from robot_rl.drivers.mujoco.sim_arm import SimArm
from robot_rl.drivers.mujoco.sim_camera import SimCamera

SCENE = '<mujoco><include file="franka_panda.xml"/><include file="tabletop.xml"/></mujoco>'


@pytest.fixture(scope="module")
def sim():
    s = MujocoSim(load_scene(SCENE))
    yield s
    s.close()


def test_sim_arm_state_has_interface_shapes_and_units(sim):
    arm = SimArm(sim)
    assert isinstance(arm, Arm)
    arm.home()
    s = arm.state()
    assert isinstance(s, ArmState)
    assert s.q.shape == s.dq.shape == (7,) and s.ee_pos.shape == (3,) and s.ee_quat.shape == (4,)
    np.testing.assert_allclose(s.ee_pos, [0.307, 0.0, 0.487], atol=2e-3)  # Franka's ready pose
    np.testing.assert_allclose(np.abs(s.ee_quat), [1, 0, 0, 0], atol=1e-6)  # xyzw: pointing down
    assert s.wrench.shape == (6,) and s.gripper == pytest.approx(1.0)
    t0 = s.time
    arm.command(s.ee_pos + [0.05, 0, 0], s.ee_quat, 0.0)
    sim.advance(1.0)
    s2 = arm.state()
    assert s2.time == pytest.approx(t0 + 1.0)
    assert s2.ee_pos[0] == pytest.approx(s.ee_pos[0] + 0.05, abs=2e-3)
    assert s2.gripper < 0.05


def test_sim_camera_frames(sim):
    cams = [SimCamera(sim, "front", 96, 128, depth=True), SimCamera(sim, "wrist", 64, 64)]
    for cam in cams:
        assert isinstance(cam, Camera)
        f = cam.read_latest()
        assert isinstance(f, CameraFrame)
        assert f.color.shape == (cam.height, cam.width, 3) and f.color.dtype == np.uint8
        assert f.color.std() > 5  # not a blank image
        assert f.time == sim.time and f.dropped == 0
        assert f.intrinsics.width == cam.width and f.intrinsics.height == cam.height
        assert cam.read_latest() is f  # same state → same frame
        sim.advance(0.1)
        g = cam.read_latest()
        assert g.frame_number == f.frame_number + 1 and g.time == pytest.approx(f.time + 0.1)
    depth = cams[0].read_latest().depth
    assert depth.shape == (96, 128) and depth.dtype == np.float32
    valid = depth[np.isfinite(depth)]
    assert valid.size > 0.5 * depth.size and 0.3 < valid.min() and valid.max() < 10.0


def test_front_depth_and_intrinsics_match_table_geometry(sim):
    """A table point (z = 0) projected with the intrinsics lands on a pixel whose depth is the
    point's distance along the optical axis."""
    cam = SimCamera(sim, "front", 120, 160, depth=True)
    f = cam.read_latest()
    cid = sim.model.camera("front").id
    pos, mat = sim.data.cam_xpos[cid], sim.data.cam_xmat[cid].reshape(3, 3)
    for point in ([0.75, 0.2, 0.0], [0.65, -0.25, 0.0]):
        p_cam = mat.T @ (np.asarray(point) - pos)  # MuJoCo camera frame: x right, y up, looking along -z
        z = -p_cam[2]
        k = f.intrinsics
        u, v = k.fx * p_cam[0] / z + k.cx, k.fy * -p_cam[1] / z + k.cy
        assert f.depth[round(v), round(u)] == pytest.approx(z, rel=0.01)


def test_hardware_models_are_found_and_overridable(tmp_path, monkeypatch):
    from robot_rl.drivers.mujoco import assets

    assert (assets.hardware_dir() / "models" / assets.ROBOT_MODEL).is_file()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / assets.ROBOT_MODEL).write_text("<mujoco/>")
    monkeypatch.setenv("ROBOT_RL_HARDWARE_DIR", str(tmp_path))
    assets.hardware_dir.cache_clear()
    try:
        assert assets.hardware_dir() == tmp_path
    finally:
        monkeypatch.delenv("ROBOT_RL_HARDWARE_DIR")
        assets.hardware_dir.cache_clear()
