"""A warm start must read back exactly the weights the exporter wrote, anonymous constants included."""

from __future__ import annotations

import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from easel_train import bpe  # noqa: E402
from easel_train.export import export_model  # noqa: E402
from easel_train.models import build_text_encoder, build_unet, build_vae  # noqa: E402
from easel_train.warm_start import load_release  # noqa: E402

SMOKE = json.loads((Path(__file__).resolve().parents[1] / "configs/smoke.json").read_text())


def tiny_models(seed: int, vocab: int, bos: int, eos: int):
    torch.manual_seed(seed)
    text = build_text_encoder(SMOKE["text_encoder"], vocab, bos, eos)
    unet = build_unet(SMOKE["unet"], SMOKE["text_encoder"]["width"], SMOKE["vae"]["latent_channels"])
    vae = build_vae(SMOKE["vae"])
    # Fresh norms are all ones/zeros, which would hide a Mul/Add mix-up: randomise everything.
    for module in (text, unet, vae):
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(torch.randn_like(p) * 0.1)
    return text, unet, vae


class WarmStartRoundTrip(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls._tmp = tempfile.TemporaryDirectory()
        root = Path(cls._tmp.name)
        bpe.save_tokenizer(root / "tokenizer", bpe.learn_merges(["a red circle", "two blue squares"], max_merges=10))
        tok = bpe.ClipBpe.load(root / "tokenizer")
        cls.ids = (len(tok.vocab), tok.bos_id, tok.eos_id)
        cls.source = tiny_models(1, *cls.ids)
        cls.folder = root / "model"
        export_model(cls.folder, SMOKE, root / "tokenizer", *cls.source, scaling_factor=0.5)

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()

    def test_export_then_load_restores_every_parameter(self) -> None:
        target = tiny_models(2, *self.ids)
        self.assertEqual(load_release(self.folder, *target), 0.5)
        for original, loaded in zip(self.source, target):
            loaded_params = dict(loaded.named_parameters())
            for name, p in original.named_parameters():
                torch.testing.assert_close(loaded_params[name], p, rtol=0, atol=0, msg=name)

    def test_a_folder_missing_parameters_is_refused(self) -> None:
        text, _, vae = tiny_models(2, *self.ids)
        # One more up/down level than the export has: its parameters are nowhere in the folder.
        deeper = dict(SMOKE["unet"], block_out_channels=[16, 16, 16, 16], down_block_types=SMOKE["unet"]["down_block_types"] + ["DownBlock2D"], up_block_types=["UpBlock2D"] + SMOKE["unet"]["up_block_types"], attention_heads=[2, 2, 2, 2])
        unet = build_unet(deeper, SMOKE["text_encoder"]["width"], SMOKE["vae"]["latent_channels"])
        with self.assertRaisesRegex(RuntimeError, "parameters not found"):
            load_release(self.folder, text, unet, vae)


if __name__ == "__main__":
    unittest.main()
