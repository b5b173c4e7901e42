"""Loading a CLIP/SigLIP-style model (transformers) from a local directory, and embedding frames and text.

Weights are never downloaded: the directory must hold what `save_pretrained` writes (config.json,
weights, tokenizer files; preprocessor_config.json for mean/std). Fetch one once elsewhere, e.g.
`hf download openai/clip-vit-base-patch32 --local-dir models/clip`. Preprocessing is done here with torch
(resize to the vision tower's size, normalise), so no image-processor backend (torchvision) is needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def check_model_dir(model_dir: str | Path) -> Path:
    path = Path(model_dir).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"VLM weights directory {path} does not exist; download the model once into "
                                f"a local directory (e.g. `hf download openai/clip-vit-base-patch32 "
                                f"--local-dir {path}`)")
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} holds no config.json: not a transformers model directory "
                                "(expected the output of save_pretrained / `hf download --local-dir`)")
    return path.resolve()


class VlmEncoder:
    """A frozen CLIP/SigLIP-style model: `images(frames)` and `texts(prompts)` → L2-normalised embeddings."""

    def __init__(self, model_dir: str | Path, batch: int = 32) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.path = check_model_dir(model_dir)
        self.model = AutoModel.from_pretrained(self.path, local_files_only=True).eval()
        if not (hasattr(self.model, "get_image_features") and hasattr(self.model, "get_text_features")):
            raise ValueError(f"{self.path} holds a {type(self.model).__name__}, not a CLIP/SigLIP-style "
                             "model with image and text towers")
        self._tokenizer = None
        self._tokenizer_cls = AutoTokenizer
        self.batch = batch
        self.size = int(self.model.config.vision_config.image_size)
        mean, std = _mean_std(self.path)
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)
        scale = getattr(self.model, "logit_scale", None)
        self.logit_scale = float(scale.detach().exp()) if scale is not None else 100.0

    @torch.no_grad()
    def images(self, frames: np.ndarray) -> torch.Tensor:
        """(N, H, W, 3) uint8 RGB, any size → (N, D) unit vectors."""
        out = []
        for a in range(0, len(frames), self.batch):
            x = torch.from_numpy(np.ascontiguousarray(frames[a:a + self.batch])).permute(0, 3, 1, 2)
            x = torch.nn.functional.interpolate(x.float() / 255, size=(self.size, self.size), mode="bilinear",
                                                antialias=True, align_corners=False)
            out.append(_features(self.model.get_image_features(pixel_values=(x - self.mean) / self.std)))
        return torch.nn.functional.normalize(torch.cat(out), dim=-1)

    @torch.no_grad()
    def texts(self, prompts: Sequence[str]) -> torch.Tensor:
        """Prompts → (P, D) unit vectors."""
        if self._tokenizer is None:
            self._tokenizer = self._tokenizer_cls.from_pretrained(self.path, local_files_only=True)
        tok = self._tokenizer(list(prompts), padding="max_length" if "siglip" in self.model.config.model_type
                              else True, truncation=True, return_tensors="pt")
        feats = _features(self.model.get_text_features(input_ids=tok["input_ids"],
                                                       **({"attention_mask": tok["attention_mask"]}
                                                          if "attention_mask" in tok else {})))
        return torch.nn.functional.normalize(feats, dim=-1)


def _features(out) -> torch.Tensor:
    """transformers 4 returns the projected features, 5 a model output holding them as pooler_output."""
    return out if torch.is_tensor(out) else out.pooler_output


def _mean_std(path: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    pre = path / "preprocessor_config.json"
    if pre.is_file():
        cfg = json.loads(pre.read_text())
        if "image_mean" in cfg and "image_std" in cfg:
            return tuple(cfg["image_mean"]), tuple(cfg["image_std"])
    return CLIP_MEAN, CLIP_STD
