"""`robot-rl ros up GRAPH [name:=value ...]`: run a graph from graph.py as node processes, where
`ros2 launch` is not installed (the PyPI wheels have no launch). Each node runs as
`python -m robot_rl.ros.<executable> --ros-args -r __node:=... -r __ns:=... --params-file ...`, with
the graph's environment (FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA). SIGINT/SIGTERM to the runner is
forwarded as SIGINT to every node; if any node exits on its own the runner says which one and stops
the rest. Only this module's own children are ever signalled (by process id).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from robot_rl.ros.graph import ENV, GRAPHS, Graph, NodeSpec, param_file


def ros_value(v: Any) -> str:
    """A parameter value as `-p name:=value` text (YAML flow syntax)."""
    if isinstance(v, tuple):
        v = list(v)
    return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()


def find_config(name: str) -> Path:
    """config/<name> from the source tree, the ament index (colcon) or <prefix>/share (pip)."""
    candidates = [Path(__file__).resolve().parents[2] / "config" / name,
                  Path(sys.prefix) / "share" / "robot_rl" / "config" / name]
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.insert(0, Path(get_package_share_directory("robot_rl")) / "config" / name)
    except Exception:  # not built with colcon / no ament index: fall back to the other places
        pass
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"config/{name} not found in {[str(p) for p in candidates]}")


def resolve(graph: str, args: dict[str, str]) -> Graph:
    if graph not in GRAPHS:
        raise KeyError(f"unknown graph {graph!r}; graphs: {sorted(GRAPHS)}")
    if graph == "collect" and args.get("use_sim", "false").lower() in ("1", "true", "yes"):
        graph = "sim_collect"
    return GRAPHS[graph]()


class GraphProcesses:
    """The running processes of one graph. `overrides`: node name → {param: value} (-p flags)."""

    def __init__(self, graph: Graph, args: dict[str, str] | None = None,
                 overrides: dict[str, dict[str, Any]] | None = None, env: dict[str, str] | None = None,
                 log_dir: Path | None = None, python: str = sys.executable) -> None:
        self.graph, self.args = graph, {a.name: a.default for a in graph.args} | (args or {})
        self.overrides, self.python = overrides or {}, python
        self.env = {**os.environ, **ENV, **(env or {})}
        self.workdir = Path(tempfile.mkdtemp(prefix=f"robot_rl_{graph.name}_"))
        self.log_dir = log_dir
        self.params = self.workdir / f"{graph.name}.yaml"
        self.params.write_text(yaml.safe_dump(param_file(graph)), encoding="utf-8")
        self.procs: dict[str, subprocess.Popen] = {}

    def command(self, n: NodeSpec) -> list[str]:
        cmd = [self.python, "-m", n.module, "--ros-args", "-r", f"__node:={n.name}",
               "-r", f"__ns:=/{n.namespace}", "--params-file", str(self.params)]
        if self.graph.rig_file:
            cmd += ["--params-file", str(find_config(f"rig_{self.args['rig']}.yaml"))]
        values = {p: self.args[a] for p, a in n.arg_params.items() if a in self.args}
        values |= self.overrides.get(n.name, {})
        for k, v in values.items():
            cmd += ["-p", f"{k}:={ros_value(v)}"]
        return cmd

    def start(self, only: list[str] | None = None) -> None:
        for n in self.graph.nodes:
            if only is None or n.name in only:
                self.start_node(n)

    def start_node(self, n: NodeSpec) -> subprocess.Popen:
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{n.name}.log", "ab")  # noqa: SIM115 (the child owns it)
        err = subprocess.STDOUT if out else None
        self.procs[n.name] = subprocess.Popen(self.command(n), env=self.env, stdout=out, stderr=err,
                                              start_new_session=True)
        return self.procs[n.name]

    def died(self) -> dict[str, int]:
        """Nodes that have exited: name → return code."""
        return {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}

    def stop(self, names: list[str] | None = None, timeout: float = 5.0) -> None:
        """SIGINT (clean shutdown), then SIGKILL after `timeout` s; waits for each process."""
        procs = {k: p for k, p in self.procs.items() if names is None or k in names}
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for p in procs.values():
            try:
                p.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def kill(self, name: str) -> None:
        """SIGKILL one node (tests: a crash)."""
        self.procs[name].kill()
        self.procs[name].wait()

    def __enter__(self) -> GraphProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)  # the generated parameter file


def up(graph: str, args: dict[str, str], log_dir: Path | None = None) -> int:
    """Run `graph` until interrupted or until a node dies; returns 0 on Ctrl-C, 1 if a node died."""
    g = resolve(graph, args)
    procs = GraphProcesses(g, args, log_dir=log_dir)
    stop = {"signal": False}

    def on_signal(signum, frame) -> None:
        stop["signal"] = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        procs.start()
        pids = ", ".join(f"{n.fqn} (pid {procs.procs[n.name].pid})" for n in g.nodes)
        print(f"robot-rl ros up {g.name}: {pids}", flush=True)
        while not stop["signal"]:
            dead = procs.died()
            if dead:
                for name, code in dead.items():
                    print(f"robot-rl ros up: node {name} exited with code {code}; stopping the graph",
                          file=sys.stderr, flush=True)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        procs.__exit__()
        for s, h in old.items():
            signal.signal(s, h)
