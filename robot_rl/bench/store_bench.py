"""`robot-rl bench store`: recording throughput of the EpisodeStore and sampler speed.

Recording load: two 480x640x3 colour cameras at 30 Hz plus a 7-DoF arm state at 100 Hz, streamed
step by step through `EpisodeWriter.append`. A store has one step axis, so steps follow the camera
clock (30 Hz) and carry the arm state sampled at that step plus the ~3.3 arm samples at 100 Hz since
the previous frame as a (4, 7) block padded with NaN. Frames are synthetic but camera-like (smooth
scene, moving pattern, Gaussian sensor noise of 2 grey levels), pre-generated so only the store is
timed. `write_realtime_factor` = recorded seconds / wall seconds including the commit.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore

CAMERA_HZ, ARM_HZ = 30.0, 100.0


def camera_frames(n: int, h: int = 480, w: int = 640, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = []
    for i in range(n):
        r = (np.sin((xx + 7 * i) / 40) + np.cos(yy / 30)) * 50 + 120
        g = np.sin((xx - 3 * i) / 70) * np.cos(yy / 50) * 60 + 110
        b = ((xx + yy + 5 * i) % 200) * 0.5 + 40
        img = np.stack([r, g, b], -1) + rng.normal(0, 2.0, (h, w, 3)).astype(np.float32)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return frames


def record(path: Path, seconds: float, codec: str = "", frames: list[np.ndarray] | None = None) -> dict:
    """Record `seconds` of the two-camera load into a new store at `path`; returns the metrics."""
    frames = frames or camera_frames(30)
    h, w = frames[0].shape[:2]
    specs = {
        **{f"image/{cam}": KeySpec((h, w, 3), "uint8", units="rgb", frame=f"{cam}_color_optical_frame",
                                   codec=codec) for cam in ("front", "wrist")},
        "state/q": KeySpec((7,), "float32", units="rad", frame="joints"),
        "state/q_100hz": KeySpec((4, 7), "float32", units="rad", frame="joints",
                                 description="arm samples at 100 Hz since the previous frame, NaN-padded"),
        "time": KeySpec((), "float64", units="s"),
    }
    n_steps = int(seconds * CAMERA_HZ)
    rng = np.random.default_rng(1)
    latencies = np.empty(n_steps)
    store = EpisodeStore.create(path, specs)
    t0 = time.perf_counter()
    writer = store.begin_episode(source="demo", bench="store")
    for i in tqdm(range(n_steps), desc=f"record {seconds:.0f}s ({codec or 'default'})", leave=False):
        q_hi = np.full((4, 7), np.nan, np.float32)
        n_hi = int((i + 1) * ARM_HZ / CAMERA_HZ) - int(i * ARM_HZ / CAMERA_HZ)
        q_hi[:n_hi] = rng.standard_normal((n_hi, 7))
        step = {"image/front": frames[i % len(frames)], "image/wrist": frames[(i + 7) % len(frames)],
                "state/q": q_hi[n_hi - 1], "state/q_100hz": q_hi, "time": i / CAMERA_HZ}
        ts = time.perf_counter()
        writer.append(step)
        latencies[i] = time.perf_counter() - ts
    writer.commit(success=True)
    wall = time.perf_counter() - t0
    image_bytes = sum(f.stat().st_size for f in (path / "data" / "image").rglob("*") if f.is_file())
    store.close()
    return {
        "recorded_s": n_steps / CAMERA_HZ,
        "wall_s": wall,
        "write_realtime_factor": n_steps / CAMERA_HZ / wall,
        "append_p50_ms": float(np.percentile(latencies, 50) * 1e3),
        "append_p99_ms": float(np.percentile(latencies, 99) * 1e3),
        "bytes_per_frame": image_bytes / (2 * n_steps),
        "raw_bytes_per_frame": h * w * 3,
    }


@dataclasses.dataclass(frozen=True)
class StoreBenchConfig:
    """Options of `robot-rl bench store`."""

    json: Path = Path("out/bench/store.json")
    """Where to write the results (JSON)."""
    seconds: float = 60.0
    """Recorded time for the main write measurement (s)."""
    compare_codecs: bool = False
    """Also record `compare_seconds` with each image codec (lz4, zstd, none) side by side."""
    compare_seconds: float = 15.0
    """Recorded time per codec in the comparison (s)."""
    workdir: Path | None = None
    """Directory for the temporary stores (default: a fresh temp dir on the same disk as /tmp)."""


def run(cfg: StoreBenchConfig) -> dict:
    from robot_rl.bench.common import write_json
    from robot_rl.bench.sampler_bench import bench_samplers

    frames = camera_frames(30)
    with tempfile.TemporaryDirectory(dir=cfg.workdir) as tmp:
        results = record(Path(tmp) / "main", cfg.seconds, frames=frames)
        if cfg.compare_codecs:
            results["codec_comparison"] = {
                codec: record(Path(tmp) / f"codec_{codec}", cfg.compare_seconds, codec, frames)
                for codec in ("lz4", "zstd", "none")
            }
        results.update(bench_samplers(tmp))
    return write_json(cfg.json, "store", results)
