"""Finding the robot models under `hardware/models` and composing task scenes with them.

`hardware/` is installed as data files (setup.py: share/robot_rl/hardware/...), not as a package, so
the model is looked up, in order, at: $ROBOT_RL_HARDWARE_DIR; the source tree next to the package
(editable pip and colcon --symlink-install); `<prefix>/share/robot_rl/hardware` for every ancestor
prefix of the installed package (pip into a venv or --user, colcon's install/robot_rl).
A task's scene.xml names the models it includes (`<include file="franka_panda.xml"/>`); MuJoCo
resolves those names from the asset dict built here, so no scene contains a filesystem path.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import mujoco

import robot_rl

ROBOT_MODEL = "franka_panda.xml"


@cache
def hardware_dir() -> Path:
    """The directory holding `models/` and `rigs/` (raises FileNotFoundError with every place tried)."""
    tried = []
    env = os.environ.get("ROBOT_RL_HARDWARE_DIR")
    package = Path(robot_rl.__file__).resolve().parent  # site-packages/robot_rl, or the source tree's
    candidates = [Path(env)] if env else []
    candidates.append(package.parent / "hardware")
    candidates += [p / "share" / "robot_rl" / "hardware" for p in package.parents]
    candidates.append(Path(__file__).resolve().parents[2] / "hardware")  # drivers/ resolved: source tree
    for c in candidates:
        tried.append(str(c))
        if (c / "models" / ROBOT_MODEL).is_file():
            return c
    raise FileNotFoundError(f"robot model {ROBOT_MODEL} not found; looked in: {', '.join(tried)}. "
                            f"Set ROBOT_RL_HARDWARE_DIR to the folder holding models/.")


def model_assets() -> dict[str, bytes]:
    """Every file of hardware/models by file name, for `MjModel.from_xml_string(..., assets=...)`."""
    models = hardware_dir() / "models"
    return {p.name: p.read_bytes() for p in sorted(models.iterdir()) if p.is_file()}


def load_scene(scene_xml: str, extra_assets: dict[str, bytes] | None = None) -> mujoco.MjModel:
    """Compile a scene (MJCF text) that includes hardware models by file name."""
    return mujoco.MjModel.from_xml_string(scene_xml, assets=model_assets() | (extra_assets or {}))
