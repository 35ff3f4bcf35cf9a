"""Checks an exported Easel Shapes folder against the SD ONNX contract, independently of train.py.

    .venv/bin/python packages/shapes/train/check_export.py packages/shapes/artifacts/model

Uses onnxruntime for the graphs and transformers' CLIPTokenizer for the tokenizer files.
Exits non-zero with the first violated expectation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

MAX_TOTAL_BYTES = 40 * 2**20


def fail(message: str) -> None:
    print(f"export check failed: {message}")
    sys.exit(1)


def expect(cond: bool, message: str) -> None:
    if not cond:
        fail(message)


def session(folder: Path, name: str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(str(folder / name / "model.onnx"), opts, providers=["CPUExecutionProvider"])


def main(folder: Path) -> None:
    index = json.loads((folder / "model_index.json").read_text())
    for part in ("text_encoder", "unet", "vae_encoder", "vae_decoder", "tokenizer", "scheduler"):
        expect(part in index, f"model_index.json lacks {part}")
    sched = json.loads((folder / "scheduler/scheduler_config.json").read_text())
    expect(sched["_class_name"] == index["scheduler"][1], "scheduler class differs between model_index.json and scheduler_config.json")

    text_cfg = json.loads((folder / "text_encoder/config.json").read_text())
    unet_cfg = json.loads((folder / "unet/config.json").read_text())
    vae_cfg = json.loads((folder / "vae_decoder/config.json").read_text())
    width = text_cfg["hidden_size"]
    latent_c = vae_cfg["latent_channels"]
    factor = 2 ** (len(vae_cfg["block_out_channels"]) - 1)
    expect(factor == 4, f"VAE downscale factor must be 4, got {factor}")
    expect(unet_cfg["sample_size"] == 16, f"unet sample_size must be 16, got {unet_cfg['sample_size']}")
    expect(unet_cfg["cross_attention_dim"] == width, "unet cross_attention_dim differs from the text encoder width")
    expect(unet_cfg["in_channels"] == latent_c == unet_cfg["out_channels"], "unet channels differ from the VAE latent channels")
    expect(0 < vae_cfg["scaling_factor"] < 100, f"implausible scaling_factor {vae_cfg['scaling_factor']}")

    tok_cfg = json.loads((folder / "tokenizer/tokenizer_config.json").read_text())
    expect(tok_cfg["model_max_length"] == 77 and tok_cfg["pad_token"] == tok_cfg["eos_token"] == "<|endoftext|>", "tokenizer_config.json: max length 77, pad = eos")
    merges = (folder / "tokenizer/merges.txt").read_text().split("\n")
    expect(merges[0] == "#version: 0.2", "merges.txt lacks the #version: 0.2 header")
    vocab = json.loads((folder / "tokenizer/vocab.json").read_text())
    n_merges = len([m for m in merges[1:] if m])
    expect(len(vocab) == 512 + n_merges + 2, f"vocab has {len(vocab)} entries, expected 512 + {n_merges} merges + 2")
    expect(vocab["<|endoftext|>"] == len(vocab) - 1 and vocab["<|startoftext|>"] == len(vocab) - 2, "special tokens are not the last two ids")
    expect(text_cfg["vocab_size"] == len(vocab), "text encoder vocab_size differs from vocab.json")

    from transformers import CLIPTokenizer

    hf = CLIPTokenizer.from_pretrained(str(folder / "tokenizer"))
    ids = np.array(hf(["a big red circle on the left", ""], padding="max_length", max_length=77).input_ids, dtype=np.int64)
    expect(ids[1, 0] == vocab["<|startoftext|>"] and ids[1, 1] == vocab["<|endoftext|>"], "empty prompt is not bos, eos")

    text = session(folder, "text_encoder")
    for dtype in (np.int32, np.int64):
        if dtype == np.int64 and text.get_inputs()[0].type != "tensor(int64)":
            continue
        hidden, pooled = text.run(["last_hidden_state", "pooler_output"], {"input_ids": ids.astype(dtype)})
    expect(hidden.shape == (2, 77, width) and pooled.shape == (2, width), f"text encoder outputs {hidden.shape}, {pooled.shape}")
    eos_at = int(np.argmax(ids[0] == vocab["<|endoftext|>"]))
    # pooler_output is the final-LN state at the first eos, which last_hidden_state also holds.
    expect(np.allclose(pooled[0], hidden[0, eos_at], atol=1e-5), "pooler_output is not the state at the eos position")

    unet = session(folder, "unet")
    expect((folder / "unet/weights.pb").exists(), "unet/weights.pb missing (diffusers layout keeps UNet weights external)")
    names = [i.name for i in unet.get_inputs()]
    expect(names == ["sample", "timestep", "encoder_hidden_states"], f"unet inputs {names}")
    t_type = unet.get_inputs()[1].type
    t_dtype = np.float32 if t_type == "tensor(float)" else np.int64
    for batch in (1, 3):
        x = np.random.RandomState(0).randn(batch, latent_c, 16, 16).astype(np.float32)
        states = np.repeat(hidden[:1], batch, 0)
        out = unet.run(["out_sample"], {"sample": x, "timestep": np.full(batch, 500, t_dtype), "encoder_hidden_states": states})[0]
        expect(out.shape == x.shape and np.isfinite(out).all(), f"unet out_sample {out.shape} for batch {batch}")

    enc, dec = session(folder, "vae_encoder"), session(folder, "vae_decoder")
    expect([i.name for i in enc.get_inputs()] == ["sample"] and [o.name for o in enc.get_outputs()] == ["latent_sample"], "vae_encoder names")
    expect([i.name for i in dec.get_inputs()] == ["latent_sample"] and [o.name for o in dec.get_outputs()] == ["sample"], "vae_decoder names")
    img = np.random.RandomState(1).uniform(-1, 1, (2, 3, 64, 64)).astype(np.float32)
    lat = enc.run(None, {"sample": img})[0]
    expect(lat.shape == (2, latent_c, 16, 16), f"latent_sample shape {lat.shape}")
    rec = dec.run(None, {"latent_sample": lat})[0]
    expect(rec.shape == (2, 3, 64, 64), f"decoded shape {rec.shape}")

    total = sum(p.stat().st_size for p in folder.rglob("*") if p.suffix in (".onnx", ".pb"))
    expect(total <= MAX_TOTAL_BYTES, f"ONNX files total {total} bytes, limit {MAX_TOTAL_BYTES}")
    print(f"export ok: {total / 2**20:.2f} MiB of ONNX, text width {width}, latent channels {latent_c}, timestep {t_type}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: check_export.py MODEL_DIR")
    main(Path(sys.argv[1]))
