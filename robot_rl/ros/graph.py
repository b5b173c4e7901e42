"""The node graphs, described once (DESIGN §6): launch files, parameter files and the process runner
(`robot-rl ros up GRAPH`) are all built from `GRAPHS`; tests check the files on disk against it.

- `sim_collect`: sim_node (MuJoCo mirror, /clock) + teleop_node + teleop_bridge + recorder_node, every
  node but the sim on sim time.
- `sim_demo`: sim_node + expert_teleop (the task's scripted expert as the operator's teleop device,
  reading the mirror's privileged task state) + teleop_bridge + recorder_node (also recording the
  privileged object state): demonstrations over ROS with no human (`robot-rl demo`, ros/demo_collect.py).
- `collect`: hardware collection for a rig: arm_node + one camera_node per camera + teleop_node +
  teleop_bridge + recorder_node. Device parameters (driver, serial, host) come from
  `config/rig_<rig>.yaml`, selected with `rig:=`; `use_sim:=true` runs `sim_collect` instead.
Executables are console scripts named like their module `robot_rl.ros.<executable>`; every node
process gets `FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA` (images between processes, notes/ros2.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from robot_rl.env.rig import RigConfig
from robot_rl.ros import configs as c

ENV = {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}
PACKAGE = "robot_rl"
DEFAULT_RIG = "franka_2x_realsense"


@dataclasses.dataclass(frozen=True)
class Arg:
    """A launch argument (`name:=value`)."""

    name: str
    default: str
    description: str


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """One node process."""

    executable: str
    """Console script (= module robot_rl.ros.<executable>)."""
    name: str
    namespace: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Parameters written to the graph's parameter file (config/<graph>.yaml)."""
    arg_params: dict[str, str] = dataclasses.field(default_factory=dict)
    """Parameter → launch argument whose value it takes."""
    rig_params: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Parameters of the default rig (config/rig_default.yaml); other rigs bring their own file."""

    @property
    def fqn(self) -> str:
        """Fully qualified node name, the key of its parameter-file entry."""
        return f"/{self.namespace}/{self.name}" if self.namespace else f"/{self.name}"

    @property
    def module(self) -> str:
        return f"robot_rl.ros.{self.executable}"

    def config(self, overrides: dict[str, Any] | None = None):
        """The node's config dataclass with this spec's parameters (and `overrides`) applied."""
        cls = c.CONFIGS[self.executable]
        names = {f.name for f in dataclasses.fields(cls)}
        values = {**self.rig_params, **self.params, **(overrides or {})}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names})


@dataclasses.dataclass(frozen=True)
class Graph:
    name: str
    description: str
    nodes: tuple[NodeSpec, ...]
    args: tuple[Arg, ...] = ()
    rig_file: bool = False
    """Nodes also load config/rig_$(var rig).yaml."""

    def node(self, name: str) -> NodeSpec:
        return next(n for n in self.nodes if n.name == name)


def _sim_time(params: dict[str, Any]) -> dict[str, Any]:
    return {"use_sim_time": True, **params}


TASK = Arg("task", "pick_cube", "registered task (sim scene; stored with each episode)")
STORE = Arg("store", "out/demos.zarr", "EpisodeStore directory the recorder writes")


def sim_collect() -> Graph:
    cams = ["front", "wrist"]
    common = {"control_hz": 10.0}
    nodes = (
        NodeSpec("sim_node", "sim", params={"cameras": cams, "camera_hz": 10.0, "control_period": 0.1},
                 arg_params={"task": "task"}),
        NodeSpec("teleop_node", "teleop", params=_sim_time({"device": "scripted"}),
                 arg_params={"device": "teleop"}),
        NodeSpec("teleop_bridge", "teleop_bridge", params=_sim_time(common)),
        NodeSpec("recorder_node", "recorder",
                 params=_sim_time({**common, "cameras": cams, "rig": "mujoco_mirror"}),
                 arg_params={"store": "store", "task": "task"}),
    )
    args = (TASK, STORE, Arg("teleop", "scripted", "teleop device: scripted, keyboard, spacemouse, gamepad"))
    return Graph("sim_collect", "teleoperated collection on the MuJoCo mirror", nodes, args)


def sim_demo() -> Graph:
    cams = ["front", "wrist"]
    common = {"control_hz": 10.0}
    size = Arg("image_size", "96", "side of the square camera images (pixels)")
    # recorder lag 0.2 s: slack for a loaded machine; a target that arrives after its step was assembled
    # would be recorded as the previous step's target. Sim state at 50 Hz: five samples per control period
    # is plenty for the 10 Hz grid and halves the message load on every node (2 shared cores)
    sim = {"cameras": cams, "camera_hz": 10.0, "control_period": 0.1, "publish_hz": 50.0}
    nodes = (
        NodeSpec("sim_node", "sim", params=sim,
                 arg_params={"task": "task", "image_height": size.name, "image_width": size.name}),
        NodeSpec("expert_teleop", "expert_teleop", params=_sim_time({**common, "sim_node": "/sim"}),
                 arg_params={"task": "task"}),
        NodeSpec("teleop_bridge", "teleop_bridge", params=_sim_time(common)),
        NodeSpec("recorder_node", "recorder",
                 params=_sim_time({**common, "cameras": cams, "rig": "mujoco_mirror", "lag": 0.2,
                                   "task_state": "/sim/task_state"}),
                 arg_params={"store": "store", "task": "task"}),
    )
    return Graph("sim_demo", "scripted-expert demonstrations over ROS on the MuJoCo mirror", nodes,
                 (TASK, STORE, size))


def collect() -> Graph:
    cams = ["front", "wrist"]
    nodes = (
        NodeSpec("arm_node", "arm", params={"control_period": 0.1, "publish_hz": 100.0},
                 rig_params={"driver": "franka", "host": "172.16.0.2"}),
        *(NodeSpec("camera_node", cam, "camera", params={"fps": 30, "width": 640, "height": 480},
                   rig_params={"driver": "realsense", "serial": ""}) for cam in cams),
        NodeSpec("teleop_node", "teleop", arg_params={"device": "teleop"}),
        NodeSpec("teleop_bridge", "teleop_bridge", params={"control_hz": 10.0}),
        NodeSpec("recorder_node", "recorder", params={"control_hz": 10.0, "cameras": cams},
                 arg_params={"store": "store", "task": "task", "rig": "rig"}),
    )
    args = (Arg("rig", DEFAULT_RIG, "rig: hardware/rigs/<rig>.yaml (as config/rig_<rig>.yaml)"),
            Arg("use_sim", "false", "run the MuJoCo mirror graph (sim_collect) instead of the hardware"),
            TASK, STORE, Arg("teleop", "spacemouse", "teleop device: spacemouse, keyboard, gamepad"))
    return Graph("collect", "hardware demonstration collection for a rig", nodes, args, rig_file=True)


GRAPHS = {"collect": collect, "sim_collect": sim_collect, "sim_demo": sim_demo}


def param_file(graph: Graph) -> dict[str, Any]:
    """The graph's parameter file as a dict keyed by fully qualified node name."""
    out = {}
    for n in graph.nodes:
        if n.params:
            values = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in n.params.items()}
            out[n.fqn] = {"ros__parameters": values}
    return out


def rig_param_file(graph: Graph, rig: RigConfig) -> dict[str, Any]:
    """config/rig_<rig>.yaml for `graph`, derived from the rig file (hardware/rigs/<rig>.yaml), the one
    place a rig is described: arm driver/address and safety limits, cameras by serial and mode."""
    cams = {c.name: c for c in rig.cameras}
    graph_cams = [n.name for n in graph.nodes if n.executable == "camera_node"]
    if sorted(cams) != sorted(graph_cams):
        raise ValueError(f"rig {rig.name} has cameras {sorted(cams)}; graph {graph.name} expects "
                         f"{graph_cams}")
    s = rig.safety
    arm = {"driver": rig.arm.driver, "host": rig.arm.host, "workspace_min": list(s.workspace_min),
           "workspace_max": list(s.workspace_max), "max_translation": s.max_translation,
           "max_rotation": s.max_rotation, "control_period": s.control_period,
           "watchdog_periods": s.watchdog_periods}
    out = {graph.node("arm").fqn: {"ros__parameters": arm}}
    for name in graph_cams:
        c = cams[name]
        out[graph.node(name).fqn] = {"ros__parameters": {
            "driver": c.driver, "serial": c.serial, "width": c.width, "height": c.height, "fps": c.fps,
            "depth": c.depth}}
    return out


def interfaces(node: NodeSpec, overrides: dict[str, Any] | None = None) -> tuple[set[str], set[str]]:
    """Topics the node publishes and subscribes (for the graph consistency check)."""
    cfg, ex = node.config(overrides), node.executable
    if ex == "camera_node":
        t = c.camera_topics(node.namespace, node.name)
        return {t["color"], t["info"]} | ({t["depth"]} if cfg.depth else set()), set()
    if ex in ("arm_node", "sim_node"):
        t = c.arm_topics(cfg.arm_ns)
        pubs = {t["joint_states"], t["ee_pose"], t["wrench"]}
        if ex == "sim_node":
            for cam in cfg.cameras:
                ct = c.camera_topics(cfg.camera_ns, cam)
                pubs |= {ct["color"], ct["info"]} | ({ct["depth"]} if cfg.depth else set())
            pubs |= {"/clock", f"/{node.name}/success", f"/{node.name}/task_state"}
        return pubs, {t["target"], t["gripper"]}
    if ex == "teleop_node":
        return set(c.teleop_topics(cfg.teleop_ns).values()), set()
    if ex == "expert_teleop":
        return set(c.teleop_topics(cfg.teleop_ns).values()), {f"{cfg.sim_node.rstrip('/')}/task_state"}
    if ex == "teleop_bridge":
        t, tt = c.arm_topics(cfg.arm_ns), c.teleop_topics(cfg.teleop_ns)
        return {t["target"], t["gripper"]}, {tt["twist"], tt["joy"], t["ee_pose"]}
    if ex == "recorder_node":
        t = c.arm_topics(cfg.arm_ns)
        subs = {t["joint_states"], t["ee_pose"], t["target"], t["gripper"]}
        for cam in cfg.cameras:
            ct = c.camera_topics(cfg.camera_ns, cam)
            subs |= {ct["color"]} | ({ct["depth"]} if cfg.depth else set())
        return {f"/{node.name}/status"}, subs | ({cfg.task_state} if cfg.task_state else set())
    raise KeyError(f"unknown executable {ex!r}")
