"""A VLM judge behind an OpenAI-compatible chat-completions server (vLLM, Ollama, TGI, hosted APIs).

Each frame (one image per camera, PNG data URLs) is sent with a yes/no question about the task. The
probability is P(yes) / (P(yes) + P(no)) from the first answer token's `top_logprobs` when the server
returns them, else 1.0 / 0.0 from the answer text; any other answer raises `JudgeAnswerError` — never a
silent success. Requests time out after `timeout` s and are retried `retries` times with doubling
backoff (connection errors, timeouts, HTTP 429 and 5xx); the timeout bounds a whole request, not each
socket read (a server trickling its answer byte by byte is cut off too), so one frame takes at most about
(retries + 1) · timeout + backoff · (2^retries − 1) seconds before `JudgeUnavailableError`. Answers are
cached on disk (one JSON file per sha256 of model, question and image bytes). The API key is read from
the environment variable named by `api_key_env` (sent as a Bearer token when set).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.client
import io
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

QUESTION = ("These are camera images of a robot. Its task: {task}. Is the task successfully completed in "
            "the images? Answer with one word: yes or no.")
PAIR_QUESTION = ("Two moments of a robot doing this task: {task}. Image set 1 comes first, then image set 2. "
                 "Which one shows more progress towards completing the task? Answer 1 or 2, or 0 if unsure.")


class JudgeError(RuntimeError):
    """The judge could not give an answer."""


class JudgeUnavailableError(JudgeError):
    """Server down, too slow, or failing after every retry."""


class JudgeAnswerError(JudgeError):
    """The server answered, but not with something this judge can turn into a probability."""


@dataclasses.dataclass(frozen=True)
class JudgeConfig:
    """OpenAI-compatible chat-completions judge."""

    url: str = "http://127.0.0.1:8000/v1"
    """Base URL of the server's OpenAI API; `/chat/completions` is appended."""
    model: str = "default"
    """Model name the server serves."""
    task: str = ""
    """Task description inserted into the question; empty = the store's task prompt."""
    question: str = QUESTION
    """Yes/no question; `{task}` is replaced by the task description."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the API key (unset variable = no Authorization header)."""
    timeout: float = 10.0
    """Seconds before one request (connect, send, the whole answer) is abandoned."""
    retries: int = 2
    """Extra attempts after a connection error, timeout, HTTP 429 or 5xx."""
    backoff: float = 0.5
    """Seconds before the first retry; doubles at each further retry."""
    cache_dir: str = ""
    """Directory of cached answers (one JSON file per request hash); empty = no cache."""
    logprobs: bool = True
    """Ask for `top_logprobs` to get a probability rather than a hard yes/no."""
    max_tokens: int = 3
    """Tokens the server may generate for the answer."""


class HttpJudge:
    """`Scorer` asking a chat-completions server whether the task is done."""

    def __init__(self, cfg: JudgeConfig, cameras: tuple[str, ...]) -> None:
        self.cfg, self.cameras = cfg, tuple(cameras)
        self.requests = 0
        """HTTP requests sent (cache hits send none)."""

    def predict(self, images: Mapping[str, np.ndarray]) -> np.ndarray:
        from robot_rl.rewards.base import check_images

        n = check_images(images, self.cameras)
        question = self.cfg.question.format(task=self.cfg.task)
        return np.array([self._cached(question, [images[c][i] for c in self.cameras], _yes_probability)
                         for i in range(n)], dtype=np.float64)

    def compare(self, first: list[np.ndarray], second: list[np.ndarray]) -> int | None:
        """Preference between two moments (lists of (H, W, 3) frames): 0 first, 1 second, None unsure."""
        question = PAIR_QUESTION.format(task=self.cfg.task)
        answer = self._cached(question, [*first, *second], _pair_answer)
        return None if answer < 0 else int(answer)

    def config_json(self) -> dict[str, Any]:
        return {"judge": dataclasses.asdict(self.cfg), "cameras": list(self.cameras)}

    # ------------------------------------------------------------------ requests
    def _cached(self, question: str, frames: list[np.ndarray], parse) -> float:
        pngs = [_png(f) for f in frames]
        h = hashlib.sha256(json.dumps([self.cfg.model, question, parse.__name__]).encode())
        for p in pngs:
            h.update(hashlib.sha256(p).digest())
        key = h.hexdigest()
        path = Path(self.cfg.cache_dir) / key[:2] / f"{key}.json" if self.cfg.cache_dir else None
        if path is not None and path.is_file():
            return float(json.loads(path.read_text())["value"])
        value = parse(self._post(question, pngs))
        if path is not None:
            from robot_rl.rewards.base import write_json_atomic

            write_json_atomic(path, {"value": value, "model": self.cfg.model, "question": question})
        return value

    def _post(self, question: str, pngs: list[bytes]) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": question}]
        content += [{"type": "image_url",
                     "image_url": {"url": "data:image/png;base64," + base64.b64encode(p).decode()}}
                    for p in pngs]
        body = {"model": self.cfg.model, "messages": [{"role": "user", "content": content}],
                "max_tokens": self.cfg.max_tokens, "temperature": 0.0}
        if self.cfg.logprobs:
            body |= {"logprobs": True, "top_logprobs": 5}
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.cfg.api_key_env, "") if self.cfg.api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = self.cfg.url.rstrip("/") + "/chat/completions"
        request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
        last = ""
        for attempt in range(self.cfg.retries + 1):
            if attempt:
                time.sleep(self.cfg.backoff * 2 ** (attempt - 1))
            self.requests += 1
            try:
                raw = _fetch(request, self.cfg.timeout)
            except urllib.error.HTTPError as e:
                detail = e.read()[:300].decode(errors="replace")
                if e.code != 429 and e.code < 500:
                    hint = f" (is ${self.cfg.api_key_env} set?)" if e.code in (401, 403) else ""
                    raise JudgeError(f"{url} refused the request: HTTP {e.code} {detail}{hint}") from e
                last = f"HTTP {e.code} {detail}"
                continue
            except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as e:
                last = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
                continue
            try:
                return json.loads(raw)
            except json.JSONDecodeError as e:
                raise JudgeAnswerError(f"{url} did not return JSON: {raw[:200]!r}") from e
        raise JudgeUnavailableError(f"no answer from {url} after {self.cfg.retries + 1} attempts "
                                    f"(timeout {self.cfg.timeout} s each): {last}")


def _fetch(request: urllib.request.Request, timeout: float) -> bytes:
    """The response body, or TimeoutError once `timeout` s have passed since the request was sent.

    urllib's timeout bounds each socket operation, not the request: a server trickling its answer a byte
    at a time held a 0.3 s timeout for 12 s. The request runs in a daemon thread that the caller waits for
    at most `timeout` s; an abandoned thread stops at its next read of the body.
    """
    box: dict[str, Any] = {}
    abandoned = threading.Event()

    def run() -> None:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                chunks = []
                while not abandoned.is_set() and (chunk := resp.read1(65536)):
                    chunks.append(chunk)
                box["raw"] = b"".join(chunks)
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    worker = threading.Thread(target=run, name="http-judge-request", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        abandoned.set()
        raise TimeoutError(f"no complete answer within {timeout} s")
    if "error" in box:
        raise box["error"]
    return box["raw"]


def _png(frame: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame)).save(buf, format="PNG")
    return buf.getvalue()


def _message(resp: dict[str, Any]) -> tuple[str, list]:
    try:
        choice = resp["choices"][0]
        text = choice["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as e:
        raise JudgeAnswerError(f"malformed chat-completions response: {json.dumps(resp)[:300]}") from e
    tokens = ((choice.get("logprobs") or {}).get("content") or []) if isinstance(choice, dict) else []
    return str(text), tokens


def _word(token: str) -> str:
    return token.strip().strip(".,!:;\"'").lower()


def _yes_probability(resp: dict[str, Any]) -> float:
    """P(yes) from the first token position offering yes/no in its top_logprobs, else from the text."""
    text, tokens = _message(resp)
    for pos in tokens:
        yes = no = 0.0
        for alt in pos.get("top_logprobs") or [pos]:
            word = _word(str(alt.get("token", "")))
            p = float(np.exp(float(alt.get("logprob", -np.inf))))
            yes += p if word == "yes" else 0.0
            no += p if word == "no" else 0.0
        if yes + no > 0:
            return yes / (yes + no)
    word = _word(text.split()[0]) if text.split() else ""
    if word in ("yes", "no"):
        return 1.0 if word == "yes" else 0.0
    raise JudgeAnswerError(f"the judge answered {text[:100]!r}, neither yes nor no")


def _pair_answer(resp: dict[str, Any]) -> float:
    """0 / 1 for image set 1 / 2, -1 for unsure."""
    text, _ = _message(resp)
    word = _word(text.split()[0]) if text.split() else ""
    if word in ("1", "2", "0"):
        return {"1": 0.0, "2": 1.0, "0": -1.0}[word]
    raise JudgeAnswerError(f"the judge answered {text[:100]!r}, not 1, 2 or 0")


def load_judge(path: Path, meta: dict[str, Any]) -> HttpJudge:
    return HttpJudge(JudgeConfig(**meta["config"]["judge"]), tuple(meta["config"]["cameras"]))
