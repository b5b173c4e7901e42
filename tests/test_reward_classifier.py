"""Success classifier: labels from stores, hysteresis, threshold choice, a learning test, save/load through
the user path, evaluation PNG, relabelling into a new store, and clear errors for bad inputs."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from robot_rl.data.store import EpisodeStore
from robot_rl.rewards.base import Reward, RewardModel, load_reward
from robot_rl.rewards.classifier import SMALL_ENCODER, ClassifierConfig
from robot_rl.rewards.dataset import LabelConfig, load_frames, resolve_source
from robot_rl.rewards.hysteresis import Hysteresis, choose_threshold, hysteresis_flags
from robot_rl.rewards.train import TrainConfig, evaluate_reward, train_reward
from tests.helpers.reward_data import make_store

torch.set_num_threads(1)  # tiny models: a second thread only adds contention
TINY = ClassifierConfig(encoder=dataclasses.replace(SMALL_ENCODER, image_channels=(8, 16), image_dim=16),
                        hidden=16, steps=120, batch_size=32, lr=3e-3)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("reward") / "s.zarr")


@pytest.fixture(scope="module")
def model(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    cfg = TrainConfig(classifier=TINY, k=2, val_fraction=0.3, target_precision=0.95)
    summary = train_reward(store, out, cfg)
    return out, summary


def test_hysteresis_streaming_matches_offline():
    rng = np.random.default_rng(0)
    above, ends = rng.random(300) < 0.7, np.array([50, 51, 200, 300])
    for k in (1, 3):
        ref, start = [], 0
        for end in ends:
            h = Hysteresis(k)
            ref += [h.update(a) for a in above[start:end]]
            start = end
        assert np.array_equal(hysteresis_flags(above, ends, k), ref)
    with pytest.raises(ValueError):
        Hysteresis(0)


def test_threshold_meets_precision_target_with_highest_recall():
    labels = np.array([0] * 50 + [1] * 50, np.int8)
    probs = np.concatenate([np.linspace(0, 0.7, 50), np.linspace(0.6, 1.0, 50)])
    c = choose_threshold(probs, labels, np.array([100]), k=1, target_precision=1.0)
    assert c.met_target and c.precision == 1.0 and 0.7 < c.threshold <= 0.71 and c.recall > 0.7
    unreachable = choose_threshold(np.full(100, 0.5), labels, np.array([100]), k=1, target_precision=0.9)
    assert not unreachable.met_target
    separable = np.concatenate([np.full(50, 0.001), np.full(50, 0.999)])  # every threshold is perfect
    assert choose_threshold(separable, labels, np.array([100]), 1, 0.99).threshold < 0.5
    assert choose_threshold(separable, labels, np.array([100]), 1, 0.99, min_threshold=0.5).threshold == 0.5


def test_label_sources(store):
    with EpisodeStore.open(store) as s:
        assert resolve_source(s, LabelConfig()) == "reward"
        cams = ("image/front",)
        by_reward = load_frames(s, [0, 15], cams, LabelConfig(source="reward"))
        truth = load_frames(s, [0, 15], cams, LabelConfig(source="success"))
        assert np.array_equal(by_reward.labels, truth.labels)  # the shift recovers per-frame success
        last = load_frames(s, [0, 15], cams, LabelConfig(source="last_k", last_k=3, margin=2))
    n0 = int(by_reward.episode_ends[0])
    assert list(last.labels[n0 - 3:n0]) == [1, 1, 1] and list(last.labels[n0 - 5:n0 - 3]) == [-1, -1]
    assert np.all(last.labels[n0:] == 0)  # a failed episode: every frame negative


def test_classifier_learns_and_loads_through_the_user_path(model, store):
    out, summary = model
    assert summary["fit"]["loss_last"] < 0.5 * summary["fit"]["loss_first"]
    assert json.loads((out / "reward.json").read_text())["kind"] == "classifier"
    reward = load_reward(out)
    assert isinstance(reward, RewardModel) and reward.k == 2
    m = evaluate_reward(out, store, episodes=np.array(summary["val_episodes"]),
                        labels=LabelConfig(source="success"))
    assert m["precision"] >= 0.9 and m["recall"] >= 0.7, m
    with EpisodeStore.open(store) as s:
        ep = s.read_episode(0)
    steps = range(len(ep["success"]))
    probs, flags = zip(*(reward({k: ep[k][t] for k in reward.cameras}) for t in steps), strict=True)
    assert max(probs) > 0.5 > min(probs)
    first = flags.index(True)  # the flag rises only after k frames of successful observations
    assert ep["success"][first] and ep["success"][first - 1] and not flags[first - 1]
    reward.reset()
    assert reward.hysteresis.count == 0


def test_calibrate_rewrites_the_threshold(model, store, tmp_path):
    import shutil

    from robot_rl.rewards.train import calibrate_reward

    out = tmp_path / "m"
    shutil.copytree(model[0], out)
    meta = calibrate_reward(out, store, target_precision=0.9, k=1, min_threshold=0.7)
    assert meta["calibrated_on"]["episodes"] == model[1]["val_episodes"]  # its own validation episodes
    reward = load_reward(out)
    assert reward.threshold == meta["threshold"] >= 0.7 and reward.k == 1


def test_eval_png_and_cli(model, store, tmp_path):
    from robot_rl.cli import main

    out, _ = model
    png, js = tmp_path / "m.png", tmp_path / "m.json"
    assert main(["reward", "eval", "--model", str(out), "--store", str(store), "--labels.source", "success",
                 "--png", str(png), "--json", str(js)]) == 0
    assert png.stat().st_size > 1000
    m = json.loads(js.read_text())
    assert {"precision", "recall", "frame_fpr", "episode_fp_rate"} <= set(m)


def test_bad_inputs(model, tmp_path):
    out, _ = model
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_reward(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="reward.json"):
        load_reward(tmp_path / "empty")
    reward = load_reward(out)
    with pytest.raises(ValueError, match="trained on 16x16"):
        reward({k: np.zeros((32, 32, 3), np.uint8) for k in reward.cameras})
    with pytest.raises(KeyError, match="lacks"):
        reward({"image/front": np.zeros((16, 16, 3), np.uint8)})
    with pytest.raises(ValueError, match="uint8"):
        reward({k: np.zeros((16, 16, 3), np.float32) for k in reward.cameras})


def test_relabel_writes_a_new_store(model, store, tmp_path):
    from robot_rl.rewards.relabel import relabel_store

    out, _ = model
    before = (store / "data" / "reward").stat().st_mtime_ns
    dst = tmp_path / "relabelled.zarr"
    info = relabel_store(store, dst, load_reward(out), mode="flag")
    with EpisodeStore.open(store) as a, EpisodeStore.open(dst) as b:
        assert b.n_episodes == a.n_episodes == info["episodes"]
        assert b.attrs["relabelled_from"] == str(store)
        new, old = b.array("reward")[:], a.array("reward")[:]
        assert np.mean(new == old) > 0.85 and np.array_equal(b.array("success")[:], a.array("success")[:])
        assert [m.success for m in b.all_meta()] == [m.success for m in a.all_meta()]
    assert (store / "data" / "reward").stat().st_mtime_ns == before
    with pytest.raises(FileExistsError):
        relabel_store(store, dst, load_reward(out))


def test_reward_wraps_any_scorer():
    class Half:
        cameras = ("image/front",)

        def predict(self, images):
            return np.full(len(images["image/front"]), np.nan)

    with pytest.raises(ValueError, match="refusing"):
        Reward(Half(), 0.5, 1)({"image/front": np.zeros((4, 4, 3), np.uint8)})


def test_learned_reward_wrapper_ends_episodes_on_the_flag():
    import gymnasium as gym

    from robot_rl.rewards.wrapper import LearnedReward

    class Brightening(gym.Env):
        observation_space = gym.spaces.Dict({"image/front": gym.spaces.Box(0, 255, (4, 4, 3), np.uint8)})
        action_space = gym.spaces.Box(-1, 1, (1,))

        def reset(self, seed=None, options=None):
            self.t = 0
            return self._obs(), {"success": False}

        def step(self, action):
            self.t += 1
            return self._obs(), 0.0, False, self.t >= 20, {"success": self.t >= 5}

        def _obs(self):
            return {"image/front": np.full((4, 4, 3), 10 * self.t, np.uint8)}

    class Bright:
        cameras = ("image/front",)

        def predict(self, images):
            return images["image/front"].mean(axis=(1, 2, 3)) / 100.0

    env = LearnedReward(Brightening(), Reward(Bright(), 0.5, 2))
    env.reset()
    steps = [env.step(np.zeros(1)) for _ in range(7)]
    assert [s[1] for s in steps] == [0, 0, 0, 0, 0, 1, 1]  # prob >= 0.5 from t = 5; k = 2 frames
    done_at = next(i for i, s in enumerate(steps) if s[2])
    info = steps[done_at][4]
    assert done_at == 5 and info["privileged_success"] and info["success"] and info["success_prob"] == 0.6
    env.reset()
    assert env.reward_model.hysteresis.count == 0
