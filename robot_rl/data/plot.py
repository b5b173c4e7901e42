"""Plots of one episode (`robot-rl data plot`), rendered with matplotlib's Agg backend.

Two PNGs: `out` has one subplot per low-dim key (per-step shape () or (d,)), one line per dimension,
against time in seconds from the episode start when the store has a scalar `time` key (or a key
ending in `/time`), else against the step index; `<out stem>_frames.png` is a contact sheet of
evenly spaced frames, one row per image key, each frame titled with its step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore

DPI = 100
PLOT_WIDTH_PX = 1000
"""Width of the low-dim plot."""
ROW_HEIGHT_PX = 220
"""Height of each low-dim subplot row."""
THUMB_PX = 160
"""Width and height of each cell of the contact sheet."""
TITLE_PX = 30
"""Extra height of the contact sheet for its title."""
N_FRAMES = 8
"""Frames per camera on the contact sheet (fewer if the episode is shorter)."""
MAX_LEGEND = 12
"""Dimensions up to which a subplot gets a legend."""


def lowdim_keys(specs: dict[str, KeySpec]) -> list[str]:
    return [k for k, s in specs.items() if len(s.shape) <= 1 and not s.is_image]


def time_key(specs: dict[str, KeySpec]) -> str | None:
    """The scalar `time` key (or `.../time`) used as x axis, if any."""
    for k, s in specs.items():
        if (k == "time" or k.endswith("/time")) and s.shape in ((), (1,)) and s.dtype.startswith("float"):
            return k
    return None


def frames_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}_frames.png")


def frame_steps(length: int, n: int = N_FRAMES) -> list[int]:
    """~n evenly spaced steps from 0 to length-1 inclusive."""
    return sorted({int(round(x)) for x in np.linspace(0, length - 1, min(n, length))})


def plot_episode(store_path: str | Path, episode: int, out: str | Path) -> list[Path]:
    """Write the low-dim plot to `out` and the contact sheet next to it; returns the paths written.
    Raises IndexError for an episode the store does not have."""
    store = EpisodeStore.open(store_path, "r")
    sl = store.episode_slice(episode)  # IndexError names the valid range
    index = episode % store.n_episodes
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    title = f"{store.path.name} episode {index} ({sl.stop - sl.start} steps)"
    written = []
    keys = lowdim_keys(store.specs)
    if keys:
        _plot_lowdim(store, sl, keys, title, out)
        written.append(out)
    cameras = [k for k, s in store.specs.items() if s.is_image]
    if cameras:
        _contact_sheet(store, sl, cameras, title, frames_path(out))
        written.append(frames_path(out))
    return written


def _plot_lowdim(store: EpisodeStore, sl: slice, keys: list[str], title: str, out: Path) -> None:
    tkey = time_key(store.specs)
    if tkey is not None:
        t = np.asarray(store.array(tkey)[sl], dtype=np.float64).reshape(-1)
        x, xlabel = t - t[0], f"time since episode start ({store.specs[tkey].units or 's'})"
        keys = [k for k in keys if k != tkey] or keys
    else:
        x, xlabel = np.arange(sl.stop - sl.start), "step"
    fig = Figure(figsize=(PLOT_WIDTH_PX / DPI, ROW_HEIGHT_PX * len(keys) / DPI), dpi=DPI,
                 layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(keys), 1, sharex=True, squeeze=False)[:, 0]
    for ax, key in zip(axes, keys, strict=True):
        spec = store.specs[key]
        y = np.asarray(store.array(key)[sl], dtype=np.float64).reshape(len(x), -1)
        for d in range(y.shape[1]):
            ax.plot(x, y[:, d], lw=1, label=f"[{d}]")
        ax.set_title(key + (f" (frame {spec.frame})" if spec.frame else ""), fontsize=9, loc="left")
        ax.set_ylabel(spec.units or "-")
        if 1 < y.shape[1] <= MAX_LEGEND:
            ax.legend(fontsize=7, loc="upper right", ncols=min(y.shape[1], 7))
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(xlabel)
    fig.suptitle(title, fontsize=10)
    fig.savefig(out, dpi=DPI)


def _contact_sheet(store: EpisodeStore, sl: slice, cameras: list[str], title: str, out: Path) -> None:
    steps = frame_steps(sl.stop - sl.start)
    fig = Figure(figsize=(THUMB_PX * len(steps) / DPI, (THUMB_PX * len(cameras) + TITLE_PX) / DPI), dpi=DPI,
                 layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(cameras), len(steps), squeeze=False)
    for row, key in zip(axes, cameras, strict=True):
        arr = store.array(key)
        for ax, step in zip(row, steps, strict=True):
            frame = np.asarray(arr[sl.start + step])
            gray = frame.shape[-1] == 1
            ax.imshow(frame[..., 0] if gray else frame, cmap="gray" if gray else None)
            ax.set_title(f"step {step}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(key, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.savefig(out, dpi=DPI)
