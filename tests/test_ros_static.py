"""Static checks of the ROS graph: launch files parse and match graph.py, parameter files parse and
are keyed by fully qualified node names with declared parameters, executables are console scripts,
every subscribed topic has a publisher, generated files are up to date. No rclpy needed."""

import dataclasses
import importlib.metadata
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from robot_rl.ros import launch_files
from robot_rl.ros.configs import CONFIGS
from robot_rl.ros.graph import DEFAULT_RIG, GRAPHS, interfaces

ROOT = Path(__file__).resolve().parents[1]


def _console_scripts() -> dict[str, str]:
    """name → module:function of the installed robot_rl distribution's console scripts."""
    eps = importlib.metadata.distribution("robot_rl").entry_points
    return {ep.name: ep.value.replace(" ", "") for ep in eps if ep.group == "console_scripts"}


def _resolve(path: str, rig: str = DEFAULT_RIG) -> Path:
    path = path.replace("$(find-pkg-share robot_rl)", str(ROOT)).replace("$(var rig)", rig)
    assert "$(" not in path, path
    return Path(path)


def test_generated_files_up_to_date():
    for rel, text in launch_files.files().items():
        assert (ROOT / rel).read_text() == text, f"{rel} is stale: run `python -m robot_rl.ros.launch_files`"


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_launch_file_matches_graph(graph):
    g = GRAPHS[graph]()
    root = ET.parse(ROOT / "launch" / f"{graph}.launch.xml").getroot()
    assert root.tag == "launch"
    declared = {a.get("name") for a in root.iter("arg") if a.get("default") is not None}
    assert declared == {a.name for a in g.args}
    env = {e.get("name"): e.get("value") for e in root.iter("set_env")}
    assert env == {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}
    nodes = {(n.get("namespace") or "", n.get("name")): n for n in root.iter("node")}
    assert set(nodes) == {(n.namespace, n.name) for n in g.nodes}
    for spec in g.nodes:
        el = nodes[(spec.namespace, spec.name)]
        assert el.get("pkg") == "robot_rl" and el.get("exec") == spec.executable
        for p in el.iter("param"):
            if p.get("from"):
                assert _resolve(p.get("from")).is_file(), p.get("from")
            else:
                assert re.fullmatch(r"\$\(var (\w+)\)", p.get("value")).group(1) in declared
    for inc in root.iter("include"):
        assert _resolve(inc.get("file")).is_file()
        for a in inc.iter("arg"):
            assert a.get("value") == f"$(var {a.get('name')})" and a.get("name") in declared


def test_executables_are_console_scripts():
    """Every executable of every graph is a console script `<exe> = robot_rl.ros.<exe>:main`."""
    scripts = _console_scripts()
    for make in GRAPHS.values():
        for n in make().nodes:
            assert scripts.get(n.executable) == f"robot_rl.ros.{n.executable}:main", (
                f"setup.py lacks console script {n.executable} = robot_rl.ros.{n.executable}:main")


def test_node_modules_have_main():
    for exe in CONFIGS:
        text = (ROOT / "robot_rl" / "ros" / f"{exe}.py").read_text()
        assert "\ndef main(" in text and 'if __name__ == "__main__":' in text


@pytest.mark.parametrize("path", sorted((ROOT / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_param_files_keys_are_node_names(path):
    data = yaml.safe_load(path.read_text())
    specs = {n.fqn: n for make in GRAPHS.values() for n in make().nodes}
    for key, body in data.items():
        assert key.startswith("/"), f"{path.name}: key {key!r} is not a fully qualified node name"
        assert key in specs, f"{path.name}: {key!r} is not a node of any graph"
        assert list(body) == ["ros__parameters"]
        fields = {f.name for f in dataclasses.fields(CONFIGS[specs[key].executable])} | {"use_sim_time"}
        unknown = set(body["ros__parameters"]) - fields
        assert not unknown, f"{path.name}: {key} has undeclared parameters {unknown}"


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_every_subscription_has_a_publisher(graph):
    g = GRAPHS[graph]()
    pubs, subs = set(), {}
    for n in g.nodes:
        p, s = interfaces(n)
        pubs |= p
        subs |= {topic: n.fqn for topic in s}
    missing = {t: who for t, who in subs.items() if t not in pubs}
    assert not missing, f"{graph}: topics subscribed without a publisher: {missing}"
