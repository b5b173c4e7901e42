"""Diffusion chunk policy: network pieces, samplers, shapes, determinism, and overfitting a tiny dataset."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from robot_rl.data.episodes import EpisodeData
from robot_rl.data.normalizer import Normalizer
from robot_rl.policies.diffusion import NoiseSchedule
from robot_rl.policies.ema import EMA
from robot_rl.policies.encoders import EncoderConfig, crop
from robot_rl.policies.policy import DiffusionChunkPolicy, PolicyConfig
from robot_rl.policies.unet1d import ConditionalUnet1D, Conv1d
from robot_rl.rl.config import TrainConfig
from robot_rl.rl.offline import Trainer

torch.set_num_threads(1)
TINY = PolicyConfig(horizon=8, n_action_steps=4, down_dims=(16, 32), step_embed_dim=16,
                    encoder=EncoderConfig(state_hidden=32, state_dim=16, image_channels=(8, 16),
                                          image_dim=16))


def tiny_data(n_eps: int = 3, t: int = 20, seed: int = 0) -> EpisodeData:
    """State (3,) random walk; action (2,) a smooth function of the state: easy to fit."""
    rng = np.random.default_rng(seed)
    state = np.cumsum(rng.normal(0, 0.1, (n_eps * t, 3)), 0).astype(np.float32)
    action = np.stack([np.sin(state[:, 0]), np.cos(state[:, 1] + state[:, 2])], -1).astype(np.float32)
    last = (np.arange(n_eps * t) % t) == t - 1  # sparse success at each episode's end
    arrays = {"state/x": state, "action": action, "reward": last.astype(np.float32), "terminal": last}
    return EpisodeData(arrays, np.arange(1, n_eps + 1) * t)


def make_policy(cfg=TINY, images=False) -> DiffusionChunkPolicy:
    torch.manual_seed(0)
    shapes = {"state/x": (3,), "action": (2,)}
    if images:
        shapes |= {"image/front": (24, 24, 3), "image/wrist": (24, 24, 3)}
    norm = Normalizer({"state/x": (-np.ones(3, np.float32), np.ones(3, np.float32)),
                       "action": (-np.ones(2, np.float32), np.ones(2, np.float32))})
    return DiffusionChunkPolicy(cfg, shapes, norm).eval()


def obs_batch(b: int, images=False, seed=0) -> dict:
    g = torch.Generator().manual_seed(seed)
    obs = {"state/x": torch.rand(b, 2, 3, generator=g)}
    if images:
        for cam in ("front", "wrist"):
            obs[f"image/{cam}"] = torch.randint(0, 256, (b, 2, 24, 24, 3), generator=g, dtype=torch.uint8)
    return obs


@pytest.mark.parametrize("k,stride", [(5, 1), (3, 2), (1, 1), (3, 1)])
def test_conv1d_matches_torch(k, stride):
    conv = Conv1d(6, 10, k, stride)
    x = torch.randn(4, 16, 6)  # channels-last
    ref = F.conv1d(x.transpose(1, 2), conv.weight.reshape(10, 6, k), conv.bias, stride, k // 2)
    ref = ref.transpose(1, 2)
    torch.testing.assert_close(conv(x), ref, rtol=1e-5, atol=1e-5)


def test_unet_shape_and_gradients():
    net = ConditionalUnet1D(2, 8, (16, 32, 64), step_embed_dim=16, blocks_per_level=2)
    x = torch.randn(3, 16, 2, requires_grad=True)
    out = net(x, torch.tensor([0, 5, 99]), torch.randn(3, 8))
    assert out.shape == (3, 16, 2)
    out.sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in net.parameters())


def test_samplers_recover_a_point_mass_with_the_exact_noise_predictor():
    """With data = one point x0 the optimal ε(x_t, t) is known in closed form: DDIM and DDPM must land on
    x0."""
    sched = NoiseSchedule(100)
    x0 = torch.tensor([[[0.3, -0.7]]]).expand(4, 5, 2)

    def eps(x, t):
        ab = sched.alpha_bar[t].reshape(-1, 1, 1)
        return (x - ab.sqrt() * x0) / (1 - ab).sqrt()

    noise = torch.randn(4, 5, 2, generator=torch.Generator().manual_seed(0))
    for steps in (1, 4, 16):
        torch.testing.assert_close(sched.ddim(eps, noise, steps), x0, atol=1e-4, rtol=0)
    ddpm = sched.ddpm(eps, noise, torch.Generator().manual_seed(1))
    torch.testing.assert_close(ddpm, x0, atol=1e-3, rtol=0)
    assert sched.timesteps(4) == [75, 50, 25, 0]


@pytest.mark.parametrize("images", [False, True])
def test_sample_shapes_and_determinism(images):
    policy = make_policy(images=images)
    obs = obs_batch(3, images)
    a = policy.sample(obs, 5, generator=torch.Generator().manual_seed(7))
    assert a.shape == (3, 5, 8, 2) and a.abs().max() <= 1
    b = policy.sample(obs, 5, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    noise = torch.randn(3, 5, 8, 2)
    torch.testing.assert_close(policy.sample(obs, 5, noise=noise), policy.sample(obs, 5, noise=noise),
                               rtol=0, atol=0)
    # the n chunks of one observation come from different noise: they differ
    assert not torch.allclose(a[:, 0], a[:, 1])
    assert policy.sample(obs, 2, steps=2).shape == (3, 2, 8, 2)
    assert policy.sample(obs, 1, sampler="ddpm").shape == (3, 1, 8, 2)
    with pytest.raises(ValueError, match="noise must have shape"):
        policy.sample(obs, 2, noise=torch.zeros(3, 1, 8, 2))
    act = policy.act(obs)
    assert act.shape == (3, 8, 2)


def test_image_crop_random_for_training_centre_for_inference():
    img = torch.arange(2 * 10 * 10 * 3, dtype=torch.uint8).reshape(2, 10, 10, 3)
    centre = crop(img, (8, 8), None, random=False)
    torch.testing.assert_close(centre, img[:, 1:9, 1:9])
    crops = {tuple(crop(img, (8, 8), torch.Generator().manual_seed(s), True)[0, 0, 0].tolist())
             for s in range(10)}
    assert len(crops) > 1


def test_ema_warmup_and_tracking():
    net = torch.nn.Linear(2, 2)
    ema = EMA(net, power=0.75, max_value=0.9999)
    assert ema.decay() == 0.0
    ema.update(net)
    torch.testing.assert_close(ema.model.weight, net.weight)  # first update copies
    decays = []
    for _ in range(50):
        decays.append(ema.decay())
        ema.update(net)
    assert all(a < b for a, b in zip(decays, decays[1:], strict=False)) and decays[-1] < 0.9999


def test_policy_overfits_a_tiny_dataset():
    cfg = TrainConfig(policy=TINY, steps=600, batch_size=32, lr=3e-3, warmup_steps=20, threads=1,
                      ema_power=0.9)
    trainer = Trainer.create(cfg, tiny_data())
    losses = [trainer.train_step()["loss"] for _ in range(cfg.steps)]
    first, last = np.mean(losses[:10]), np.mean(losses[-25:])
    assert first > 0.5 and last < 0.15, (first, last)
    # the trained EMA policy reproduces the data's action chunks far better than the untrained one
    batch = trainer.samplers["policy"].batch_at(np.arange(0, 60, 3))
    obs = {k: torch.from_numpy(v) for k, v in batch["obs"].items()}
    target = torch.from_numpy(batch["action"])
    err = (trainer.ema.model.act(obs, generator=torch.Generator().manual_seed(0)) - target).abs().mean()
    untrained = (make_policy().act(obs, generator=torch.Generator().manual_seed(0)) - target).abs().mean()
    assert err < 0.5 * untrained and err < 0.15, (err, untrained)
