"""reward_node as a real process: camera frames in, success probability and hysteresis flag out at the
control rate; no frames or a dead judge server → NaN and False, never a success."""

import itertools
import json
import math
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

pytest.importorskip("rclpy")

from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Bool, Float32  # noqa: E402

from robot_rl.ros import convert, qos  # noqa: E402
from robot_rl.ros.client import GraphClient  # noqa: E402

_DOMAINS = itertools.count()


class BrightnessJudge:
    """Chat-completions server: P(yes) = mean brightness of the image / 255, as top_logprobs."""

    def __init__(self):
        import base64
        import io

        from PIL import Image as PILImage

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                url = body["messages"][0]["content"][1]["image_url"]["url"]
                img = PILImage.open(io.BytesIO(base64.b64decode(url.split(",")[1])))
                p = float(np.asarray(img).mean()) / 255
                top = [{"token": "yes", "logprob": math.log(max(p, 1e-6))},
                       {"token": "no", "logprob": math.log(max(1 - p, 1e-6))}]
                first = {"token": "yes", "top_logprobs": top}
                data = json.dumps({"choices": [{"message": {"content": "yes"},
                                                "logprobs": {"content": [first]}}]})
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"


def test_reward_node_publishes_probability_and_flag(tmp_path, monkeypatch):
    from robot_rl.rewards.base import save_model_dir
    from robot_rl.rewards.http_judge import HttpJudge, JudgeConfig

    domain = 20 + (os.getpid() * 7 + next(_DOMAINS) + 101) % 200
    for k, v in {"ROS_DOMAIN_ID": str(domain), "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}.items():
        monkeypatch.setenv(k, v)
    server = BrightnessJudge()
    judge = HttpJudge(JudgeConfig(url=server.url, task="t", timeout=1.0, retries=0), ("image/front",))
    save_model_dir(tmp_path / "judge", "http_judge", 0.5, 3, judge.config_json())
    log = open(tmp_path / "node.log", "w")
    node = subprocess.Popen([sys.executable, "-m", "robot_rl.ros.reward_node", "--ros-args", "-p",
                             f"model:={tmp_path / 'judge'}", "-p", "rate_hz:=20.0"], stdout=log, stderr=log)
    try:
        with GraphClient("reward_test") as client:
            probs = client.watch("/reward/probability", Float32, qos.COMMAND)
            flags = client.watch("/reward/success", Bool, qos.COMMAND)
            pub = client.node.create_publisher(Image, "/front/color/image_raw", qos.SENSOR_PUB)
            client.wait_for(lambda: len(probs) > 5, 30, "reward messages without frames")
            assert math.isnan(probs[-1][1].data) and not any(m.data for _, m in flags)

            def show(value: int, seconds: float) -> None:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    frame = np.full((8, 8, 3), value, np.uint8)
                    msg = convert.numpy_to_image(frame, "rgb8", time.time(), "front_color_optical_frame")
                    pub.publish(msg)
                    client.spin(0.05)

            show(20, 1.0)
            assert probs[-1][1].data == pytest.approx(20 / 255, abs=0.01) and not flags[-1][1].data
            n = len(flags)
            show(230, 1.5)
            rise = next(i for i in range(n, len(flags)) if flags[i][1].data)
            assert probs[-1][1].data == pytest.approx(230 / 255, abs=0.01) and flags[-1][1].data
            above = sum(probs[i][1].data > 0.5 for i in range(n, rise + 1))
            assert above >= 3  # k = 3 frames above the threshold before the flag rises
            client.trigger("/reward/reset")
            server.httpd.shutdown()
            server.httpd.server_close()
            show(230, 1.5)  # the judge is gone: no success, however bright
            assert math.isnan(probs[-1][1].data) and not flags[-1][1].data
            assert node.poll() is None
    finally:
        node.terminate()
        node.wait(10)
        log.close()
    assert "reward model failed" in (tmp_path / "node.log").read_text()
