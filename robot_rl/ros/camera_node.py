"""camera_node: any `Camera` → realsense-ros-style topics (lifecycle node).

Topics under the node's name and namespace (`/<ns>/<name>/color/image_raw`, `.../color/camera_info`,
`.../aligned_depth_to_color/image_raw`), frame `<name>_color_optical_frame`, stamps = capture time
mapped from host-monotonic time onto the ROS clock. configure opens the device, activate starts a
grab thread (blocking `read_next` when the driver has it, else polling `read_latest` at 2×fps),
deactivate stops it, cleanup closes the device. /diagnostics: frame rate, frames missed (frame-number
gaps), frames the device dropped.

Run: `python -m robot_rl.ros.camera_node --ros-args -r __node:=front -r __ns:=/camera -p driver:=realsense`.
"""

from __future__ import annotations

import threading

from rclpy.lifecycle import State, TransitionCallbackReturn

from robot_rl.ros import runtime
from robot_rl.ros.camera_io import CameraIO
from robot_rl.ros.configs import CameraNodeConfig
from robot_rl.ros.devices import make_camera
from robot_rl.ros.diagnostics import Diagnostics
from robot_rl.ros.params import declare_config

OK = TransitionCallbackReturn.SUCCESS


class CameraNode(runtime.DeviceNode):
    def __init__(self, node_name: str = "camera") -> None:
        super().__init__(node_name)
        self.cfg = declare_config(self, CameraNodeConfig)
        self.camera = None
        self.io: CameraIO | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.diag = Diagnostics(self, hardware_id=f"{self.cfg.driver}:{self.cfg.serial}")
        self.frames = self.diag.counter("frames")
        self.diag.extra["device_dropped"] = lambda: self.io.last_dropped if self.io else 0

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        self.camera = make_camera(self.get_name(), self.cfg)
        ns = self.get_namespace().strip("/")
        self.io = CameraIO(self, ns, self.get_name(), self.cfg.depth, self.cfg.depth_encoding, self.frames)
        return OK

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        self._stop.clear()
        self._thread = threading.Thread(target=self._grab, name="camera-grab", daemon=True)
        self._thread.start()
        return OK

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._halt()
        return OK

    def _grab(self) -> None:
        read_next = getattr(self.camera, "read_next", None)
        while not self._stop.is_set():
            try:
                frame = read_next(1.0) if read_next else self.camera.read_latest()
            except Exception as e:  # a device hiccup must not kill the node; it shows in diagnostics
                self.get_logger().warning(f"camera read failed: {e}", throttle_duration_sec=1.0)
                self._stop.wait(0.1)
                continue
            if not self.context.ok():  # shutting down (SIGINT): stop before publishing on a dead context
                break
            self.io.publish(frame, runtime.monotonic_to_ros(self, frame.time))
            if read_next is None:
                self._stop.wait(0.5 / self.cfg.fps)

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def close(self) -> None:
        self._halt()
        if self.io is not None:
            self.io.destroy()
            self.io = None
        if self.camera is not None:
            self.camera.close()
            self.camera = None


def main(args: list[str] | None = None) -> int:
    return runtime.run(CameraNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
