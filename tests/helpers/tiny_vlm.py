"""Tiny CLIP / SigLIP models built from configs and saved with save_pretrained (no downloads), with a
word-level tokenizer written next to them: the directory layout users get from `hf download`."""

from __future__ import annotations

from pathlib import Path

WORDS = ("[PAD] [UNK] [EOS] a robot arm next to objects on table the red cube lifted show block pick up and "
         "it above yes no").split()


def make_tiny_vlm(path: Path, kind: str = "clip") -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPConfig, CLIPModel, PreTrainedTokenizerFast, SiglipConfig, SiglipModel

    torch.manual_seed(0)
    vocab = {w: i for i, w in enumerate(dict.fromkeys(WORDS))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                   eos_token="[EOS]", model_max_length=16)
    ids = {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
    text = dict(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                intermediate_size=32, max_position_embeddings=16, **ids)
    vision = dict(image_size=16, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=32)
    if kind == "clip":
        model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=8))
    else:
        model = SiglipModel(SiglipConfig(text_config=text, vision_config=vision))
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path
