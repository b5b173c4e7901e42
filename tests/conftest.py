"""Test-session set-up shared by every test module."""

# Load order matters: a process that imports pyrealsense2 before rclpy and then creates an rclpy node
# crashes in an exit handler (free() of a static object; pyrealsense2 2.59 + the ROS 2 Kilted wheels,
# reproduced with a 6-line script). rclpy first is fine, which is what the ROS nodes do (camera_node
# imports rclpy before it opens a RealSense), so the test process does the same.
try:
    import rclpy  # noqa: F401
except ImportError:  # the ros-wheels extra is not installed: nothing to order
    pass
