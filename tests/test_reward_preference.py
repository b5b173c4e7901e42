"""Bradley–Terry reward from preference labels (RL-VLM-F): recorder labels and an HTTP judge on
127.0.0.1 that prefers the brighter image set; unsure answers dropped; saved model relabels a store."""

import base64
import dataclasses
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch

from robot_rl.data.store import EpisodeStore
from robot_rl.rewards import preference as pf
from robot_rl.rewards.base import load_reward
from robot_rl.rewards.classifier import SMALL_ENCODER, ClassifierConfig
from robot_rl.rewards.dataset import LabelConfig, load_frames
from robot_rl.rewards.http_judge import HttpJudge, JudgeConfig
from tests.helpers.reward_data import make_store

torch.set_num_threads(1)  # tiny models: a second thread only adds contention
NET = ClassifierConfig(encoder=dataclasses.replace(SMALL_ENCODER, image_channels=(8, 16), image_dim=16),
                       hidden=16, steps=100, batch_size=16, lr=3e-3)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("pref") / "s.zarr", n_success=8, n_fail=6)


def test_bradley_terry_learns_from_label_preferences(store):
    with EpisodeStore.open(store) as s:
        frames = load_frames(s, range(s.n_episodes), ("image/front",), LabelConfig(source="success"))
    prefs = pf.collect_preferences(frames, pf.label_labeller(frames.labels), 300, by_index=True)
    assert 0 < len(prefs) < 300  # pairs with equal labels are unsure and dropped
    scorer, log = pf.train_bradley_terry(frames, prefs, pf.PreferenceConfig(net=NET))
    assert log["pair_accuracy_last"] > max(0.85, log["pair_accuracy_first"])
    p = scorer.predict(frames.images)
    assert p[frames.labels == 1].mean() > p[frames.labels == 0].mean() + 0.3


class BrighterJudge:
    """A chat-completions server answering "which image set is brighter" (0 = unsure when close)."""

    def __init__(self):
        from PIL import Image

        def brightness(url):
            return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))).mean()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                a, b = (brightness(c["image_url"]["url"]) for c in body["messages"][0]["content"][1:])
                answer = "0" if abs(a - b) < 3 else ("1" if a > b else "2")
                data = json.dumps({"choices": [{"message": {"content": answer}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"


def test_judge_preferences_train_a_saved_reward_that_relabels(store, tmp_path):
    from robot_rl.cli import main

    server = BrighterJudge()
    try:
        with EpisodeStore.open(store) as s:
            frames = load_frames(s, range(s.n_episodes), ("image/front",), LabelConfig(source="success"))
        judge = HttpJudge(JudgeConfig(url=server.url, task="show the block"), ("image/front",))
        prefs = pf.collect_preferences(frames, pf.judge_labeller(judge), 40, seed=1)
        assert 0 < len(prefs) <= 40 and judge.requests == 40
        truth = pf.label_labeller(frames.labels)
        decided = [(i, j, w) for i, j, w in prefs if truth(i, j) is not None]
        assert decided and all(truth(i, j) == w for i, j, w in decided)  # the brighter frame shows the block
        out = tmp_path / "bt"
        assert main(["reward", "prefer", "--store", str(store), "--out", str(out), "--pairs", "200",
                     "--net.steps", "60", "--net.batch-size", "16", "--net.encoder.image-channels", "8", "16",
                     "--net.encoder.image-dim", "16", "--net.hidden", "16", "--net.lr", "0.003",
                     "--cameras", "front"]) == 0
        reward = load_reward(out)
        assert reward.kind == "preference"
        dst = tmp_path / "relabelled.zarr"
        assert main(["reward", "relabel", "--model", str(out), "--src", str(store), "--dst", str(dst)]) == 0
        with EpisodeStore.open(dst) as d:
            r, success = d.array("reward")[:], d.array("success")[:]
        assert r[success].mean() > r[~success].mean()
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
