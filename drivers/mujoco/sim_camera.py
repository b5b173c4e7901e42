"""SimCamera: a named MJCF camera of a MujocoSim, implementing `robot_rl.drivers.base.Camera`.

Frames are rendered offscreen (set MUJOCO_GL=egl or osmesa on a headless machine) at the sim's
current state and stamped with sim time; reading again before the state changes returns the same frame.
"""

from __future__ import annotations

import math

import numpy as np

from robot_rl.drivers.base import Camera, CameraFrame, Intrinsics
from robot_rl.drivers.mujoco.sim import MujocoSim


class SimCamera(Camera):
    """Camera `name` of the scene, rendering (height, width) colour and optionally aligned depth."""

    def __init__(self, sim: MujocoSim, name: str, height: int = 128, width: int = 128,
                 depth: bool = False) -> None:
        self.sim, self.name = sim, name
        self.height, self.width, self.depth = height, width, depth
        cam_id = sim.model.camera(name).id
        fy = 0.5 * height / math.tan(math.radians(float(sim.model.cam_fovy[cam_id])) / 2)
        # square pixels; pixel centres at integer coordinates (OpenCV convention)
        self.intrinsics = Intrinsics(fx=fy, fy=fy, cx=(width - 1) / 2, cy=(height - 1) / 2,
                                     width=width, height=height)
        self._far = float(sim.model.vis.map.zfar * sim.model.stat.extent)
        self._frame: CameraFrame | None = None
        self._revision = -1
        self._count = 0

    def read_latest(self) -> CameraFrame:
        if self._frame is not None and self._revision == self.sim.revision:
            return self._frame
        color, depth = self.sim.render(self.name, self.height, self.width, depth=self.depth)
        if depth is not None:
            depth[depth >= 0.999 * self._far] = np.nan  # nothing hit: invalid, as a depth camera reports
        self._count += 1
        self._revision = self.sim.revision
        self._frame = CameraFrame(color=color, depth=depth, intrinsics=self.intrinsics, time=self.sim.time,
                                  frame_number=self._count, dropped=0)
        return self._frame
