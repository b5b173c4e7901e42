"""VLM backends: tiny CLIP/SigLIP models saved to disk and loaded through the path users use (a local
directory, no downloads): zero-shot prompt scoring and a head trained on frozen embeddings."""

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from robot_rl.rewards.base import load_reward  # noqa: E402
from robot_rl.rewards.dataset import LabelConfig  # noqa: E402
from robot_rl.rewards.train import TrainConfig, evaluate_reward, train_reward  # noqa: E402
from robot_rl.rewards.vlm_clip import ClipConfig, ClipScorer  # noqa: E402
from robot_rl.rewards.vlm_head import HeadConfig  # noqa: E402
from tests.helpers.reward_data import make_store  # noqa: E402
from tests.helpers.tiny_vlm import make_tiny_vlm  # noqa: E402

torch.set_num_threads(1)  # tiny models: a second thread only adds contention


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("vlm") / "s.zarr", prompt="the red cube lifted")


@pytest.fixture(scope="module", params=["clip", "siglip"])
def vlm(request, tmp_path_factory):
    return make_tiny_vlm(tmp_path_factory.mktemp(request.param) / "model", request.param)


def test_zero_shot_scores_and_roundtrip(vlm, store, tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (5, 20, 24, 3), dtype=np.uint8)  # any size: resized
    cfg = ClipConfig(model_dir=vlm, goal=("a robot arm",), baseline=("a robot arm",))
    same = ClipScorer(cfg, ("image/front",))
    assert np.allclose(same.predict({"image/front": frames}), 0.5)  # goal == baseline: no preference
    for mode in ("softmax", "projection"):
        out = tmp_path / mode
        cfg = TrainConfig(backend="clip", clip=ClipConfig(model_dir=vlm, mode=mode), k=(2,))
        summary = train_reward(store, out, cfg)
        assert summary["fit"]["goal"] == ["the red cube lifted"]  # the store's task prompt
        reward = load_reward(out)
        p = reward.scorer.predict({"image/front": frames})
        assert p.shape == (5,) and np.all((p >= 0) & (p <= 1))
        fresh = ClipScorer(reward.scorer.cfg, ("image/front",))
        assert np.allclose(p, fresh.predict({"image/front": frames}))
        prob, flag = reward({"image/front": frames[0], "image/wrist": frames[1]})
        assert 0 <= prob <= 1 and isinstance(flag, bool)


def test_head_on_frozen_embeddings_learns(vlm, store, tmp_path):
    out = tmp_path / "head"
    head = HeadConfig(model_dir=vlm, hidden=32, steps=300, lr=3e-3)
    cfg = TrainConfig(backend="vlm_head", head=head, k=(1,), val_fraction=0.3, target_precision=0.9)
    summary = train_reward(store, out, cfg)
    assert summary["fit"]["loss_last"] < 0.7 * summary["fit"]["loss_first"]
    m = evaluate_reward(out, store, episodes=np.array(summary["val_episodes"]),
                        labels=LabelConfig(source="success"))
    assert m["raw_recall"] > 0.5 and m["raw_precision"] > 0.8, m


def test_missing_weights_directory(tmp_path, store):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ClipScorer(ClipConfig(model_dir=tmp_path / "no_model", goal=("x",)), ("image/front",))
    (tmp_path / "not_a_model").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        train_reward(store, tmp_path / "m", TrainConfig(backend="vlm_head",
                                                        head=HeadConfig(model_dir=tmp_path / "not_a_model")))
    assert not (tmp_path / "m" / "reward.json").exists()
