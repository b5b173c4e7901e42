"""`robot-rl data ...`: inspect, validate, repair, export and plot EpisodeStores.

Each command returns its exit code: 0 success, 1 the store has problems (validate) or is busy
(repair while a writer holds the lock), 2 the command cannot run (missing path, not a store, wrong
schema version, bad arguments). Errors are one line on stderr: `robot-rl data <cmd>: <message>`.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import tyro

from robot_rl.data.errors import StoreError, StoreLockedError


class UsageError(Exception):
    """A command cannot run with the arguments given (exit code 2)."""


def _command(fn: Callable[..., int]) -> Callable[..., int]:
    """Turn StoreError / UsageError into a one-line message on stderr and exit code 2."""

    @functools.wraps(fn)
    def run(*args, **kwargs) -> int:
        try:
            return fn(*args, **kwargs)
        except (StoreError, UsageError) as e:
            print(f"robot-rl data {fn.__name__}: {e}", file=sys.stderr)
            return 2

    return run


@_command
def info(store: Path, as_json: Annotated[bool, tyro.conf.arg(name="json")] = False,
         max_episodes: int = 50) -> int:
    """Summarize a store: keys, episodes, size on disk, writer lock, uncommitted tail.

    Prints the episode and step counts, each key's per-step shape, dtype, units and frame, the size
    on disk, a table of episodes (length, success, source, start time, task), whether a writer holds
    the lock, and what lies past the committed end.

    Args:
        store: Path of the EpisodeStore directory.
        as_json: Print the summary as JSON (every episode, plus each episode's full info) instead of text.
        max_episodes: Rows of the text episode table (first and last halves); 0 shows every episode.
    """
    from robot_rl.data.validate import summarize

    try:
        summary = summarize(store)
    except StoreError:
        raise
    except Exception as e:  # damaged arrays or metadata: point at the tool that pinpoints them
        raise UsageError(f"{store} cannot be summarized ({type(e).__name__}: {e}); run "
                         f"`robot-rl data validate --store {store} --deep`") from e
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print("\n".join(_info_text(summary, max_episodes)))
    return 0


def _info_text(s: dict, max_episodes: int) -> list[str]:
    from robot_rl.data.validate import human_bytes

    writer = "a writer holds the lock (recording in progress)" if s["writer_active"] else "none"
    size = human_bytes(s["bytes_on_disk"])
    lines = [f"store     {s['path']}",
             f"episodes  {s['n_episodes']}    steps {s['n_steps']}    size on disk {size}",
             f"writer    {writer}",
             f"uncommitted tail: {s['uncommitted']['summary']}"]
    if s["attrs"]:
        lines.append(f"attrs     {_clip(json.dumps(s['attrs']), 100)}")
    rows = [[k, str(tuple(v["shape"])), v["dtype"], v["units"] or "-", v["frame"] or "-",
             human_bytes(v["bytes_on_disk"])] for k, v in s["keys"].items()]
    lines += ["", "keys"] + _table(["key", "per-step shape", "dtype", "units", "frame", "on disk"], rows)
    episodes = s["episodes"]
    if max_episodes and len(episodes) > max_episodes:
        half = max(1, max_episodes // 2)
        shown = episodes[:half] + [None] + episodes[-half:]
    else:
        shown = episodes
    rows = [["..."] * 6 if e is None else [str(e["index"]), str(e["length"]), e["success"], e["source"],
                                           e["start_time_iso"], e["task"] or "-"] for e in shown]
    lines += ["", "episodes"] + (_table(["index", "length", "success", "source", "start (UTC)", "task"], rows)
                                 if rows else ["  (none)"])
    return lines


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [headers, *rows]]


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


@_command
def validate(store: Path, deep: bool = False) -> int:
    """Check a store against its schema and the commit protocol; exit 1 on any inconsistency.

    Checks every key's array (shape, dtype, no extras), episode_ends (strictly increasing, within
    the data), per-episode metadata (counts, success, source, info JSON) and the uncommitted tail
    (an error unless a live writer holds the lock). Prints "OK: ..." when all is well.

    Args:
        store: Path of the EpisodeStore directory.
        deep: Also decode every chunk of every array (slow: reads the whole store) and warn about
            non-finite values in float keys.
    """
    from robot_rl.data.validate import summarize, validate_store

    problems = validate_store(store, deep=deep, progress=deep)
    for p in problems:
        print(f"{p.severity.upper()}: {p.message}", file=sys.stdout if p.severity == "note" else sys.stderr)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        print(f"robot-rl data validate: {store}: {len(errors)} error(s)", file=sys.stderr)
        return 1
    s = summarize(store)
    warnings = sum(p.severity == "warning" for p in problems)
    print(f"OK: {s['path']}: {s['n_episodes']} episodes, {s['n_steps']} steps, {len(s['keys'])} keys"
          f"{', every chunk decoded' if deep else ''}{f', {warnings} warning(s)' if warnings else ''}")
    return 0


@_command
def repair(store: Path) -> int:
    """Drop what an interrupted writer left past the committed end, and say what was dropped.

    Takes the writer lock (refuses if a writer holds it), truncates uncommitted steps and metadata
    entries and removes temp files of interrupted writes. Committed episodes are not touched.

    Args:
        store: Path of the EpisodeStore directory.
    """
    from robot_rl.data.store import EpisodeStore
    from robot_rl.data.validate import read_tail

    read_tail(store)  # raises NotAStoreError etc. before anything takes the lock
    try:
        opened = EpisodeStore.open(store, mode="a")  # runs recovery under the writer lock
    except StoreLockedError as e:
        print(f"robot-rl data repair: {e}; refusing to repair a store that is being written. Stop the "
              f"writer first (its own open truncates any tail).", file=sys.stderr)
        return 1
    with opened:
        rec = opened.recovery
        meta = rec["dropped_meta_entries"]
        after = read_tail(opened.path)
    lines = [f"dropped {rec['dropped_episode_entries']} in-flight meta/episode_ends entry"] \
        if rec.get("dropped_episode_entries") else []
    lines += [f"dropped {n} uncommitted entries of meta/{k}" for k, n in meta.items()]
    lines += [f"dropped {n} uncommitted steps of data/{k}" for k, n in rec.get("dropped_steps", {}).items()]
    if rec.get("removed_partial_files"):
        lines.append(f"removed {rec['removed_partial_files']} *.partial temp files of interrupted writes")
    state = f"{opened.n_episodes} committed episodes, {opened.n_steps} steps"
    if after:
        print(f"robot-rl data repair: {store}: tail still present after recovery: {after.describe()}",
              file=sys.stderr)
        return 1
    if not lines:
        print(f"nothing to repair: {state}, no uncommitted tail")
        return 0
    print("\n".join([f"repaired {opened.path}:", *(f"  {x}" for x in lines), f"kept {state}"]))
    return 0


@_command
def export(store: Path, out: Path, format: Literal["diffusion-policy"] = "diffusion-policy",
           keys: tuple[str, ...] = ()) -> int:
    """Export committed episodes to another layout (diffusion_policy's zarr v2 ReplayBuffer).

    diffusion-policy: a zarr format 2 group with data/<name> (flat names, printed) and
    meta/episode_ends, readable by diffusion_policy's ReplayBuffer with zarr 2.x.

    Args:
        store: Path of the EpisodeStore directory.
        out: Path of the new export; must not exist (nothing is overwritten).
        format: Target layout.
        keys: Store keys to export (default: all), e.g. --keys image/front state/ee_pos action.
    """
    from robot_rl.data.export import export_diffusion_policy

    try:
        mapping = export_diffusion_policy(store, out, keys=list(keys) or None, progress=True)
    except (FileExistsError, ValueError) as e:
        raise UsageError(str(e)) from e
    width = max(len(k) for k in mapping)
    print("\n".join([f"wrote {out} (zarr format 2, diffusion_policy ReplayBuffer layout); keys:",
                     *(f"  {k:<{width}} -> data/{v}" for k, v in mapping.items())]))
    return 0


@_command
def plot(store: Path, episode: int, out: Path) -> int:
    """Plot one episode's low-dim keys and a contact sheet of its camera frames (two PNGs).

    OUT gets a subplot per low-dim key (a line per dimension, against time if the store has a `time`
    key, else step); <OUT stem>_frames.png gets ~8 evenly spaced frames per camera.

    Args:
        store: Path of the EpisodeStore directory.
        episode: Episode index (negative counts from the end).
        out: PNG path for the low-dim plot; the contact sheet goes next to it.
    """
    from robot_rl.data.plot import plot_episode

    try:
        written = plot_episode(store, episode, out)
    except (IndexError, ValueError) as e:
        raise UsageError(str(e)) from e
    print("\n".join(f"wrote {p}" for p in written))
    return 0


COMMANDS: dict[str, Callable[..., int]] = {
    "info": info, "validate": validate, "repair": repair, "export": export, "plot": plot,
}
