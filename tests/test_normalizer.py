"""Normalizer: [-1, 1] mapping, constant dims, numpy/torch, safetensors round trip, bad files."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import safetensors.numpy
import torch

from robot_rl.data.episodes import EpisodeData
from robot_rl.data.normalizer import FORMAT, Normalizer


def fitted() -> tuple[Normalizer, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    action = rng.uniform(-3, 5, (500, 4)).astype(np.float32)
    action[:, 2] = 0.25  # a constant dimension (e.g. an unused gripper)
    state = (rng.standard_normal((500, 2, 3)) * [1, 10, 100]).astype(np.float64)
    data = {"action": action, "state/x": state, "image/cam": np.zeros((500, 2, 2, 3), np.uint8)}
    return Normalizer.fit(data), data


def test_fit_default_keys_and_stats():
    norm, data = fitted()
    assert sorted(norm.keys) == ["action", "state/x"]  # uint8 images are left to the encoder
    np.testing.assert_array_equal(norm.min("action"), data["action"].min(axis=0))
    np.testing.assert_array_equal(norm.max("state/x"), data["state/x"].max(axis=0))
    assert norm.min("state/x").shape == (2, 3)


def test_outputs_within_unit_range_and_hit_both_ends():
    norm, data = fitted()
    for key in norm.keys:
        y = norm.normalize(key, data[key])
        assert y.dtype == data[key].dtype
        assert y.min() >= -1.0 and y.max() <= 1.0
        live = norm.max(key) - norm.min(key) >= norm.eps
        np.testing.assert_array_equal(y.min(axis=0)[live], -1.0)
        np.testing.assert_array_equal(y.max(axis=0)[live], 1.0)


def test_range_exact_over_many_random_scales():
    rng = np.random.default_rng(1)
    scale = np.exp(rng.uniform(-8, 8, 2000)).astype(np.float32)
    x = (rng.uniform(-1, 1, (64, 2000)) * scale + rng.standard_normal(2000) * scale).astype(np.float32)
    norm = Normalizer.fit({"x": x}, eps=1e-12)
    for dtype in (np.float32, np.float64):
        y = norm.normalize("x", x.astype(dtype))
        assert y.min() >= -1.0 and y.max() <= 1.0, (y.min() + 1, y.max() - 1)


def test_round_trip_numpy_and_torch_with_leading_axes():
    norm, data = fitted()
    x = data["action"].reshape(25, 20, 4)  # (B, H, A): broadcasting over leading axes
    np.testing.assert_allclose(norm.unnormalize("action", norm.normalize("action", x)), x, atol=1e-5)
    xt = torch.from_numpy(x)
    yt = norm.normalize("action", xt)
    assert isinstance(yt, torch.Tensor) and yt.dtype == torch.float32
    np.testing.assert_allclose(yt.numpy(), norm.normalize("action", x), atol=1e-6)
    np.testing.assert_allclose(norm.unnormalize("action", yt).numpy(), x, atol=1e-5)
    s = data["state/x"]
    back = norm.unnormalize("state/x", norm.normalize("state/x", s))
    np.testing.assert_allclose(back, s, rtol=1e-12, atol=1e-10)


def test_constant_dims_map_to_zero_and_back_to_centre():
    norm, data = fitted()
    y = norm.normalize("action", data["action"])
    np.testing.assert_array_equal(y[:, 2], 0.0)
    back = norm.unnormalize("action", np.full((3, 4), 0.7, np.float32))
    np.testing.assert_array_equal(back[:, 2], 0.25)
    near = Normalizer({"g": (np.array([1.0]), np.array([1.0 + 1e-6]))}, eps=1e-4)
    assert near.normalize("g", np.array([[1.0 + 5e-7], [7.0]]))[:, 0].tolist() == [0.0, 0.0]
    assert near.unnormalize("g", np.array([0.3]))[0] == pytest.approx(1.0 + 5e-7, rel=0, abs=1e-12)


def test_fit_on_episode_data_and_dict_helpers():
    d = EpisodeData({"action": np.arange(10, dtype=np.float32)[:, None]}, [4, 10])
    norm = Normalizer.fit(d)
    out = norm.normalize_dict({"action": np.array([[0.0], [9.0]], np.float32), "mask": np.ones(2)})
    np.testing.assert_array_equal(out["action"][:, 0], [-1, 1])
    np.testing.assert_array_equal(out["mask"], np.ones(2))


def test_errors_on_bad_fit_and_shape():
    with pytest.raises(ValueError, match="NaN"):
        Normalizer.fit({"a": np.array([[0.0], [np.nan]])})
    norm, _ = fitted()
    with pytest.raises(ValueError, match="shape"):
        norm.normalize("action", np.zeros((3, 5), np.float32))
    with pytest.raises(KeyError):
        norm.normalize("nope", np.zeros(3))


def test_safetensors_round_trip(tmp_path):
    norm, data = fitted()
    path = tmp_path / "normalizer.safetensors"
    norm.save(path)
    loaded = Normalizer.load(path)
    assert sorted(loaded.keys) == sorted(norm.keys) and loaded.eps == norm.eps
    for key in norm.keys:
        np.testing.assert_array_equal(loaded.min(key), norm.min(key))
        np.testing.assert_array_equal(loaded.normalize(key, data[key]), norm.normalize(key, data[key]))
    raw = safetensors.numpy.load_file(str(path))
    assert set(raw) == {"action.min", "action.max", "state/x.min", "state/x.max"}
    again = Normalizer.from_bytes(norm.to_bytes())
    np.testing.assert_array_equal(again.max("state/x"), norm.max("state/x"))
    assert path.read_bytes()[:200].find(b"pickle") < 0


def test_embedded_in_checkpoint_tensors():
    norm, _ = fitted()
    tensors = {"model.w": np.zeros(3, np.float32), **norm.to_tensors(prefix="normalizer/")}
    back = Normalizer.from_tensors(tensors, norm.metadata(), prefix="normalizer/")
    np.testing.assert_array_equal(back.min("action"), norm.min("action"))


def test_bad_files_raise_clear_errors(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a tensor file at all")
    with pytest.raises(ValueError, match="not a safetensors file"):
        Normalizer.load(text)
    weights = tmp_path / "model.safetensors"
    safetensors.numpy.save_file({"layer.weight": np.zeros((2, 2), np.float32)}, str(weights),
                                metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"not a robot_rl normalizer.*layer\.weight"):
        Normalizer.load(weights)
    with pytest.raises(ValueError, match="directory"):
        Normalizer.load(tmp_path)
    with pytest.raises(ValueError, match="nothing"):
        Normalizer.load(tmp_path / "missing.safetensors")
    future = tmp_path / "future.safetensors"
    safetensors.numpy.save_file({"a.min": np.zeros(1), "a.max": np.ones(1)}, str(future),
                                metadata={"format": FORMAT, "version": "99"})
    with pytest.raises(ValueError, match="version '99'"):
        Normalizer.load(future)
    header = json.dumps({"__metadata__": {"format": FORMAT, "version": "1"}}).encode()
    with pytest.raises(ValueError):
        Normalizer.from_bytes(struct.pack("<Q", len(header) + 50) + header)  # header length past the end
