"""Release 4's layout losses: the grounding loss (each object's words attend to that object's
pixels) and the position probe (each object's words say where it is drawn).

The diffusion loss alone left relations at chance for three releases: the UNet drew both objects
of "a red circle above a blue square" but let the noise decide which went on top, because the
denoising error barely depends on that choice. Here the UNet's cross-attention maps are
supervised directly, as in TokenCompose (Wang et al., CVPR 2024): for every caption token that
names an object (its colour, shape and size words), the attention that the latent pixels give to
that token, normalised over the pixels, should fall inside the object's mask. The renderer knows
every mask exactly (the dataset's `layout`). To satisfy it at high noise, where the image does
not yet say where the red object is, the queries of the upper pixels must prefer the tokens of
the subject of "above": the binding the diffusion loss did not teach.

The grounding loss alone did not bind the roles (a pilot run: the colour words grew *more* alike
in both roles, the easiest way to ground a colour); `position_probe_loss` below did.

Token groups: in a relation caption the subject's words come first (the grammar guarantees it),
so words up to the subject's shape word are group 0 (objects[0]) and the rest group 1
(objects[1]); in single and count captions every object word is group 0, the union of all copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from .bpe import MAX_LENGTH, ClipBpe, pre_tokenize

# Size words of the caption grammar (GRAMMAR.md); colours and shapes come from each scene's spec.
SIZE_WORDS = frozenset({"small", "little", "tiny", "big", "large", "huge"})
GROUPS = 2
IMAGE_SIZE = 64
MAX_OBJECTS = 3
NOT_GROUNDED = -1


@dataclass
class GroundingData:
    """Per-image arrays the loss needs, built once from the corpus."""

    token_groups: np.ndarray  # [N, 77] int8: group of each token, NOT_GROUNDED for the rest
    object_groups: np.ndarray  # [N, MAX_OBJECTS] int8: group of each drawn object, -1 when absent
    boxes: np.ndarray  # [N, MAX_OBJECTS, 4] float32: x0, y0, x1, y1 of each object's box (pixels)
    colours: np.ndarray  # [N, MAX_OBJECTS, 3] float32: palette RGB of each object
    backgrounds: np.ndarray  # [N, 3] float32
    centres: np.ndarray  # [N, GROUPS, 2] float32: mean centre (x, y) of each group's objects, in [-0.5, 0.5]


def object_words(spec: dict) -> list[set[str]]:
    """The words naming each group's object(s)."""
    objects = [spec["subject"], spec["reference"]] if spec["form"] == "relation" else [spec["object"]]
    return [{o["colour"], o["shape"], o["shape"] + "s"} | SIZE_WORDS for o in objects]


def token_groups(caption: str, spec: dict, tokenizer: ClipBpe) -> list[int]:
    """Group of every position of `tokenizer.encode_padded(caption)` (bos first, eos padding)."""
    words_of = object_words(spec)
    # The subject's shape word closes group 0 of a relation caption.
    closing = spec["subject"]["shape"] if spec["form"] == "relation" else None
    groups = [NOT_GROUNDED]  # bos
    group = 0
    for word in pre_tokenize(caption):
        named = group < len(words_of) and word in words_of[group]
        groups += [group if named else NOT_GROUNDED] * len(tokenizer.bpe(word))
        if named and word == closing:
            group += 1
    groups = groups[: MAX_LENGTH - 1]
    return groups + [NOT_GROUNDED] * (MAX_LENGTH - len(groups))


def build(rows: list[dict], tokenizer: ClipBpe) -> GroundingData:
    """Token groups and object geometry of every corpus row (`caption`, `spec`, `layout`)."""
    n = len(rows)
    data = GroundingData(
        token_groups=np.full((n, MAX_LENGTH), NOT_GROUNDED, dtype=np.int8),
        object_groups=np.full((n, MAX_OBJECTS), -1, dtype=np.int8),
        boxes=np.zeros((n, MAX_OBJECTS, 4), dtype=np.float32),
        colours=np.zeros((n, MAX_OBJECTS, 3), dtype=np.float32),
        backgrounds=np.zeros((n, 3), dtype=np.float32),
        centres=np.zeros((n, GROUPS, 2), dtype=np.float32),
    )
    for i, row in enumerate(rows):
        if "layout" not in row:
            raise ValueError(f"corpus row {i} ({row['caption']!r}) has no layout: the grounding loss needs a corpus written by the current dataset CLI")
        spec, layout = row["spec"], row["layout"]
        data.token_groups[i] = token_groups(row["caption"], spec, tokenizer)
        data.backgrounds[i] = layout["background"]
        for k, o in enumerate(layout["objects"]):
            half = o["extent"] / 2
            data.boxes[i, k] = (o["cx"] - half, o["cy"] - half, o["cx"] + half, o["cy"] + half)
            data.colours[i, k] = o["rgb"]
            data.object_groups[i, k] = k if spec["form"] == "relation" else 0
        for group in range(GROUPS):
            members = [o for k, o in enumerate(layout["objects"]) if data.object_groups[i, k] == group]
            if members:
                data.centres[i, group] = (np.mean([o["cx"] for o in members]) / IMAGE_SIZE - 0.5, np.mean([o["cy"] for o in members]) / IMAGE_SIZE - 0.5)
    return data


def group_masks(images: torch.Tensor, data: GroundingData, idx: np.ndarray) -> torch.Tensor:
    """[B, GROUPS, 64, 64] coverage of each group's objects, from the pixels inside their boxes.

    A rendered pixel is background + coverage * (colour - background) (anti-aliased edges), so
    projecting it on (colour - background) recovers the coverage exactly; boxes never overlap.
    `images` are uint8 [B, 64, 64, 3].
    """
    img = images.float()
    size = img.shape[1]
    bg = torch.from_numpy(data.backgrounds[idx]).to(img)[:, None, None, None, :]  # [B,1,1,1,3]
    rgb = torch.from_numpy(data.colours[idx]).to(img)[:, :, None, None, :]  # [B,K,1,1,3]
    direction = rgb - bg
    coverage = ((img[:, None] - bg) * direction).sum(-1) / direction.pow(2).sum(-1).clamp(min=1.0)
    coords = torch.arange(size, device=img.device, dtype=img.dtype) + 0.5
    boxes = torch.from_numpy(data.boxes[idx]).to(img)
    inside_x = (coords[None, None, :] >= boxes[..., 0:1] - 1) & (coords[None, None, :] <= boxes[..., 2:3] + 1)
    inside_y = (coords[None, None, :] >= boxes[..., 1:2] - 1) & (coords[None, None, :] <= boxes[..., 3:4] + 1)
    inside = inside_y[..., :, None] & inside_x[..., None, :]  # [B,K,64,64]
    masks = coverage.clamp(0, 1) * inside
    groups = torch.from_numpy(data.object_groups[idx]).to(img.device).long()  # [B,K]
    onehot = F.one_hot(groups.clamp(min=0), GROUPS).to(img) * (groups >= 0)[..., None]  # [B,K,G]
    return torch.einsum("bkhw,bkg->bghw", masks, onehot).clamp(max=1)


class AttentionRecorder:
    """Records the cross-attention probabilities of a diffusers UNet's `attn2` layers.

    A forward hook sees each layer's inputs and recomputes softmax(QK^T / sqrt(d)) with the
    layer's own projections, so gradients reach them exactly as through the forward pass, while
    the forward itself keeps diffusers' processor (what is exported).
    """

    def __init__(self, unet: torch.nn.Module, min_resolution: int = 8):
        self.maps: list[torch.Tensor] = []
        self.active = False
        for name, module in unet.named_modules():
            if name.endswith("attn2"):
                module.register_forward_hook(self._hook, with_kwargs=True)
        self.min_tokens = min_resolution * min_resolution

    def _hook(self, attn, args, kwargs, output) -> None:
        if not self.active:
            return
        hidden = args[0] if args else kwargs["hidden_states"]
        context = kwargs.get("encoder_hidden_states")
        if context is None or hidden.shape[1] < self.min_tokens:
            return
        b, n, _ = hidden.shape
        q = attn.to_q(hidden).view(b, n, attn.heads, -1).transpose(1, 2)
        k = attn.to_k(context).view(b, context.shape[1], attn.heads, -1).transpose(1, 2)
        probs = torch.softmax(q @ k.transpose(-1, -2) * attn.scale, dim=-1)
        self.maps.append(probs.mean(1))  # [B, HW, 77], heads averaged

    def take(self) -> list[torch.Tensor]:
        maps, self.maps = self.maps, []
        return maps


def grounding_loss(maps: list[torch.Tensor], masks: torch.Tensor, token_groups: torch.Tensor) -> torch.Tensor:
    """Mean over layers and grounded tokens of (1 - share of the token's attention inside its mask)^2.

    `masks` [B, GROUPS, 64, 64] coverage; a latent cell counts as the object's when any of its
    pixels is at least half covered. `token_groups` [B, 77], NOT_GROUNDED where not applicable
    (also every token of a dropped caption).
    """
    grounded = token_groups >= 0
    if not grounded.any():
        return masks.new_zeros(())
    onehot = F.one_hot(token_groups.clamp(min=0).long(), GROUPS).to(masks) * grounded[..., None]  # [B,77,G]
    total = masks.new_zeros(())
    for probs in maps:
        side = int(round(probs.shape[1] ** 0.5))
        cells = F.adaptive_max_pool2d((masks >= 0.5).to(masks), side).flatten(2)  # [B,G,HW]
        spread = probs / probs.sum(1, keepdim=True).clamp(min=1e-12)  # over pixels, per token
        inside = torch.einsum("bpj,bgp->bjg", spread, cells)  # [B,77,G]
        share = (inside * onehot).sum(-1)
        total = total + ((1 - share).pow(2) * grounded).sum() / grounded.sum()
    return total / max(1, len(maps))


def position_probe_loss(probe: torch.nn.Module, states: torch.Tensor, token_groups: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Mean squared error of a linear read-out of where each grounded token's object is drawn.

    The UNet cannot place "the subject of above" on top unless the subject's token states say so;
    with CLIP's objective or the diffusion loss alone they hardly did (the states of "red" as
    subject and as reference had cosine 0.98-0.996). Asking a linear probe to recover the object's
    centre from each of its tokens makes the encoder write the expected place into them, in a
    form the UNet's cross-attention keys (also linear) can read. `centres` [B, GROUPS, 2].
    """
    grounded = token_groups >= 0
    if not grounded.any():
        return states.new_zeros(())
    target = torch.gather(centres, 1, token_groups.clamp(min=0).long()[..., None].expand(-1, -1, 2))  # [B,77,2]
    error = (probe(states) - target).pow(2).sum(-1)
    return (error * grounded).sum() / grounded.sum()


class LayoutLosses:
    """The grounding loss and the position probe of one UNet stage, with their weights.

    Call `arm()` right before the UNet's forward pass (the recorder keeps that pass's attention),
    then `__call__` for the weighted sum and what to log. The probe (None without its weight)
    trains with the text encoder and is checkpointed, never exported.
    """

    def __init__(self, unet: torch.nn.Module, data: GroundingData, width: int, grounding_weight: float, probe_weight: float):
        self.data = data
        self.grounding_weight, self.probe_weight = grounding_weight, probe_weight
        self.recorder = AttentionRecorder(unet) if grounding_weight > 0 else None
        self.probe = torch.nn.Linear(width, 2) if probe_weight > 0 else None

    def arm(self) -> None:
        if self.recorder is not None:
            self.recorder.active = True

    def __call__(self, idx: np.ndarray, dropped: torch.Tensor, images: torch.Tensor, states: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """`idx` corpus rows of the batch, `dropped` [B] captions replaced by the empty prompt,
        `images` [B, 64, 64, 3] uint8, `states` the text encoder's output for the batch."""
        groups = torch.from_numpy(self.data.token_groups[idx]).to(states.device)
        groups = torch.where(dropped[:, None], NOT_GROUNDED, groups)
        total, logged = states.new_zeros(()), {}
        if self.recorder is not None:
            self.recorder.active = False
            ground = grounding_loss(self.recorder.take(), group_masks(images, self.data, idx), groups)
            total = total + self.grounding_weight * ground
            logged["grounding"] = ground.item()
        if self.probe is not None:
            centres = torch.from_numpy(self.data.centres[idx]).to(states.device)
            placed = position_probe_loss(self.probe, states, groups, centres)
            total = total + self.probe_weight * placed
            logged["position_probe"] = placed.item()
        return total, logged
