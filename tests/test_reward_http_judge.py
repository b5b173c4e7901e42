"""HTTP judge against a real OpenAI-compatible chat-completions server on 127.0.0.1 (http.server in a
thread): logprob and text answers, malformed answers, slow and down servers, cache, API key header."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from robot_rl.rewards.base import load_reward, save_model_dir
from robot_rl.rewards.http_judge import (
    HttpJudge,
    JudgeAnswerError,
    JudgeConfig,
    JudgeError,
    JudgeUnavailableError,
)

FRAME = {"image/front": np.full((1, 8, 8, 3), 200, np.uint8)}


class Server:
    """Answers with `self.reply(body)` (a dict, or bytes sent raw), after `self.delay` seconds."""

    def __init__(self):
        self.requests, self.delay, self.status, self.byte_delay = [], 0.0, 200, 0.0
        self.reply = lambda body: _logprob_answer(0.8)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, dict(self.headers), body))
                time.sleep(outer.delay)
                reply = outer.reply(body)
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                try:
                    self.send_response(outer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if outer.byte_delay:  # trickle the body one byte at a time
                        for b in data:
                            self.wfile.write(bytes([b]))
                            self.wfile.flush()
                            time.sleep(outer.byte_delay)
                    else:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def _logprob_answer(p_yes):
    top = [{"token": " Yes", "logprob": float(np.log(p_yes))},
           {"token": "No", "logprob": float(np.log(1 - p_yes))}]
    first = {"token": "Yes", "logprob": top[0]["logprob"], "top_logprobs": top}
    message = {"role": "assistant", "content": "Yes"}
    return {"choices": [{"message": message, "logprobs": {"content": [first]}}]}


def _text_answer(text):
    return {"choices": [{"message": {"role": "assistant", "content": text}}]}


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def judge(server, **kw):
    return HttpJudge(JudgeConfig(url=server.url, model="tiny", task="lift the cube", **kw), ("image/front",))


def test_logprobs_request_format_and_api_key(server, monkeypatch):
    monkeypatch.setenv("MY_KEY", "secret-123")
    p = judge(server, api_key_env="MY_KEY").predict(FRAME)
    assert p == pytest.approx([0.8])
    path, headers, body = server.requests[0]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer secret-123"
    content = body["messages"][0]["content"]
    assert "lift the cube" in content[0]["text"]
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert body["logprobs"] is True and body["model"] == "tiny"


def test_text_answers_and_malformed(server):
    server.reply = lambda body: _text_answer("No.")
    assert judge(server, logprobs=False).predict(FRAME) == pytest.approx([0.0])
    server.reply = lambda body: _text_answer("Perhaps, hard to say")
    with pytest.raises(JudgeAnswerError, match="neither yes nor no"):
        judge(server).predict(FRAME)
    server.reply = lambda body: {"unexpected": True}
    with pytest.raises(JudgeAnswerError, match="malformed"):
        judge(server).predict(FRAME)
    server.reply = lambda body: b"<html>not json</html>"
    with pytest.raises(JudgeAnswerError, match="JSON"):
        judge(server).predict(FRAME)


def test_slow_server_times_out_within_bound(server):
    server.delay = 2.0
    t0 = time.monotonic()
    with pytest.raises(JudgeUnavailableError, match="after 2 attempts"):
        judge(server, timeout=0.3, retries=1, backoff=0.05).predict(FRAME)
    assert time.monotonic() - t0 < 0.3 * 2 + 0.05 + 0.5


def test_trickling_server_is_cut_off_at_the_timeout(server):
    # each byte arrives well within the timeout, the whole answer (~250 bytes) would take ~12 s
    server.byte_delay = 0.05
    t0 = time.monotonic()
    with pytest.raises(JudgeUnavailableError, match="after 2 attempts.*within 0.3 s"):
        judge(server, timeout=0.3, retries=1, backoff=0.05).predict(FRAME)
    assert time.monotonic() - t0 < 0.3 * 2 + 0.05 + 0.5


def test_retries_server_errors_then_refuses_auth(server):
    server.status = 503
    with pytest.raises(JudgeUnavailableError, match="HTTP 503"):
        judge(server, retries=2, backoff=0.01).predict(FRAME)
    assert len(server.requests) == 3
    server.status = 401
    with pytest.raises(JudgeError, match="HTTP 401.*MY_KEY"):
        judge(server, api_key_env="MY_KEY", retries=2).predict(FRAME)
    assert len(server.requests) == 4  # 4xx is not retried


def test_down_server_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    j = HttpJudge(JudgeConfig(url=f"http://127.0.0.1:{port}/v1", retries=1, backoff=0.01), ("image/front",))
    with pytest.raises(JudgeUnavailableError, match=f"127.0.0.1:{port}.*refused"):
        j.predict(FRAME)


def test_cache_avoids_a_second_request(server, tmp_path):
    j = judge(server, cache_dir=str(tmp_path / "cache"))
    assert j.predict(FRAME) == pytest.approx([0.8])
    server.reply = lambda body: _logprob_answer(0.1)  # a second request would change the answer
    again = judge(server, cache_dir=str(tmp_path / "cache"))
    assert again.predict(FRAME) == pytest.approx([0.8]) and again.requests == 0 and len(server.requests) == 1
    other = {"image/front": np.zeros((1, 8, 8, 3), np.uint8)}
    assert again.predict(other) == pytest.approx([0.1]) and len(server.requests) == 2


def test_saved_judge_is_a_reward_model_and_compares_pairs(server, tmp_path):
    j = judge(server)
    save_model_dir(tmp_path / "judge", "http_judge", 0.5, 2, j.config_json())
    reward = load_reward(tmp_path / "judge")
    assert reward({"image/front": FRAME["image/front"][0]}) == (pytest.approx(0.8), False)
    assert reward({"image/front": FRAME["image/front"][0]})[1] is True  # second frame above: k = 2 reached
    server.reply = lambda body: _text_answer("2")
    assert j.compare([FRAME["image/front"][0]], [FRAME["image/front"][0]]) == 1
    server.reply = lambda body: _text_answer("0")
    assert j.compare([FRAME["image/front"][0]], [FRAME["image/front"][0]]) is None
    assert len(server.requests[-1][2]["messages"][0]["content"]) == 3  # question + both images


def test_down_or_slow_judge_in_the_episode_loop_raises_never_succeeds(server, tmp_path):
    """A saved judge model behind `LearnedReward`: a dead or hanging server stops the step with
    JudgeUnavailableError within the documented bound; no step reports success."""
    import gymnasium as gym

    from robot_rl.rewards.wrapper import LearnedReward

    class Still(gym.Env):
        observation_space = gym.spaces.Dict({"image/front": gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)})
        action_space = gym.spaces.Box(-1, 1, (1,))

        def reset(self, seed=None, options=None):
            return {"image/front": FRAME["image/front"][0]}, {}

        def step(self, action):
            return {"image/front": FRAME["image/front"][0]}, 0.0, False, False, {"success": False}

    cfg = JudgeConfig(url=server.url, model="tiny", task="lift the cube", timeout=0.3, retries=1,
                      backoff=0.05)
    save_model_dir(tmp_path / "judge", "http_judge", 0.5, 1, HttpJudge(cfg, ("image/front",)).config_json())
    env = LearnedReward(Still(), load_reward(tmp_path / "judge"))
    env.reset()
    assert env.step(np.zeros(1))[4]["success"] is True  # p = 0.8 >= 0.5, k = 1: the server is up
    server.delay = 2.0
    t0 = time.monotonic()
    with pytest.raises(JudgeUnavailableError):
        env.step(np.zeros(1))
    assert time.monotonic() - t0 < 0.3 * 2 + 0.05 + 0.5
    server.httpd.shutdown()
    server.httpd.server_close()
    with pytest.raises(JudgeUnavailableError, match="refused"):
        env.step(np.zeros(1))


def test_calibrating_against_a_down_server_writes_no_model(tmp_path):
    from robot_rl.rewards.train import TrainConfig, train_reward
    from tests.helpers.reward_data import make_store

    store = make_store(tmp_path / "s.zarr", n_success=2, n_fail=2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = TrainConfig(backend="http_judge", judge=JudgeConfig(url=f"http://127.0.0.1:{port}/v1", retries=0))
    with pytest.raises(JudgeUnavailableError):
        train_reward(store, tmp_path / "m", cfg)
    assert not (tmp_path / "m" / "reward.json").exists()
