"""Model builders for Easel Shapes.

The text encoder, VAE and UNet are the diffusers/transformers classes Stable Diffusion uses, at
tiny sizes, so the exported folder is an ordinary SD folder. The image encoder (for contrastive
pre-training and the perceptual loss) and the PatchGAN discriminator are small local modules.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def build_text_encoder(cfg: dict, vocab_size: int, bos_id: int, eos_id: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=cfg["width"],
        intermediate_size=cfg["width"] * 4,
        num_hidden_layers=cfg["layers"],
        num_attention_heads=cfg["heads"],
        max_position_embeddings=77,
        hidden_act="quick_gelu",
        projection_dim=cfg["width"],
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
    )
    config._attn_implementation = "eager"
    if not cfg.get("bidirectional", False):
        return CLIPTextModel(config)
    # Recorded in text_encoder/config.json so the folder says how its graph attends.
    config.easel_attention = "bidirectional"
    return _bidirectional_text_model()(config)


def _bidirectional_text_model():
    """CLIPTextModel whose tokens attend both ways, up to and including the first eos.

    CLIP's causal mask leaves the subject of "a red circle above a blue square" blind to the
    relation that follows it, and a causal encoder trained with the UNet drew relations at chance
    (release 2). Letting every token see the whole caption, as T5-style encoders do, puts the
    role on each object's own tokens. Keys after the first eos (the padding) are masked, so the
    states up to the eos do not depend on how far a caption is padded, and sequences may be cut
    just after the longest caption, as with the causal mask. Same parameters and module paths as
    CLIPTextModel, so checkpoints and released folders load into either.
    """
    from transformers import CLIPTextModel
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    class BidirectionalCLIPTextModel(CLIPTextModel):
        def forward(self, input_ids: torch.Tensor, **_: object) -> BaseModelOutputWithPooling:
            hidden = self.embeddings(input_ids=input_ids)
            first_eos = (input_ids == self.eos_token_id).int().argmax(-1)
            positions = torch.arange(input_ids.shape[1], device=input_ids.device)
            visible = positions[None, :] <= first_eos[:, None]
            mask = torch.zeros(visible.shape, dtype=hidden.dtype, device=hidden.device)
            mask = mask.masked_fill(~visible, torch.finfo(hidden.dtype).min)[:, None, None, :]
            states = self.final_layer_norm(self.encoder(inputs_embeds=hidden, attention_mask=mask).last_hidden_state)
            pooled = states[torch.arange(states.shape[0], device=states.device), first_eos]
            return BaseModelOutputWithPooling(last_hidden_state=states, pooler_output=pooled)

    return BidirectionalCLIPTextModel


def build_vae(cfg: dict):
    from diffusers import AutoencoderKL

    channels = tuple(cfg["block_out_channels"])
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * len(channels),
        up_block_types=("UpDecoderBlock2D",) * len(channels),
        block_out_channels=channels,
        layers_per_block=cfg["layers_per_block"],
        latent_channels=cfg["latent_channels"],
        norm_num_groups=cfg["norm_num_groups"],
        sample_size=64,
        mid_block_add_attention=cfg.get("mid_block_attention", True),
    )


def build_unet(cfg: dict, cross_attention_dim: int, latent_channels: int):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=16,
        in_channels=latent_channels,
        out_channels=latent_channels,
        down_block_types=tuple(cfg["down_block_types"]),
        up_block_types=tuple(cfg["up_block_types"]),
        mid_block_type="UNetMidBlock2DCrossAttn",
        block_out_channels=tuple(cfg["block_out_channels"]),
        layers_per_block=cfg["layers_per_block"],
        norm_num_groups=cfg["norm_num_groups"],
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=tuple(cfg["attention_heads"]),
    )


class ImageEncoder(nn.Module):
    """Small CNN image tower: multi-scale features (perceptual loss) and a pooled embedding (CLIP)."""

    def __init__(self, channels: list[int], embed_dim: int):
        super().__init__()
        self.stem = nn.Conv2d(3, channels[0], 3, padding=1)
        stages = []
        prev = channels[0]
        # Every stage halves the resolution (64 -> 4 with four stages): a CPU-sized tower.
        for ch in channels:
            stride = 2
            stages.append(
                nn.Sequential(
                    nn.Conv2d(prev, ch, 3, stride=stride, padding=1),
                    nn.GroupNorm(min(8, ch), ch),
                    nn.SiLU(),
                    nn.Conv2d(ch, ch, 3, padding=1),
                    nn.GroupNorm(min(8, ch), ch),
                    nn.SiLU(),
                )
            )
            prev = ch
        self.stages = nn.ModuleList(stages)
        # Position matters in captions ("above", "left of"), so keep a coarse spatial map
        # instead of a plain global average.
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(prev * 16, embed_dim * 2), nn.SiLU(), nn.Linear(embed_dim * 2, embed_dim, bias=False))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = F.silu(self.stem(x))
        feats = []
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        return feats

    def embed_from_features(self, feats: list[torch.Tensor]) -> torch.Tensor:
        return self.head(F.adaptive_avg_pool2d(feats[-1], 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed_from_features(self.features(x))


class ClipPair(nn.Module):
    """Text encoder + image encoder + projections + learned temperature (CLIP's logit_scale)."""

    def __init__(self, text_encoder: nn.Module, image_encoder: ImageEncoder, width: int, embed_dim: int):
        super().__init__()
        self.text_encoder = text_encoder
        self.image_encoder = image_encoder
        self.text_proj = nn.Linear(width, embed_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, images: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        img = F.normalize(self.image_encoder(images), dim=-1)
        pooled = self.text_encoder(input_ids=ids).pooler_output
        txt = F.normalize(self.text_proj(pooled), dim=-1)
        return img, txt


def perceptual_distance(encoder: ImageEncoder, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """LPIPS-style distance without learned weights: unit-normalised features, mean squared gap per scale."""
    fa = encoder.features(a)
    with torch.no_grad():
        fb = encoder.features(b)
    total = a.new_zeros(())
    for x, y in zip(fa, fb):
        x = x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-6)
        y = y / (y.pow(2).sum(1, keepdim=True).sqrt() + 1e-6)
        total = total + (x - y).pow(2).sum(1).mean()
    return total


class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix/VQGAN style): a grid of real/fake logits, one per receptive-field patch."""

    def __init__(self, base: int = 32, layers: int = 3):
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(3, base, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch = base
        for i in range(1, layers):
            nxt = min(base * 2**i, base * 8)
            mods += [nn.Conv2d(ch, nxt, 4, 2, 1), nn.GroupNorm(8, nxt), nn.LeakyReLU(0.2)]
            ch = nxt
        mods += [nn.Conv2d(ch, ch, 3, 1, 1), nn.GroupNorm(8, ch), nn.LeakyReLU(0.2), nn.Conv2d(ch, 1, 3, 1, 1)]
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def features(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """(the activations after every LeakyReLU, the logits): for a feature-matching loss."""
        feats = []
        for layer in self.net:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                feats.append(x)
        return feats, x


def image_gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal and vertical finite differences of an image batch [B, C, H, W]."""
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
