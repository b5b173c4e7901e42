"""Checkpoints (round trip, exact resume, clear errors) and the train / eval commands on a generic
gymnasium environment."""

import dataclasses
import json

import numpy as np
import pytest
import safetensors.torch
import torch

from robot_rl.cli import main
from robot_rl.critics.chunk_critic import CriticConfig
from robot_rl.data.normalizer import Normalizer
from robot_rl.rl import checkpoint as ckpt
from robot_rl.rl.config import TrainConfig
from robot_rl.rl.eval import wilson_interval
from robot_rl.rl.offline import Trainer, load_policy
from tests.helpers.point_env import ENV_ID, write_demos
from tests.test_policy import TINY, obs_batch, tiny_data

torch.set_num_threads(1)
CFG = TrainConfig(policy=TINY, steps=20, batch_size=8, warmup_steps=5, threads=1, train_critic=True,
                  critic=CriticConfig(horizon=3, hidden=(16, 16), batch_size=8))


def test_checkpoint_round_trip_gives_identical_actions(tmp_path):
    trainer = Trainer.create(CFG, tiny_data())
    for _ in range(5):
        trainer.train_step()
    path = trainer.save(tmp_path / "ck")
    assert path.name == "ck.safetensors" and (tmp_path / "ck.json").exists()
    assert json.loads((tmp_path / "ck.json").read_text())["state"]["step"] == 5
    policy = load_policy(path)
    obs, noise = obs_batch(4), torch.randn(4, 3, 8, 2)
    torch.testing.assert_close(policy.sample(obs, 3, noise=noise),
                               trainer.ema.model.sample(obs, 3, noise=noise), rtol=0, atol=0)
    first = noise[:, :1]
    torch.testing.assert_close(policy.act(obs, noise=first), trainer.ema.model.act(obs, noise=first),
                               rtol=0, atol=0)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_resume_is_exact(tmp_path):
    data = tiny_data()
    straight = Trainer.create(CFG, data)
    losses = [straight.train_step()["loss"] for _ in range(8)]
    first = Trainer.create(CFG, data)
    for _ in range(4):
        first.train_step()
    first.save(tmp_path / "half")
    resumed = Trainer.load(tmp_path / "half.safetensors", data)
    assert resumed.step == 4
    assert [resumed.train_step()["loss"] for _ in range(4)] == losses[4:]
    for a, b in [(straight.policy, resumed.policy), (straight.ema.model, resumed.ema.model),
                 (straight.critic, resumed.critic), (straight.critic_target, resumed.critic_target)]:
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            torch.testing.assert_close(x, y, rtol=0, atol=0, msg=name)


def test_wrong_shapes_and_foreign_files_fail_clearly(tmp_path):
    trainer = Trainer.create(CFG, tiny_data())
    path = trainer.save(tmp_path / "ck")
    tensors, info = ckpt.load(path)
    name = "ema/unet.film.weight"
    tensors[name] = torch.zeros(3, 3)
    meta = (info["kind"], info["config"], info["state"], info["normalizer"])
    bad = ckpt.save(tmp_path / "bad", tensors, *meta)
    with pytest.raises(ckpt.CheckpointError, match=rf"tensor {name} has shape \(3, 3\), model expects"):
        load_policy(bad)
    del tensors[name]
    missing = ckpt.save(tmp_path / "missing", tensors, *meta)
    with pytest.raises(ckpt.CheckpointError, match="missing.*unet.film.weight"):
        load_policy(missing)
    # data whose shapes differ from the checkpoint's
    other = tiny_data()
    other = type(other)(other.data | {"state/x": np.zeros((other.n_steps, 4), np.float32)},
                        other.episode_ends)
    with pytest.raises(ValueError, match=r"'state/x': per-step shape \(4,\), the checkpoint expects \(3,\)"):
        Trainer.load(path, other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"PK\x03\x04 this is a zip file, not a checkpoint" * 10)
    with pytest.raises(ckpt.CheckpointError, match="is not a robot_rl checkpoint: not a safetensors file"):
        load_policy(junk)
    plain = tmp_path / "plain.safetensors"
    safetensors.torch.save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(ckpt.CheckpointError, match="is not a robot_rl checkpoint: a safetensors file"):
        load_policy(plain)
    norm = tmp_path / "norm.safetensors"
    Normalizer({"a": (np.zeros(1), np.ones(1))}).save(norm)
    with pytest.raises(ckpt.CheckpointError, match="not a robot_rl checkpoint.*robot_rl.normalizer"):
        load_policy(norm)
    with pytest.raises(ckpt.CheckpointError, match="policy settings differ"):
        longer = dataclasses.replace(CFG, policy=dataclasses.replace(TINY, horizon=16))
        Trainer.load(path, tiny_data(), longer)
    with pytest.raises(ckpt.CheckpointError, match="does not exist"):
        load_policy(tmp_path / "nope.safetensors")


def test_wilson_interval():
    lo, hi = wilson_interval(30, 50)
    assert lo == pytest.approx(0.4618, abs=1e-3) and hi == pytest.approx(0.7239, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)


def test_train_and_eval_commands_on_a_gymnasium_env(tmp_path):
    """Generic entry: a Box-observation gymnasium env and a store of its demos; the policy learns to reach."""
    store = write_demos(tmp_path / "demos.zarr", 40)
    out = tmp_path / "run"
    args = ["train", "--store", str(store), "--out", str(out), "--env", ENV_ID, "--steps", "500",
            "--batch-size", "32", "--lr", "3e-3", "--warmup-steps", "20", "--threads", "1",
            "--eval-episodes", "0",
            "--ckpt-every", "250", "--policy.horizon", "8", "--policy.n-action-steps", "4",
            "--policy.down-dims", "16", "32", "--policy.encoder.state-hidden", "32", "--ema-power", "0.9"]
    assert main(args) == 0
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] == 500 and lines[-1]["loss"] < 0.5 * lines[0]["loss"]
    assert list((out / "tb").iterdir())  # TensorBoard event file
    ck = out / "last.safetensors"
    assert main(["eval", "--checkpoint", str(ck), "--env", ENV_ID, "--episodes", "10", "--videos", "1",
                 "--threads", "1", "--json", str(tmp_path / "eval.json")]) == 0
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["episodes"] == 10 and 0 <= result["ci95"][0] <= result["success_rate"] <= result["ci95"][1]
    assert len(result["videos"]) == 1
    assert result["success_rate"] >= 0.6, result  # the expert reaches every goal; an untrained policy ~never
    # resume continues from the checkpoint to a larger step count
    at = args.index("--steps") + 1
    assert main([*args[:at], "600", *args[at + 1:], "--resume"]) == 0
    assert json.loads((out / "last.json").read_text())["state"]["step"] == 600
