"""Task registry: name → loader returning a fresh `Task`. A plain dict; importing it loads no task."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robot_rl.tasks.base import Task, TaskConfig


def _pick_cube() -> Task:
    from robot_rl.tasks.pick_cube.task import PickCube

    return PickCube()


def _peg_insert() -> Task:
    from robot_rl.tasks.peg_insert.task import PegInsert

    return PegInsert()


def _drawer_open() -> Task:
    from robot_rl.tasks.drawer_open.task import DrawerOpen

    return DrawerOpen()


TASKS: dict[str, Callable[[], Task]] = {
    "pick_cube": _pick_cube,
    "peg_insert": _peg_insert,
    "drawer_open": _drawer_open,
}


def make_task(name: str, config: TaskConfig | None = None) -> Task:
    """A new task by registry name, optionally with a replaced config (same config class)."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; registered tasks: {sorted(TASKS)}")
    task = TASKS[name]()
    if config is not None:
        task.config = config
    return task
