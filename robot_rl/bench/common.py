"""Shared helpers for benchmarks: machine description and JSON output."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def write_json(path: str | Path, name: str, results: dict[str, Any]) -> dict[str, Any]:
    """Write {"benchmark": name, "machine": ..., **results} to `path` and print a summary."""
    out = {"benchmark": name, "machine": machine(), **results}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(out, indent=2) + "\n")
    for key, value in results.items():
        if isinstance(value, (int, float)):
            print(f"{key:>32}: {value:.4g}")
    print(f"wrote {path}")
    return out
