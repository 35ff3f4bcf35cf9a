"""The bidirectional text encoder: same parameters as CLIP's, sees the whole caption, ignores padding."""

from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

from easel_train.export import export_text_encoder  # noqa: E402
from easel_train.models import build_text_encoder  # noqa: E402

SIZE = {"width": 32, "layers": 2, "heads": 2}
VOCAB, BOS, EOS = 50, 48, 49


def caption(*tokens: int, length: int = 12) -> torch.Tensor:
    ids = [BOS, *tokens, EOS]
    return torch.tensor([ids + [EOS] * (length - len(ids))])


def states(model, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids).last_hidden_state


class BidirectionalTextEncoder(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        torch.manual_seed(0)
        cls.causal = build_text_encoder(SIZE, VOCAB, BOS, EOS).eval()
        cls.both = build_text_encoder({**SIZE, "bidirectional": True}, VOCAB, BOS, EOS).eval()
        # A causal checkpoint (release 2) must load as is: same parameter names and shapes.
        cls.both.load_state_dict(cls.causal.state_dict(), strict=True)

    def test_a_token_sees_the_words_after_it(self) -> None:
        # "red circle above" vs "red circle below": only the third word differs.
        above, below = caption(5, 6, 7), caption(5, 6, 8)
        causal_gap = (states(self.causal, above)[0, 1] - states(self.causal, below)[0, 1]).abs().max()
        both_gap = (states(self.both, above)[0, 1] - states(self.both, below)[0, 1]).abs().max()
        self.assertEqual(causal_gap.item(), 0.0)
        self.assertGreater(both_gap.item(), 1e-3)

    def test_states_up_to_the_first_eos_ignore_the_padding(self) -> None:
        short, long = caption(5, 6, 7, length=6), caption(5, 6, 7, length=20)
        odd_padding = long.clone()
        odd_padding[0, 6:] = 3  # what follows the first eos is not looked at
        reference = states(self.both, long)[0, :5]
        torch.testing.assert_close(states(self.both, short)[0, :5], reference, rtol=0, atol=1e-5)
        torch.testing.assert_close(states(self.both, odd_padding)[0, :5], reference, rtol=0, atol=1e-5)

    def test_pooled_output_is_the_first_eos_state(self) -> None:
        ids = caption(5, 6)
        with torch.no_grad():
            out = self.both(input_ids=ids)
        torch.testing.assert_close(out.pooler_output[0], out.last_hidden_state[0, 3])

    def test_onnx_export_matches_pytorch(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.onnx"
            export_text_encoder(self.both, path, length=12)
            ids = torch.cat([caption(5, 6, 7, length=16), caption(9, length=16)])
            got = ort.InferenceSession(str(path)).run(None, {"input_ids": ids.numpy().astype(np.int32)})[0]
        np.testing.assert_allclose(got, states(self.both, ids).numpy(), rtol=0, atol=1e-5)
        self.assertEqual(self.both.config.to_dict()["easel_attention"], "bidirectional")


if __name__ == "__main__":
    unittest.main()
