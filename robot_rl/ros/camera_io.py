"""Publishing a CameraFrame as realsense-ros topics (used by camera_node and sim_node)."""

from __future__ import annotations

from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from robot_rl.drivers.base import CameraFrame
from robot_rl.ros import convert, qos
from robot_rl.ros.configs import camera_topics, optical_frame
from robot_rl.ros.diagnostics import Counter


class CameraIO:
    """Publishers for camera `name` under namespace `ns` (colour, camera_info, optional aligned depth)."""

    def __init__(self, node: Node, ns: str, name: str, depth: bool, depth_encoding: str,
                 counter: Counter) -> None:
        self.node, self.frame_id, self.depth_encoding = node, optical_frame(name), depth_encoding
        self.counter = counter
        t = camera_topics(ns, name)
        self.pub_color = node.create_publisher(Image, t["color"], qos.SENSOR_PUB)
        self.pub_info = node.create_publisher(CameraInfo, t["info"], qos.SENSOR_PUB)
        self.pub_depth = node.create_publisher(Image, t["depth"], qos.SENSOR_PUB) if depth else None
        self.last_number: int | None = None
        self.last_dropped = 0

    def publish(self, frame: CameraFrame, stamp: float) -> bool:
        """Publish `frame` stamped `stamp` (ROS s) unless it was already published; counts drops."""
        if frame.frame_number == self.last_number:
            return False
        if self.last_number is not None and frame.frame_number > self.last_number + 1:
            self.counter.drop(frame.frame_number - self.last_number - 1)  # frames we never saw
        self.last_number, self.last_dropped = frame.frame_number, frame.dropped
        self.pub_color.publish(convert.numpy_to_image(frame.color, "rgb8", stamp, self.frame_id))
        self.pub_info.publish(convert.camera_info(frame.intrinsics, stamp, self.frame_id))
        if self.pub_depth is not None and frame.depth is not None:
            depth = convert.depth_to_image(frame.depth, self.depth_encoding, stamp, self.frame_id)
            self.pub_depth.publish(depth)
        self.counter.tick()
        return True

    def destroy(self) -> None:
        for pub in (self.pub_color, self.pub_info, self.pub_depth):
            if pub is not None:
                self.node.destroy_publisher(pub)
