"""ROS 2 side of robot_rl: message conversion, nodes (one per file), the node graph and its runner.

The only package that imports rclpy (DESIGN §1). Pure pieces — configs.py (parameters, topic names),
alignment.py and recording.py (the recorder's logic), graph.py (the node graph), launch_files.py —
import without rclpy so they can be tested and used where ROS is not installed.
"""
