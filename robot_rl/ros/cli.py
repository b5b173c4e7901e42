"""`robot-rl ros ...`: run the ROS 2 node graphs without `ros2 launch`, regenerate launch files.

Imports no rclpy itself: the node processes do.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import tyro

from robot_rl.ros.graph import GRAPHS

GraphName = Literal[tuple(GRAPHS)]  # type: ignore[valid-type]
Positional = tyro.conf.Positional


def up(graph: Annotated[GraphName, Positional], args: Annotated[tuple[str, ...], Positional] = (),
       log_dir: Path | None = None) -> int:
    """Start a node graph as processes (what `ros2 launch robot_rl GRAPH.launch.xml` does on a ROS machine).

    Ctrl-C stops every node; if a node dies the runner names it and stops the rest.
    Example: `robot-rl ros up sim_collect task:=peg_insert store:=out/peg.zarr`.

    Args:
        graph: Graph from robot_rl/ros/graph.py.
        args: Launch arguments as name:=value (see `robot-rl ros graphs`).
        log_dir: Write each node's output to <log_dir>/<node>.log instead of this terminal.
    """
    from robot_rl.ros.runner import up as run_up

    parsed = {}
    for a in args:
        name, sep, value = a.partition(":=")
        if not sep:
            print(f"robot-rl ros up: argument {a!r} is not name:=value", file=sys.stderr)
            return 2
        parsed[name] = value
    known = {x.name for x in GRAPHS[graph]().args}
    if parsed.keys() - known:
        unknown = sorted(parsed.keys() - known)
        print(f"robot-rl ros up: unknown arguments {unknown}; {graph} takes {sorted(known)}", file=sys.stderr)
        return 2
    return run_up(graph, parsed, log_dir)


def graphs() -> int:
    """List the graphs, their nodes and launch arguments."""
    for name, make in GRAPHS.items():
        g = make()
        print(f"{name}: {g.description}")
        for a in g.args:
            print(f"  {a.name}:={a.default}  {a.description}")
        for n in g.nodes:
            print(f"  node {n.fqn} ({n.executable})")
    return 0


def generate(root: Path = Path(".")) -> int:
    """Rewrite launch/*.launch.xml and config/*.yaml from robot_rl/ros/graph.py.

    Args:
        root: Source tree root holding launch/ and config/.
    """
    from robot_rl.ros.launch_files import write

    for p in write(root):
        print(p)
    return 0


COMMANDS = {"up": up, "graphs": graphs, "generate": generate}
