"""Text-to-image with the exported ONNX folder (numpy + onnxruntime), a grid writer, a latency probe.

Mirrors the steps of diffusers' OnnxStableDiffusionPipeline (CLIP tokenizer, classifier-free
guidance, the scheduler from scheduler_config.json) but reads scaling_factor from the VAE config.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageDraw

from .bpe import ClipBpe


class OnnxShapes:
    def __init__(self, folder: Path, threads: int = 2):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1

        def session(name: str) -> ort.InferenceSession:
            return ort.InferenceSession(str(folder / name / "model.onnx"), opts, providers=["CPUExecutionProvider"])

        self.text = session("text_encoder")
        self.unet = session("unet")
        self.decoder = session("vae_decoder")
        self.tokenizer = ClipBpe.load(folder / "tokenizer")
        self.scaling = json.loads((folder / "vae_decoder/config.json").read_text())["scaling_factor"]
        self.latent_c = json.loads((folder / "unet/config.json").read_text())["in_channels"]
        from diffusers import DDIMScheduler

        self.scheduler = DDIMScheduler.from_pretrained(str(folder / "scheduler"))

    def encode(self, prompts: list[str]) -> np.ndarray:
        ids = np.array([self.tokenizer.encode_padded(p) for p in prompts], dtype=np.int32)
        return self.text.run(None, {"input_ids": ids})[0]

    def generate(self, prompts: list[str], seed: int = 0, steps: int = 20, guidance: float = 7.5) -> np.ndarray:
        """uint8 images [B,64,64,3]."""
        cond = self.encode(prompts)
        uncond = self.encode([""] * len(prompts))
        rng = np.random.RandomState(seed)
        latents = rng.randn(len(prompts), self.latent_c, 16, 16).astype(np.float32)
        self.scheduler.set_timesteps(steps)
        latents = latents * np.float32(self.scheduler.init_noise_sigma)
        states = np.concatenate([uncond, cond])
        import torch

        for t in self.scheduler.timesteps:
            x = np.concatenate([latents, latents])
            x = self.scheduler.scale_model_input(torch.from_numpy(x), t).numpy()
            ts = np.full(len(x), float(t), dtype=np.float32)
            eps = self.unet.run(None, {"sample": x, "timestep": ts, "encoder_hidden_states": states})[0]
            eu, ec = np.split(eps, 2)
            eps = eu + guidance * (ec - eu)
            latents = self.scheduler.step(torch.from_numpy(eps), t, torch.from_numpy(latents)).prev_sample.numpy()
        images = self.decoder.run(None, {"latent_sample": latents / np.float32(self.scaling)})[0]
        return ((images.clip(-1, 1) + 1) * 127.5).round().astype(np.uint8).transpose(0, 2, 3, 1)

    def latency(self, repeats: int = 20) -> dict:
        """Median milliseconds per call: text encoder (batch 2), UNet (batch 2), VAE decoder (batch 1)."""
        ids = np.zeros((2, 77), dtype=np.int32)
        x = np.random.randn(2, self.latent_c, 16, 16).astype(np.float32)
        states = self.text.run(None, {"input_ids": ids})[0]
        calls = {
            "text_encoder_b2": lambda: self.text.run(None, {"input_ids": ids}),
            "unet_b2": lambda: self.unet.run(None, {"sample": x, "timestep": np.array([500.0, 500.0], np.float32), "encoder_hidden_states": states}),
            "vae_decoder_b1": lambda: self.decoder.run(None, {"latent_sample": x[:1]}),
        }
        out = {}
        for name, fn in calls.items():
            for _ in range(3):
                fn()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            out[name] = round(float(np.median(times)) * 1000, 2)
        t0 = time.perf_counter()
        self.generate(["a red circle"], steps=20)
        out["image_20_steps_cfg"] = round((time.perf_counter() - t0) * 1000, 1)
        return out


def write_grid(path: Path, images: np.ndarray, prompts: list[str], columns: int = 6, scale: int = 2) -> None:
    """Images upscaled by `scale` (nearest) with their prompt written underneath."""
    cell_w, img_h, text_h = 64 * scale + 8, 64 * scale, 34
    rows = (len(images) + columns - 1) // columns
    grid = Image.new("RGB", (columns * cell_w, rows * (img_h + text_h)), "white")
    draw = ImageDraw.Draw(grid)
    for i, (img, prompt) in enumerate(zip(images, prompts)):
        r, c = divmod(i, columns)
        x, y = c * cell_w + 4, r * (img_h + text_h)
        grid.paste(Image.fromarray(img).resize((img_h, img_h), Image.NEAREST), (x, y + 2))
        words, lines, line = prompt.split(), [], ""
        for w in words:
            if len(line) + len(w) + 1 > 22:
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}".strip()
        lines.append(line)
        for j, text in enumerate(lines[:3]):
            draw.text((x, y + img_h + 3 + 10 * j), text, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
