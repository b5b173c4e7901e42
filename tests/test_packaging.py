"""The package installs four ways (pip, pip -e, colcon, colcon --symlink-install) and always imports
as robot_rl.drivers / robot_rl.tasks, with nothing called drivers or tasks at the top level."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BASE_PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")  # an interpreter without robot_rl installed
IMPORT_CHECK = (
    "import importlib.util, robot_rl.drivers, robot_rl.tasks; "
    "assert importlib.util.find_spec('drivers') is None, 'top-level drivers importable'; "
    "assert importlib.util.find_spec('tasks') is None, 'top-level tasks importable'; "
    "print(robot_rl.drivers.__file__)"
)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of the source tree (builds write build/ and *.egg-info next to setup.py)."""
    dst = tmp_path_factory.mktemp("pkg") / "robot_rl"
    ignore = shutil.ignore_patterns(".venv", ".git", "build", "install", "log", "out", "*.egg-info",
                                   "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(ROOT, dst, symlinks=True, ignore=ignore)
    return dst


def _run(cmd: list[str], cwd: Path, **env: str) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": "", **env})
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _import_check(cmd: str, cwd: Path) -> Path:
    """Run IMPORT_CHECK after `cmd` (which selects the interpreter/environment), outside the source
    tree; returns the path robot_rl.drivers was imported from."""
    out = _run(["bash", "-c", f"{cmd} -c \"{IMPORT_CHECK}\""], cwd)
    return Path(out.strip().splitlines()[-1])


def _site_packages(prefix: Path) -> Path:
    return next(prefix.glob("lib/python3*/site-packages"))


@pytest.mark.parametrize("editable", [False, True], ids=["pip", "pip-editable"])
def test_pip_install(source, tmp_path, editable):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    # build with this venv's setuptools (the PEP 517/660 hooks pip would call; no network needed),
    # then let pip install the wheel into the empty venv
    hook = "build_editable" if editable else "build_wheel"
    build = f"from setuptools import build_meta as b; print(b.{hook}({str(tmp_path)!r}))"
    wheel = _run([sys.executable, "-c", build], source).strip().splitlines()[-1]
    _run([str(BIN / "pip"), "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
          str(tmp_path / wheel)], tmp_path)
    site = _site_packages(venv)
    top = {p.name for p in site.iterdir()}
    assert "drivers" not in top and "tasks" not in top
    init = _import_check(str(venv / "bin" / "python"), tmp_path)
    if editable:
        assert init.resolve() == (source / "drivers" / "__init__.py").resolve()
    else:
        assert init == site / "robot_rl" / "drivers" / "__init__.py" and not init.is_symlink()
    assert (venv / "bin" / "robot-rl").exists()


@pytest.mark.parametrize("symlink", [False, True], ids=["colcon", "colcon-symlink"])
def test_colcon_build(source, tmp_path, symlink):
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "robot_rl").symlink_to(source)
    cmd = [str(BIN / "colcon"), "build", "--base-paths", "src"] + (["--symlink-install"] if symlink else [])
    _run(cmd, ws, PATH=f"{BIN}:{os.environ['PATH']}")
    prefix = ws / "install" / "robot_rl"
    site = _site_packages(prefix)
    assert not (site / "drivers").exists() and not (site / "tasks").exists()
    init = _import_check(f". {ws}/install/local_setup.sh && {BASE_PYTHON}", tmp_path)
    installed = site / "robot_rl" / "drivers" / "__init__.py"
    assert init.resolve() == ((source / "drivers" / "__init__.py").resolve() if symlink else installed)
    assert (prefix / "share" / "robot_rl" / "package.xml").exists()
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "robot_rl").exists()
    assert (prefix / "lib" / "robot_rl" / "robot-rl").exists(), "ros2 run looks for executables in lib/<pkg>"
