"""The reward interface every backend sits behind, and the saved-model format.

A *scorer* maps camera frames to success probabilities: `predict({"image/<cam>": (N, H, W, 3) uint8})`
→ (N,) float64 in [0, 1]. A `Reward` wraps a scorer with a threshold and hysteresis (success is
declared after k consecutive frames above the threshold) into the `RewardModel` protocol the episode
runner, reset verification and the fine-tuner call once per control step.

On disk a reward model is a directory: `reward.json` ({"kind", "threshold", "k", "config", ...},
written last, so a directory without it is not a model) plus the backend's weights
(`model.safetensors`). `load_reward(dir)` dispatches on "kind" through the explicit `LOADERS` dict.
Weights are safetensors and configs JSON: nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from robot_rl.rewards.hysteresis import Hysteresis

MODEL_FILE = "reward.json"
WEIGHTS_FILE = "model.safetensors"


class Scorer(Protocol):
    """Camera frames → success probability."""

    cameras: tuple[str, ...]
    """Observation keys the scorer reads, e.g. ("image/front",)."""

    def predict(self, images: Mapping[str, np.ndarray]) -> np.ndarray:
        """{key: (N, H, W, 3) uint8} → (N,) float64 probabilities in [0, 1]."""
        ...


@runtime_checkable
class RewardModel(Protocol):
    """What the episode loop calls: `reset()` at episode start, then `model(obs)` every control step."""

    def reset(self) -> None: ...

    def __call__(self, obs: Mapping[str, np.ndarray]) -> tuple[float, bool]:
        """One observation (keys `image/<cam>`: (H, W, 3) uint8) → (success probability, success flag)."""
        ...


class Reward:
    """A scorer + threshold + k-frame hysteresis: the `RewardModel` every backend is used through."""

    def __init__(self, scorer: Scorer, threshold: float, k: int, kind: str = "",
                 meta: dict[str, Any] | None = None) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        self.scorer, self.threshold, self.kind = scorer, float(threshold), kind
        self.meta = meta or {}
        self.hysteresis = Hysteresis(k)

    @property
    def k(self) -> int:
        return self.hysteresis.k

    @property
    def cameras(self) -> tuple[str, ...]:
        return self.scorer.cameras

    def reset(self) -> None:
        self.hysteresis.reset()

    def __call__(self, obs: Mapping[str, np.ndarray]) -> tuple[float, bool]:
        missing = [c for c in self.cameras if c not in obs]
        if missing:
            raise KeyError(f"the reward model needs {list(self.cameras)}; the observation lacks {missing}")
        prob = float(self.scorer.predict({c: np.asarray(obs[c])[None] for c in self.cameras})[0])
        if not np.isfinite(prob):
            raise ValueError(f"the {self.kind or 'reward'} scorer returned {prob}; refusing to guess success")
        return prob, self.hysteresis.update(prob >= self.threshold)


# ---------------------------------------------------------------------- saving / loading
def check_images(images: Mapping[str, np.ndarray], cameras: tuple[str, ...],
                 sizes: Mapping[str, tuple[int, int]] | None = None) -> int:
    """Validate a batch: every camera present, (N, H, W, 3) uint8, the same N, and (H, W) == sizes[cam]
    where sizes are given. Returns N."""
    n = None
    for cam in cameras:
        if cam not in images:
            raise KeyError(f"missing camera {cam!r}; got {sorted(images)}")
        a = images[cam]
        if a.ndim != 4 or a.shape[-1] != 3 or a.dtype != np.uint8:
            raise ValueError(f"{cam}: expected (N, H, W, 3) uint8 frames, got {a.shape} {a.dtype}")
        if sizes is not None and tuple(a.shape[1:3]) != tuple(sizes[cam]):
            raise ValueError(f"{cam}: frames are {a.shape[1]}x{a.shape[2]} but the model was trained on "
                             f"{sizes[cam][0]}x{sizes[cam][1]}; record or resize the camera to that size")
        if n is not None and a.shape[0] != n:
            raise ValueError(f"{cam}: {a.shape[0]} frames, other cameras have {n}")
        n = a.shape[0]
    return int(n or 0)


def write_json_atomic(path: Path, obj: Any) -> None:
    """JSON to `path` through a temporary file and os.replace (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2, default=_json_default)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_tensors_atomic(path: Path, tensors: dict[str, Any]) -> None:
    """torch tensors → safetensors file, atomically."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, path)


def save_model_dir(out: Path, kind: str, threshold: float, k: int, config: dict[str, Any],
                   weights: dict[str, Any] | None = None, **extra: Any) -> Path:
    """Write a reward model directory: weights first, `reward.json` last."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if weights is not None:
        save_tensors_atomic(out / WEIGHTS_FILE, weights)
    write_json_atomic(out / MODEL_FILE, {"kind": kind, "threshold": float(threshold), "k": int(k),
                                         "config": config, **extra})
    return out


def read_model_dir(path: str | Path) -> dict[str, Any]:
    """The parsed `reward.json` of a model directory, with clear errors for a missing/foreign one."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"reward model directory {path} does not exist")
    spec = path / MODEL_FILE
    if not spec.is_file():
        raise FileNotFoundError(f"{path} is not a reward model: {MODEL_FILE} is missing "
                                f"(train one with `robot-rl reward train`)")
    try:
        meta = json.loads(spec.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{spec} is not valid JSON ({e}); the model directory is damaged") from e
    if not isinstance(meta, dict) or meta.get("kind") not in LOADERS:
        kind = meta.get("kind") if isinstance(meta, dict) else None
        raise ValueError(f"{spec}: unknown reward kind {kind!r}; known: {sorted(LOADERS)}")
    return meta


def load_tensors(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} is missing")
    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises its own SafetensorError for a truncated/foreign file
        raise ValueError(f"weights file {path} is damaged or not safetensors: {e}") from e


def load_scorer(path: str | Path) -> tuple[Scorer, dict[str, Any]]:
    """(scorer, reward.json contents) of a saved reward model directory."""
    meta = read_model_dir(path)
    return LOADERS[meta["kind"]](Path(path), meta), meta


def load_reward(path: str | Path, threshold: float | None = None, k: int | None = None) -> Reward:
    """A saved reward model as a `Reward`; `threshold`/`k` override the saved values."""
    scorer, meta = load_scorer(path)
    return Reward(scorer, meta["threshold"] if threshold is None else threshold,
                  meta["k"] if k is None else k, kind=meta["kind"], meta=meta)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (tuple, Path)):
        return list(o) if isinstance(o, tuple) else str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def _load_classifier(path: Path, meta: dict[str, Any]) -> Scorer:
    from robot_rl.rewards.classifier import load_classifier

    return load_classifier(path, meta)


def _load_clip(path: Path, meta: dict[str, Any]) -> Scorer:
    from robot_rl.rewards.vlm_clip import load_clip_scorer

    return load_clip_scorer(path, meta)


def _load_head(path: Path, meta: dict[str, Any]) -> Scorer:
    from robot_rl.rewards.vlm_head import load_head_scorer

    return load_head_scorer(path, meta)


def _load_judge(path: Path, meta: dict[str, Any]) -> Scorer:
    from robot_rl.rewards.http_judge import load_judge

    return load_judge(path, meta)


def _load_preference(path: Path, meta: dict[str, Any]) -> Scorer:
    from robot_rl.rewards.preference import load_preference

    return load_preference(path, meta)


# kind → loader(directory, reward.json) → Scorer; explicit, imports lazily (no import side effects)
LOADERS: dict[str, Callable[[Path, dict[str, Any]], Scorer]] = {
    "classifier": _load_classifier,
    "clip": _load_clip,
    "vlm_head": _load_head,
    "http_judge": _load_judge,
    "preference": _load_preference,
}
