"""The MuJoCo mirror: `MujocoSim` (physics, controller, sim time) and the devices built on it,
`SimArm` and `SimCamera`, which implement the same interfaces as the hardware drivers.

Offscreen rendering on a machine without a display needs MUJOCO_GL=egl (or osmesa); when neither
MUJOCO_GL nor DISPLAY is set, EGL is chosen here, before MuJoCo is first imported through this package.
"""

import os

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"
