"""EpisodeStore key specs (shape, dtype, units, frame) for RobotEnv episodes."""

from __future__ import annotations

import gymnasium as gym

from robot_rl.data.spec import KeySpec

# state key → (units, frame, description)
STATE_UNITS: dict[str, tuple[str, str, str]] = {
    "ee_pos": ("m", "base", "TCP position"),
    "ee_quat": ("1", "base", "TCP orientation, unit quaternion xyzw"),
    "gripper": ("1", "", "gripper opening, 0 closed .. 1 open"),
    "q": ("rad", "joint", "arm joint positions"),
    "object_pos": ("m", "base", "privileged: object position"),
    "object_quat": ("1", "base", "privileged: object orientation, unit quaternion xyzw"),
    "hole_pos": ("m", "base", "privileged: hole entrance centre"),
    "handle_pos": ("m", "base", "privileged: drawer handle centre"),
    "drawer_opening": ("m", "", "privileged: drawer travel from closed"),
}

STEP_SPECS: dict[str, KeySpec] = {
    "action": KeySpec((7,), "float32", units="1", frame="base",
                      description="normalised (dx, dy, dz, droll, dpitch, dyaw, gripper) in [-1, 1]; "
                                  "scales in attrs.task_config.pos_scale/rot_scale"),
    "reward": KeySpec((), "float32", units="1",
                      description="1 when the success predicate holds after the action"),
    "terminal": KeySpec((), "bool", units="1", description="the episode terminated after the action"),
    "time": KeySpec((), "float64", units="s", frame="sim", description="sim time of the observation"),
}


def episode_specs(observation_space: gym.spaces.Dict) -> dict[str, KeySpec]:
    """Specs for every observation key plus action, reward, terminal and time."""
    specs = {}
    for key, space in observation_space.spaces.items():
        kind, name = key.split("/", 1)
        if kind == "state":
            units, frame, desc = STATE_UNITS.get(name, ("", "", ""))
        elif kind == "image":
            units, frame, desc = "rgb", f"{name}_color_optical_frame", f"{name} camera colour"
        else:
            units, frame, desc = "m", f"{name}_color_optical_frame", f"{name} camera depth, NaN invalid"
        specs[key] = KeySpec(space.shape, space.dtype.name, units=units, frame=frame, description=desc)
    return specs | STEP_SPECS
