"""The grounding loss: which tokens name which object, the object masks, the recorded attention."""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from easel_train import bpe, grounding  # noqa: E402
from easel_train.models import build_unet  # noqa: E402

MODEL = Path(__file__).resolve().parents[2] / "artifacts/model"
RED, BLUE, BACKGROUND = (212, 30, 40), (30, 88, 226), (242, 240, 232)


def relation(subject: tuple[str, str], word: str, reference: tuple[str, str]) -> dict:
    return {
        "form": "relation",
        "subject": {"colour": subject[0], "shape": subject[1]},
        "relation": word,
        "reference": {"colour": reference[0], "shape": reference[1]},
    }


def grounded_words(tok: bpe.ClipBpe, caption: str, spec: dict) -> dict[int, list[str]]:
    """Group -> the words (decoded tokens) assigned to it."""
    inverse = {i: t for t, i in tok.vocab.items()}
    ids = tok.encode_padded(caption)
    out: dict[int, list[str]] = {}
    for token, group in zip(ids, grounding.token_groups(caption, spec, tok)):
        if group != grounding.NOT_GROUNDED:
            out.setdefault(group, []).append(inverse[token].removesuffix("</w>"))
    return out


class TokenGroups(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tok = bpe.ClipBpe.load(MODEL / "tokenizer")

    def test_a_relation_grounds_the_subject_words_first_and_the_reference_words_second(self) -> None:
        spec = relation(("red", "circle"), "above", ("blue", "square"))
        self.assertEqual(grounded_words(self.tok, "the red circle is above a blue square", spec), {0: ["red", "circle"], 1: ["blue", "square"]})

    def test_two_objects_of_the_same_colour_are_told_apart_by_word_order(self) -> None:
        spec = relation(("red", "star"), "below", ("red", "circle"))
        self.assertEqual(grounded_words(self.tok, "a red star beneath a red circle", spec), {0: ["red", "star"], 1: ["red", "circle"]})

    def test_count_and_single_captions_ground_size_colour_and_shape_to_one_group(self) -> None:
        count = {"form": "count", "object": {"colour": "blue", "shape": "star", "size": "big"}, "count": 3}
        self.assertEqual(grounded_words(self.tok, "there are 3 large blue stars", count), {0: ["large", "blue", "stars"]})
        single = {"form": "single", "object": {"colour": "red", "shape": "circle"}, "position": "top"}
        self.assertEqual(grounded_words(self.tok, "red circle, top", single), {0: ["red", "circle"]})

    def test_groups_line_up_with_the_padded_ids(self) -> None:
        spec = relation(("red", "circle"), "left of", ("blue", "square"))
        caption = "a red circle to the left of a blue square"
        groups = grounding.token_groups(caption, spec, self.tok)
        self.assertEqual(len(groups), bpe.MAX_LENGTH)
        self.assertEqual(groups[0], grounding.NOT_GROUNDED)  # bos
        ids = self.tok.encode_padded(caption)
        self.assertTrue(all(g == grounding.NOT_GROUNDED for g, i in zip(groups, ids) if i == self.tok.eos_id))


def scene(objects: list[tuple[tuple[int, int, int], float, float, float]]) -> tuple[np.ndarray, dict]:
    """A 64x64 image of flat squares (colour, cx, cy, extent) with a half-covered edge column, and its row."""
    img = np.empty((64, 64, 3), dtype=np.float64)
    img[:] = BACKGROUND
    for colour, cx, cy, extent in objects:
        x0, x1 = int(cx - extent / 2), int(cx + extent / 2)
        y0, y1 = int(cy - extent / 2), int(cy + extent / 2)
        img[y0:y1, x0:x1] = colour
        img[y0:y1, x1] = np.add(BACKGROUND, np.subtract(colour, BACKGROUND) * 0.5)  # anti-aliased edge
    spec = relation(("red", "square"), "above", ("blue", "square"))
    layout = {
        "background": list(BACKGROUND),
        "objects": [{"extent": e, "cx": cx, "cy": cy, "rgb": list(c)} for c, cx, cy, e in objects],
    }
    return img.round().astype(np.uint8), {"caption": "a red square above a blue square", "spec": spec, "layout": layout}


class GroupMasks(unittest.TestCase):
    def test_masks_recover_each_objects_coverage_inside_its_box(self) -> None:
        img, row = scene([(RED, 20, 14, 12), (BLUE, 40, 44, 16)])
        tok = bpe.ClipBpe.load(MODEL / "tokenizer")
        data = grounding.build([row], tok)
        masks = grounding.group_masks(torch.from_numpy(img[None]), data, np.array([0]))[0]
        self.assertEqual(tuple(masks.shape), (2, 64, 64))
        self.assertEqual(masks[0, 8:20, 14:26].min().item(), 1.0)  # the red square, fully
        self.assertAlmostEqual(masks[0, 10, 26].item(), 0.5, delta=0.01)  # its half-covered edge
        self.assertEqual(masks[0, 36:52, 32:48].max().item(), 0.0)  # none of the blue square
        self.assertEqual(masks[1, 36:52, 32:48].min().item(), 1.0)
        self.assertAlmostEqual(masks.sum().item(), 144 + 256 + 0.5 * 12 + 0.5 * 16, delta=0.2)

    def test_each_group_has_the_mean_centre_of_its_objects(self) -> None:
        _, row = scene([(RED, 20, 14, 12), (BLUE, 40, 44, 16)])
        count = {
            "caption": "two red squares",
            "spec": {"form": "count", "object": {"colour": "red", "shape": "square"}, "count": 2},
            "layout": {**row["layout"], "objects": [{**o, "rgb": list(RED)} for o in row["layout"]["objects"]]},
        }
        data = grounding.build([row, count], bpe.ClipBpe.load(MODEL / "tokenizer"))
        np.testing.assert_allclose(data.centres[0], [[20 / 64 - 0.5, 14 / 64 - 0.5], [40 / 64 - 0.5, 44 / 64 - 0.5]])
        np.testing.assert_allclose(data.centres[1, 0], [30 / 64 - 0.5, 29 / 64 - 0.5])

    def test_a_corpus_without_layouts_is_refused_by_name(self) -> None:
        tok = bpe.ClipBpe.load(MODEL / "tokenizer")
        with self.assertRaisesRegex(ValueError, "has no layout"):
            grounding.build([{"caption": "a red circle", "spec": {"form": "single", "object": {"colour": "red", "shape": "circle"}}}], tok)


class Loss(unittest.TestCase):
    def test_zero_when_every_grounded_token_attends_inside_its_mask_and_larger_when_outside(self) -> None:
        masks = torch.zeros(1, 2, 64, 64)
        masks[0, 0, :16, :16] = 1  # group 0: top-left 16x16 pixels = latent cells (0..3, 0..3)
        masks[0, 1, 48:, 48:] = 1
        groups = torch.full((1, 77), grounding.NOT_GROUNDED)
        groups[0, 2], groups[0, 5] = 0, 1
        probs = torch.full((1, 256, 77), 1 / 77)
        cell = torch.arange(256).view(16, 16)
        inside_0, inside_1 = cell[:4, :4].flatten(), cell[12:, 12:].flatten()
        right = probs.clone()
        right[0, :, 2], right[0, :, 5] = 0, 0
        right[0, inside_0, 2], right[0, inside_1, 5] = 0.5, 0.5
        swapped = probs.clone()
        swapped[0, :, 2], swapped[0, :, 5] = 0, 0
        swapped[0, inside_1, 2], swapped[0, inside_0, 5] = 0.5, 0.5
        self.assertAlmostEqual(grounding.grounding_loss([right], masks, groups).item(), 0.0, places=6)
        self.assertAlmostEqual(grounding.grounding_loss([swapped], masks, groups).item(), 1.0, places=6)
        uniform = grounding.grounding_loss([probs], masks, groups).item()
        self.assertAlmostEqual(uniform, (1 - 16 / 256) ** 2, places=5)

    def test_no_grounded_token_gives_zero(self) -> None:
        groups = torch.full((2, 77), grounding.NOT_GROUNDED)
        loss = grounding.grounding_loss([torch.rand(2, 64, 77)], torch.ones(2, 2, 64, 64), groups)
        self.assertEqual(loss.item(), 0.0)


class PositionProbe(unittest.TestCase):
    def test_scores_the_read_out_of_each_grounded_token_against_its_groups_centre(self) -> None:
        groups = torch.full((1, 77), grounding.NOT_GROUNDED)
        groups[0, 2], groups[0, 3], groups[0, 6] = 0, 0, 1
        centres = torch.tensor([[[-0.25, -0.3], [0.2, 0.35]]])
        states = torch.zeros(1, 77, 2)
        states[0, 2] = states[0, 3] = centres[0, 0]
        states[0, 6] = centres[0, 1]
        states[0, 9] = torch.tensor([5.0, 5.0])  # not grounded: ignored
        identity = torch.nn.Identity()
        self.assertAlmostEqual(grounding.position_probe_loss(identity, states, groups, centres).item(), 0.0, places=7)
        swapped = grounding.position_probe_loss(identity, states, torch.where(groups >= 0, 1 - groups, groups), centres).item()
        self.assertAlmostEqual(swapped, (0.45**2 + 0.65**2), places=5)  # every token is off by the gap between the centres


class Recorder(unittest.TestCase):
    def test_recorded_maps_are_the_attention_the_forward_pass_used(self) -> None:
        torch.manual_seed(0)
        cfg = {
            "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
            "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
            "block_out_channels": [16, 16, 16],
            "layers_per_block": 1,
            "norm_num_groups": 8,
            "attention_heads": [2, 2, 2],
        }
        unet = build_unet(cfg, 32, 4).eval()
        recorder = grounding.AttentionRecorder(unet)
        attn = dict(unet.named_modules())["down_blocks.0.attentions.0.transformer_blocks.0.attn2"]
        seen = {}
        attn.register_forward_hook(lambda m, args, kwargs, out: seen.update(inputs=(args[0], kwargs["encoder_hidden_states"]), output=out), with_kwargs=True)
        states = torch.randn(2, 77, 32)
        recorder.active = True
        with torch.no_grad():
            unet(torch.randn(2, 4, 16, 16), torch.tensor([10, 900]), states)
        maps = recorder.take()
        # Cross-attention at 16x16 and 8x8 (down 0, down 1, up 1 twice, up 2 twice); the 4x4 mid block is left out.
        self.assertEqual([m.shape[1] for m in maps], [256, 64, 64, 64, 256, 256])
        torch.testing.assert_close(maps[0].sum(-1), torch.ones(2, 256))
        # Rebuilding the layer's output from the recorded heads reproduces diffusers' forward.
        hidden, context = seen["inputs"]
        b, n, _ = hidden.shape
        with torch.no_grad():
            q = attn.to_q(hidden).view(b, n, attn.heads, -1).transpose(1, 2)
            k = attn.to_k(context).view(b, 77, attn.heads, -1).transpose(1, 2)
            v = attn.to_v(context).view(b, 77, attn.heads, -1).transpose(1, 2)
            heads = torch.softmax(q @ k.transpose(-1, -2) * attn.scale, -1)
            rebuilt = attn.to_out[0]((heads @ v).transpose(1, 2).reshape(b, n, -1))
        torch.testing.assert_close(rebuilt, seen["output"], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(heads.mean(1), maps[0])
        self.assertEqual(recorder.take(), [])

    def test_nothing_is_recorded_while_inactive(self) -> None:
        unet = build_unet(
            {
                "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
                "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
                "block_out_channels": [8, 8],
                "layers_per_block": 1,
                "norm_num_groups": 8,
                "attention_heads": [2, 2],
            },
            16,
            4,
        )
        recorder = grounding.AttentionRecorder(unet)
        with torch.no_grad():
            unet(torch.randn(1, 4, 16, 16), torch.tensor([5]), torch.randn(1, 77, 16))
        self.assertEqual(recorder.take(), [])


if __name__ == "__main__":
    unittest.main()
