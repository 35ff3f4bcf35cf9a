"""The decoder fine-tune moves the decoder only: the encoder, and so the UNet's latent space, stay."""

from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from easel_train.common import LossLog  # noqa: E402
from easel_train.models import build_vae  # noqa: E402
from easel_train.stages import Context, stage_vae_decoder  # noqa: E402

VAE = {"block_out_channels": [8, 8, 8], "layers_per_block": 1, "latent_channels": 4, "norm_num_groups": 4}
DECODER_TRAIN = {
    "batch_size": 4, "lr": 1e-3, "steps": 3, "warmup_steps": 1, "edge_weight": 1.0, "gan_weight": 0.1,
    "feature_matching_weight": 1.0, "gan_start": 0.3, "disc_channels": 8, "ema_decay": 0.5, "log_every": 1,
}  # fmt: skip


class DecoderFinetune(unittest.TestCase):
    def test_only_the_decoder_and_its_post_quant_conv_change(self) -> None:
        torch.manual_seed(0)
        np.random.seed(0)
        vae = build_vae(VAE)
        before = {k: v.clone() for k, v in vae.state_dict().items()}
        images = np.random.randint(0, 256, (8, 64, 64, 3), dtype=np.uint8)
        with torch.no_grad():
            x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
            dist = vae.encode(x).latent_dist
        with tempfile.TemporaryDirectory() as tmp:
            ctx = Context(
                cfg={"vae_decoder_train": DECODER_TRAIN, "checkpoint_minutes": 60}, run_dir=Path(tmp),
                log=LossLog(Path(tmp) / "log.jsonl"), device=torch.device("cpu"), images=images,
                ids=np.zeros((8, 77), dtype=np.int64), empty_ids=np.zeros(77, dtype=np.int64), vocab_size=10,
                bos_id=0, eos_id=1, budget_minutes=None,
            )  # fmt: skip
            stage_vae_decoder(ctx, vae, {"mean": dist.mean, "std": dist.std})
            self.assertTrue((Path(tmp) / "vae_decoder.final.pt").exists())
            log = (Path(tmp) / "log.jsonl").read_text().splitlines()
            self.assertEqual(len(log), 3)
        after = vae.state_dict()
        changed = {k for k in before if not torch.equal(before[k], after[k])}
        self.assertTrue(changed)
        self.assertEqual([k for k in changed if not k.startswith(("decoder.", "post_quant_conv."))], [])
        self.assertTrue(any(k.startswith("post_quant_conv.") for k in changed))
        self.assertFalse(any(p.requires_grad for p in vae.parameters()))

    def test_a_stopped_run_resumes_to_the_same_weights(self) -> None:
        """The checkpoint carries the decoder, discriminator, both optimizers, EMA and RNG: a run
        stopped after step 2 and started again ends where an uninterrupted run ends."""

        class Stop(Exception):
            pass

        class StopAtStep3(LossLog):
            def write(self, stage: str, **fields) -> None:
                if fields.get("step") == 3:
                    raise Stop()
                super().write(stage, **fields)

        def run(tmp: Path, log: LossLog, checkpoint_minutes: float) -> dict:
            torch.manual_seed(0)
            np.random.seed(0)
            vae = build_vae(VAE)
            images = np.random.randint(0, 256, (8, 64, 64, 3), dtype=np.uint8)
            with torch.no_grad():
                x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
                dist = vae.encode(x).latent_dist
            ctx = Context(
                cfg={"vae_decoder_train": {**DECODER_TRAIN, "steps": 5, "gan_start": 0.0}, "checkpoint_minutes": checkpoint_minutes},
                run_dir=tmp, log=log, device=torch.device("cpu"), images=images,
                ids=np.zeros((8, 77), dtype=np.int64), empty_ids=np.zeros(77, dtype=np.int64), vocab_size=10,
                bos_id=0, eos_id=1, budget_minutes=None,
            )  # fmt: skip
            stage_vae_decoder(ctx, vae, {"mean": dist.mean, "std": dist.std})
            return vae.state_dict()

        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            straight = run(Path(a), LossLog(Path(a) / "log.jsonl"), 60)
            with self.assertRaises(Stop):
                run(Path(b), StopAtStep3(Path(b) / "log.jsonl"), 0)  # checkpoints after every step
            self.assertFalse((Path(b) / "vae_decoder.final.pt").exists())
            resumed = run(Path(b), LossLog(Path(b) / "log.jsonl"), 60)
        self.assertEqual(sorted(straight), sorted(resumed))
        for key in straight:
            self.assertTrue(torch.equal(straight[key], resumed[key]), key)


if __name__ == "__main__":
    unittest.main()
