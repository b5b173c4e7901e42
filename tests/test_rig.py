"""Rig files (hardware/rigs/*.yaml) load into frozen dataclasses; malformed ones give exact messages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from robot_rl.env.rig import RigConfig, RigError, load_rig
from robot_rl.env.safety import SafetyConfig


def test_packaged_rigs_load():
    hw = load_rig("franka_2x_realsense")
    assert isinstance(hw, RigConfig) and hw.arm.driver == "franka" and hw.arm.host == "172.16.0.2"
    assert [c.serial for c in hw.cameras] == ["123622270001", "123622270002"]
    assert all((c.width, c.height, c.fps) == (640, 480, 30) for c in hw.cameras)
    assert hw.teleop.device == "spacemouse"
    assert isinstance(hw.safety.to_config(), SafetyConfig) and hw.safety.max_linear_velocity == 0.25
    front = hw.cameras[0].extrinsics.matrix()
    assert front[:3, 2] @ (np.zeros(3) - front[:3, 3]) > 0  # the front camera looks towards the base
    sim = load_rig("sim")
    assert sim.arm.driver == "sim" and {c.driver for c in sim.cameras} == {"sim"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        sim.name = "x"


def _write(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(Path(load_rig("franka_2x_realsense").source).read_text())
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["cameras"][1].update(fps="thirty"), "cameras[1].fps: expected an int, got 'thirty'"),
    (lambda d: d["cameras"][0].update(exposure=5), "cameras[0].exposure: expected no such key"),
    (lambda d: d["arm"].update(driver="ur5"), "arm.driver: expected one of franka, sim, got 'ur5'"),
    (lambda d: d["safety"].update(workspace_min=[0.2, 0.1]),
     "safety.workspace_min: expected a list of 3 values, got [0.2, 0.1]"),
    (lambda d: d.pop("teleop"), "teleop: expected a value (TeleopSpec), got '<missing>'"),
    (lambda d: d["cameras"][0]["extrinsics"].update(quaternion=[0, 0, 0, 2]),
     "cameras[0].extrinsics.quaternion: expected a unit quaternion xyzw, got [0.0, 0.0, 0.0, 2.0]"),
    (lambda d: d["cameras"][1].update(serial=123622270002),
     "cameras[1].serial: expected a str, got 123622270002"),
])
def test_malformed_rigs_name_file_key_and_expectation(tmp_path, edit, message):
    path = _write(tmp_path, edit)
    with pytest.raises(RigError) as err:
        load_rig(path)
    assert str(err.value).startswith(f"{path}: {message}")


def test_unknown_rig_lists_known_ones():
    with pytest.raises(RigError, match="known rigs: .*franka_2x_realsense.*sim"):
        load_rig("no_such_rig")
