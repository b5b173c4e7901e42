"""Success classifier: labels from stores, hysteresis, threshold choice, a learning test, save/load through
the user path, evaluation PNG, relabelling into a new store, and clear errors for bad inputs."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore
from robot_rl.rewards.base import Reward, RewardModel, load_reward
from robot_rl.rewards.classifier import SMALL_ENCODER, ClassifierConfig
from robot_rl.rewards.dataset import LabelConfig, load_frames, resolve_source
from robot_rl.rewards.hysteresis import Hysteresis, choose_hysteresis, choose_threshold, hysteresis_flags
from robot_rl.rewards.train import TrainConfig, evaluate_reward, train_reward
from tests.helpers.reward_data import episode, make_store

torch.set_num_threads(1)  # tiny models: a second thread only adds contention
TINY = ClassifierConfig(encoder=dataclasses.replace(SMALL_ENCODER, image_channels=(8, 16), image_dim=16),
                        hidden=16, steps=120, batch_size=32, lr=3e-3)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("reward") / "s.zarr")


@pytest.fixture(scope="module")
def model(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    cfg = TrainConfig(classifier=TINY, k=(2,), val_fraction=0.3, target_precision=0.95)
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


def test_hysteresis_length_is_chosen_for_recall_at_the_precision_target():
    # 4 episodes of 20 frames: success from frame 10; every negative episode has isolated single-frame
    # spikes that only k >= 2 rejects
    labels = np.zeros(80, np.int8)
    probs = np.full(80, 0.1)
    for e in (0, 1):
        labels[20 * e + 10:20 * e + 20] = 1
        probs[20 * e + 10:20 * e + 20] = 0.9
    probs[[43, 47, 51, 55, 63, 71]] = 0.95
    ends = np.array([20, 40, 60, 80])
    c = choose_hysteresis(probs, labels, ends, (1, 2, 3), target_precision=0.99, min_threshold=0.5)
    assert c.k == 2 and c.met_target and c.recall == pytest.approx(18 / 20)
    clean = np.where(labels == 1, 0.9, 0.1)
    assert choose_hysteresis(clean, labels, ends, (3, 1, 2), 0.99, 0.5).k == 1  # k = 1 has the most recall
    with pytest.raises(ValueError):
        choose_hysteresis(clean, labels, ends, (), 0.99)


def test_first_flag_target_rejects_a_k_whose_first_flags_come_early():
    # 10 episodes of 30 frames, success from frame 10; in one of them the frame before success already
    # scores high: per frame 200 / 201 precise with k = 1, but that episode would end one step early
    labels = np.tile(np.r_[np.zeros(10), np.ones(20)].astype(np.int8), 10)
    probs = np.where(labels == 1, 0.95, 0.05)
    probs[9] = 0.97  # no threshold keeps the successes and drops it
    ends = np.arange(30, 301, 30)
    per_frame = choose_hysteresis(probs, labels, ends, (1, 2, 3), 0.99, 0.5)
    assert per_frame.k == 1 and per_frame.precision >= 0.99 and per_frame.first_flag_precision == 0.9
    rl = choose_hysteresis(probs, labels, ends, (1, 2, 3), 0.99, 0.5, target_first_flag=0.99)
    assert rl.k == 2 and rl.first_flag_precision == 1.0 and rl.met_target
    assert rl.recall == pytest.approx((20 + 9 * 19) / 200)  # k = 2 gives up the first frame of each success


def test_recall_slack_raises_the_threshold_above_near_success_negatives():
    # validation: negatives ~0.05, positives 0.95..0.999 except one onset frame at 0.8 per episode; a held-out
    # near miss creeping towards success scores 0.45..0.85 (validation holds none of those)
    labels = np.array(([0] * 10 + [1] * 20) * 4, np.int8)
    probs = np.where(labels == 1, np.linspace(0.95, 0.999, 120), 0.05)
    probs[[10, 40, 70, 100]] = 0.8
    ends = np.array([30, 60, 90, 120])
    low = choose_threshold(probs, labels, ends, 1, 0.99, min_threshold=0.5)
    high = choose_threshold(probs, labels, ends, 1, 0.99, min_threshold=0.5, recall_slack=0.06)
    assert low.threshold == 0.5 and low.recall == 1.0
    assert 0.85 < high.threshold < 0.96 and high.recall >= 0.94 and high.met_target
    near_miss = np.linspace(0.45, 0.85, 20)
    assert np.mean(near_miss >= low.threshold) > 0.8 and not np.any(near_miss >= high.threshold)
    # slack smaller than one onset frame per episode (4 / 80 = 0.05): the 0.8 frames stay detected
    assert choose_threshold(probs, labels, ends, 1, 0.99, 0.5, recall_slack=0.01).recall == 1.0


def test_onset_negatives_are_the_frames_just_before_success():
    from robot_rl.rewards.classifier import _onset_negatives
    from robot_rl.rewards.dataset import Frames

    labels = np.array([0, 0, 0, 1, 1, 0, 0, 0, 0, 1, -1, 0, 0], np.int8)
    frames = Frames({}, labels, np.array([6, 10, 13]), np.arange(3))
    # episode 0 (frames 0-5): 0-2 precede its success, 5 follows it; episode 1 (6-9): 6-8 precede its
    # success at 9, frame 5 belongs to episode 0; episode 2 (10-12) has no success
    assert _onset_negatives(frames, 4).tolist() == [0, 1, 2, 6, 7, 8]
    assert _onset_negatives(frames, 1).tolist() == [2, 8]


def test_metrics_report_the_detection_delay_per_success_segment():
    from robot_rl.rewards.dataset import Frames
    from robot_rl.rewards.evaluate import metrics

    labels = np.array([0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1], np.int8)
    probs = np.array([0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0], float)
    frames = Frames({}, labels, np.array([5, 10, 14]), np.arange(3))
    m = metrics(probs, frames, 0.5, k=2)
    # segment 1: flag from frame 2 (delay 1); segment 2: from frame 9 (delay 2); segment 3: never
    assert (m["delay_mean"], m["delay_max"], m["segments_missed"]) == (1.5, 2, 1)
    assert (m["tp"], m["fp"], m["fn"]) == (4, 0, 5) and m["raw_fp"] == 1


def test_first_flag_metrics_count_what_ends_an_rl_episode():
    from robot_rl.rewards.dataset import Frames
    from robot_rl.rewards.evaluate import metrics

    # ep 0: flag rises inside the success (right); ep 1: a spike before success ends it early; ep 2: a failed
    # episode flagged (early); ep 3: success never flagged (missed); ep 4: failed, never flagged
    labels = np.array([0, 0, 1, 1] + [0, 0, 1, 1] + [0, 0, 0] + [0, 1, 1] + [0, 0], np.int8)
    probs = np.array([0, 0, 1, 1] + [1, 0, 1, 1] + [0, 1, 0] + [0, 0, 0] + [0, 0], float)
    frames = Frames({}, labels, np.array([4, 8, 11, 14, 16]), np.arange(5))
    m = metrics(probs, frames, 0.5, k=1)
    assert (m["first_flag_right"], m["first_flag_early"], m["first_flag_missed"]) == (1, 2, 1)
    # per frame ep 1 is mostly right (2 of its 3 flags), for the RL episode it is a false success
    assert (m["first_flag_precision"], m["first_flag_recall"]) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    assert m["precision"] == pytest.approx(4 / 6)


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
    with pytest.raises(ValueError, match="uint8"):  # RGBA is not RGB
        reward({k: np.zeros((16, 16, 4), np.uint8) for k in reward.cameras})


def test_damaged_model_directories_are_clear_errors(model, tmp_path):
    import shutil

    out, _ = model

    def copy(name):
        shutil.copytree(out, tmp_path / name)
        return tmp_path / name

    no_weights = copy("no_weights")
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors.*missing"):
        load_reward(no_weights)
    torn = copy("torn")
    (torn / "model.safetensors").write_bytes((out / "model.safetensors").read_bytes()[:100])
    with pytest.raises(ValueError, match="damaged or not safetensors"):
        load_reward(torn)
    bad_json = copy("bad_json")
    (bad_json / "reward.json").write_text('{"kind": "classifier", "thresh')
    with pytest.raises(ValueError, match="reward.json is not valid JSON"):
        load_reward(bad_json)
    foreign = copy("foreign")
    (foreign / "reward.json").write_text(json.dumps({"kind": "pickle", "threshold": 0.5, "k": 1}))
    with pytest.raises(ValueError, match="unknown reward kind 'pickle'"):
        load_reward(foreign)


def test_evaluating_on_frames_of_another_size_is_refused(model, tmp_path):
    from robot_rl.data.spec import KeySpec

    out, _ = model
    big = tmp_path / "big.zarr"
    specs = {k: KeySpec((24, 24, 3), "uint8") for k in ("image/front", "image/wrist")}
    with EpisodeStore.create(big, specs | {"success": KeySpec((), "bool")}, {"task": "synthetic"}) as s:
        w = s.begin_episode(source="demo")
        w.extend({k: np.zeros((5, 24, 24, 3), np.uint8) for k in specs} | {"success": np.zeros(5, bool)})
        w.commit(success=False)
    with pytest.raises(ValueError, match="24x24 but the model was trained on 16x16"):
        evaluate_reward(out, big, labels=LabelConfig(source="success"))


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


def _distractor_store(path, episodes: int, seed: int):
    """Failed attempts that show the success block's colour in another place (a policy's near miss that
    demonstrations never show): every frame negative."""
    from tests.helpers.reward_data import SPECS

    with EpisodeStore.create(path, SPECS, {"prompt": "show the block", "task": "synthetic"}) as s:
        for i in range(episodes):
            ep, _ = episode(seed + i, successful=False)
            ep["image/front"][10:, 9:15, 9:15] = (230, 220, 40)
            ep["image/wrist"] = ep["image/front"][:, ::-1].copy()
            w = s.begin_episode(source="demo")
            w.extend(ep)
            w.commit(success=False)
    return path


def test_extra_stores_of_failed_attempts_teach_their_negatives(tmp_path):
    demos = make_store(tmp_path / "demos.zarr", n_success=12, n_fail=0)
    failures = _distractor_store(tmp_path / "failures.zarr", 10, seed=100)
    held_out = _distractor_store(tmp_path / "held_out.zarr", 6, seed=200)
    cfg = TrainConfig(classifier=TINY, k=(1,), val_fraction=0.3, target_precision=0.9, target_first_flag=0.0)
    demos_only = train_reward(demos, tmp_path / "a", cfg)
    both = train_reward(demos, tmp_path / "b", dataclasses.replace(cfg, extra_stores=(failures,)))
    extra = both["extra_stores"][0]
    assert extra["store"] == str(failures) and extra["labels"] == "last_k"
    assert sorted(extra["train_episodes"] + extra["val_episodes"]) == list(range(10))
    assert demos_only["extra_stores"] == [] and both["val_episodes"] == demos_only["val_episodes"]
    with EpisodeStore.open(held_out) as s:
        frames = [s.read_episode(i) for i in range(s.n_episodes)]
    for name, lo, hi in (("a", 0.5, 1.0), ("b", 0.0, 0.1)):  # mean success probability on the distractor
        reward = load_reward(tmp_path / name)
        p = [reward.scorer.predict({k: ep[k][10:] for k in reward.cameras}) for ep in frames]
        assert lo <= float(np.mean(np.concatenate(p))) <= hi, name
    with pytest.raises(KeyError, match="no camera keys"):
        train_reward(demos, tmp_path / "c", dataclasses.replace(cfg, cameras=("front",),
                                                                 extra_stores=(_no_cameras(tmp_path),)))


def _no_cameras(tmp_path):
    with EpisodeStore.create(tmp_path / "nocam.zarr", {"reward": KeySpec((), "float32")}) as s:
        w = s.begin_episode(source="demo")
        w.extend({"reward": np.zeros(5, np.float32)})
        w.commit(success=False)
    return tmp_path / "nocam.zarr"
