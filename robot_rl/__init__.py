"""robot_rl: a real-robot learning suite (ROS 2 rigs, zarr episodes, chunked diffusion + critics)."""

__version__ = "0.1.0"
