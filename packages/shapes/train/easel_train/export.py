"""Export to the diffusers ONNX layout (what OnnxStableDiffusionPipeline and Easel's pipeline load).

model_index.json, scheduler/, tokenizer/, text_encoder/model.onnx, unet/model.onnx + weights.pb,
vae_encoder/model.onnx, vae_decoder/model.onnx, and a config.json beside each model.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

OPSET = 17


class TextEncoderOnnx(nn.Module):
    def __init__(self, text_encoder):
        super().__init__()
        self.text_encoder = text_encoder

    def forward(self, input_ids):
        out = self.text_encoder(input_ids=input_ids.long())
        return out.last_hidden_state, out.pooler_output


class UNetOnnx(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]


class VaeEncoderOnnx(nn.Module):
    """Unscaled posterior mean: the img2img pipeline multiplies by scaling_factor itself.

    diffusers' converter exports a posterior sample; the mean is used here so the graph is
    deterministic (the posterior std is tiny: see the latents record in the loss log).
    """

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        return self.vae.encode(sample).latent_dist.mean


class VaeDecoderOnnx(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample).sample


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], axes: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(), args, str(path), input_names=inputs, output_names=outputs,
            dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )  # fmt: skip
    onnx.checker.check_model(str(path))


def scheduler_config(cfg: dict) -> dict:
    s = cfg["scheduler"]
    return {
        "_class_name": "DDIMScheduler",
        "_diffusers_version": "0.42.1",
        "beta_start": s["beta_start"],
        "beta_end": s["beta_end"],
        "beta_schedule": "scaled_linear",
        "num_train_timesteps": s["num_train_timesteps"],
        "prediction_type": "epsilon",
        "clip_sample": False,
        "set_alpha_to_one": False,
        "steps_offset": 1,
        "timestep_spacing": "leading",
        "trained_betas": None,
    }


@torch.no_grad()
def export_text_encoder(text_encoder, path: Path, length: int = 77) -> None:
    """The text encoder graph: int32 input_ids -> last_hidden_state, pooler_output (SD's contract)."""
    ids = torch.zeros(2, length, dtype=torch.int32)
    _export(TextEncoderOnnx(text_encoder), (ids,), path, ["input_ids"], ["last_hidden_state", "pooler_output"],
            {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}})  # fmt: skip


def export_model(out: Path, cfg: dict, tokenizer_dir: Path, text_encoder, unet, vae, scaling_factor: float) -> dict:
    """Writes the model folder at `out` (replaced atomically) and returns the ONNX file sizes."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    text_encoder, unet, vae = text_encoder.cpu().eval(), unet.cpu().eval(), vae.cpu().eval()
    width = text_encoder.config.hidden_size
    latent_c = vae.config.latent_channels
    vae.register_to_config(scaling_factor=scaling_factor)

    export_text_encoder(text_encoder, tmp / "text_encoder/model.onnx")
    text_encoder.config.to_json_file(str(tmp / "text_encoder/config.json"))

    sample = torch.randn(2, latent_c, 16, 16)
    _export(UNetOnnx(unet), (sample, torch.tensor([500.0, 500.0]), torch.randn(2, 77, width)), tmp / "unet/raw.onnx",
            ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
            {"sample": {0: "batch"}, "timestep": {0: "batch"}, "encoder_hidden_states": {0: "batch", 1: "sequence"}, "out_sample": {0: "batch"}})  # fmt: skip
    # The diffusers converter stores the UNet's weights in one external file, weights.pb.
    model = onnx.load(str(tmp / "unet/raw.onnx"))
    onnx.save_model(model, str(tmp / "unet/model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True, location="weights.pb", convert_attribute=False)
    (tmp / "unet/raw.onnx").unlink()
    onnx.checker.check_model(str(tmp / "unet/model.onnx"))
    unet.save_config(str(tmp / "unet"))

    _export(VaeEncoderOnnx(vae), (torch.randn(1, 3, 64, 64),), tmp / "vae_encoder/model.onnx", ["sample"], ["latent_sample"],
            {"sample": {0: "batch"}, "latent_sample": {0: "batch"}})  # fmt: skip
    _export(VaeDecoderOnnx(vae), (torch.randn(1, latent_c, 16, 16),), tmp / "vae_decoder/model.onnx", ["latent_sample"], ["sample"],
            {"latent_sample": {0: "batch"}, "sample": {0: "batch"}})  # fmt: skip
    vae.save_config(str(tmp / "vae_encoder"))
    vae.save_config(str(tmp / "vae_decoder"))

    shutil.copytree(tokenizer_dir, tmp / "tokenizer")
    (tmp / "scheduler").mkdir()
    (tmp / "scheduler/scheduler_config.json").write_text(json.dumps(scheduler_config(cfg), indent=2) + "\n")
    index = {
        "_class_name": "OnnxStableDiffusionPipeline",
        "_diffusers_version": "0.42.1",
        "feature_extractor": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "OnnxRuntimeModel"],
        "vae_decoder": ["diffusers", "OnnxRuntimeModel"],
        "vae_encoder": ["diffusers", "OnnxRuntimeModel"],
    }
    (tmp / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    sizes = {str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.suffix in (".onnx", ".pb")}
    # Keep top-level files that other tools add to the folder (e.g. Easel's serving defaults).
    if out.is_dir():
        for extra in out.iterdir():
            if extra.is_file() and not (tmp / extra.name).exists():
                shutil.copy2(extra, tmp / extra.name)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return sizes
