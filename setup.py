"""Packaging for pip and colcon (ament_python) at once; see ../shared/notes/ros2.md.

colcon drives ``setup.py`` directly (colcon-core #208), so the metadata lives here rather than in
pyproject.toml. ``robot_rl/drivers`` and ``robot_rl/tasks`` are symlinks to the top-level folders:
setuptools follows them when copying (pip, colcon) and the interpreter follows them in editable and
``--symlink-install`` builds, where ``package_dir`` remapping would break (colcon-core #272).
"""

from pathlib import Path

from setuptools import find_packages, setup

NAME = "robot_rl"
HERE = Path(__file__).resolve().parent


def _share_files(folder: str, patterns: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """data_files entries installing ``folder`` under share/robot_rl/<folder>, keeping subfolders."""
    out: dict[str, list[str]] = {}
    for pattern in patterns:
        for path in sorted((HERE / folder).rglob(pattern)):
            rel = path.relative_to(HERE)
            out.setdefault(f"share/{NAME}/{rel.parent}", []).append(str(rel))
    return sorted(out.items())


ROS_NODES = ["camera_node", "arm_node", "teleop_node", "teleop_bridge", "sim_node", "recorder_node",
             "reset_node", "reward_node", "actor_node", "learner_node", "expert_teleop"]

ROS_WHEELS = [
    "ros-rclpy",
    "ros-rmw-fastrtps-cpp",  # named explicitly, or `import rclpy` cannot find librmw_fastrtps_cpp.so
    "ros-sensor-msgs",
    "ros-std-msgs",
    "ros-geometry-msgs",
    "ros-std-srvs",
    "ros-trajectory-msgs",
    "ros-diagnostic-msgs",
    "ros-lifecycle-msgs",
]

setup(
    name=NAME,
    version="0.1.0",
    description="Real-robot learning: ROS 2 rigs, zarr episodes, chunked diffusion policies and critics",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=[NAME, f"{NAME}.*"]),
    package_data={
        f"{NAME}.tasks": ["**/*.xml", "**/*.yaml", "**/*.txt"],
        f"{NAME}.drivers": ["**/*.yaml"],
    },
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{NAME}"]),
        (f"share/{NAME}", ["package.xml"]),
        *_share_files("launch", ("*.xml", "*.py", "*.yaml")),
        *_share_files("config", ("*.yaml",)),
        *_share_files("hardware", ("*.yaml", "*.xml", "*.urdf", "*.stl", "*.obj")),
    ],
    install_requires=[
        "numpy>=1.26",
        "zarr>=3.1,<4",
        "numcodecs>=0.15",
        "tyro>=0.9",
        "safetensors>=0.4",
        "matplotlib>=3.8",
        "tqdm>=4.66",
        "pyyaml>=6",
        "mujoco>=3.2",
        "gymnasium>=1.0",
        "imageio>=2.34",
        "imageio-ffmpeg>=0.5",
        "tensorboard>=2.16",
        "pillow>=10",
        "torch==2.13.0",  # the CPU build on disk; an unpinned torch pulls GB of CUDA wheels
    ],
    extras_require={
        "ros-wheels": ROS_WHEELS,
        "realsense": ["pyrealsense2>=2.59"],  # .db3 recordings, set_device: tested with 2.59.1
        "uvc": ["opencv-python-headless>=4.8"],
        "franka": ["franky-control", "franky-sim"],
        "teleop": ["hidapi"],  # SpaceMouse (HID); keyboard and gamepad need nothing extra
        "vlm": ["transformers>=4.40"],  # CLIP/SigLIP scoring without torchvision (no CPU build here)
        "dev": [
            "pytest>=8",
            "ruff>=0.6",
            "colcon-core",
            "colcon-ros",
            "colcon-python-setup-py",
            "setuptools<80",  # colcon's `develop --editable` was removed in setuptools 80
        ],
    },
    entry_points={"console_scripts": [
        "robot-rl = robot_rl.cli:main",
        # ROS 2 nodes (`ros2 run robot_rl <node>`; launch files name these executables)
        *(f"{node} = robot_rl.ros.{node}:main" for node in ROS_NODES),
    ]},
    zip_safe=False,
)
