"""Easel Shapes training recipe: one command, fixed seed, resumable.

    .venv/bin/python packages/shapes/train/train.py --config packages/shapes/train/configs/full.json

Stages: data (the TS dataset CLI) -> BPE tokenizer -> contrastive text/image pre-training ->
KL autoencoder -> latent cache -> [decoder fine-tune] -> UNet -> ONNX export + samples grid +
latency probe. A config with `init_from` starts from a released folder and skips the contrastive
and autoencoder stages.
Kill it at any time and run the same command again: finished stages are skipped and the
unfinished one resumes from its last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from easel_train import bpe, data  # noqa: E402
from easel_train.common import LossLog, pick_device, seed_everything  # noqa: E402
from easel_train.export import export_model  # noqa: E402
from easel_train.models import build_text_encoder, build_vae, count_params  # noqa: E402
from easel_train.stages import Context, cache_latents, new_unet, stage_clip, stage_unet, stage_vae, stage_vae_decoder  # noqa: E402
from easel_train.warm_start import load_release  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[3]

GRID_PROMPTS = [
    "a red circle",
    "a big blue square on the left",
    "two green triangles",
    "three yellow stars",
    "a small black circle at the top",
    "a red triangle above a blue circle",
    "a purple square left of an orange star",
    "a big yellow star in the center",
    "three red circles",
    "two blue squares",
    "a green circle below a black square",
    "an orange triangle at the bottom",
    "a purple triangle",
    "an orange circle",
    "a green star",
    "a red square",
    "a yellow circle above a blue square",
    "two purple triangles",
]
HELD_OUT_GRID = {"a purple triangle", "an orange circle", "a green star", "a red square", "a yellow circle above a blue square", "two purple triangles"}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--budget-minutes", type=float, default=None, help="wall-clock budget shared by the time-based stages")
    p.add_argument("--run-dir", type=Path, default=None, help="checkpoints and caches (default: train/runs/<config name>)")
    p.add_argument("--export-dir", type=Path, default=None, help="model folder (default: config's export_dir)")
    p.add_argument("--log", type=Path, default=None, help="JSONL loss log (default: config's log)")
    return p.parse_args()


def resolve(path: str | Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


def build_models_for_export(ctx: Context, text_encoder, unet_state: dict, text_state: dict):
    text_encoder.load_state_dict(text_state)
    unet = new_unet(ctx)
    unet.load_state_dict(unet_state)
    return text_encoder, unet


def export_and_sample(ctx: Context, export_dir: Path, tokenizer_dir: Path, text_encoder, unet, vae, scaling: float, samples_path: Path | None, label: str) -> dict:
    from easel_train.onnx_sample import OnnxShapes, write_grid

    t0 = time.monotonic()
    sizes = export_model(export_dir, ctx.cfg, tokenizer_dir, text_encoder, unet, vae, scaling)
    text_encoder.to(ctx.device)
    unet.to(ctx.device)
    vae.to(ctx.device)
    report = {"label": label, "onnx_bytes": sizes, "onnx_total_mb": round(sum(sizes.values()) / 2**20, 2)}
    if samples_path is not None:
        model = OnnxShapes(export_dir)
        prompts = ctx.cfg.get("grid_prompts", GRID_PROMPTS)
        images = model.generate(prompts, seed=ctx.cfg["seed"], steps=20, guidance=ctx.cfg["guidance_scale"])
        shown = [f"{p} (held out)" if p in HELD_OUT_GRID else p for p in prompts]
        write_grid(samples_path, images, shown)
        if ctx.cfg.get("latency_probe", True) and label.startswith("final"):
            report["latency_ms"] = model.latency()
    report["seconds"] = round(time.monotonic() - t0, 1)
    ctx.log.write("export", **report)
    return report


def main() -> None:
    args = parse_args()
    cfg = json.loads(args.config.read_text())
    run_dir = args.run_dir or Path(__file__).resolve().parent / "runs" / args.config.stem
    run_dir.mkdir(parents=True, exist_ok=True)
    export_dir = args.export_dir or resolve(cfg["export_dir"])
    log = LossLog(args.log or resolve(cfg["log"]))
    budget = args.budget_minutes if args.budget_minutes is not None else cfg.get("budget_minutes")
    torch.set_num_threads(cfg.get("threads") or os.cpu_count() or 1)
    seed_everything(cfg["seed"])
    device = pick_device()
    started = time.monotonic()
    log.write("start", config=str(args.config), device=str(device), threads=torch.get_num_threads(), budget_minutes=budget, torch=torch.__version__)

    t0 = time.monotonic()
    d = cfg["data"]
    images, rows = data.load_or_generate(resolve(d["dir"]) if "dir" in d else run_dir / "data", d["count"], d["seed"], d.get("shards", 1))
    captions = [r["caption"] for r in rows]
    data.assert_no_held_out(captions)
    log.write("data", images=len(images), unique_captions=len(set(captions)), seconds=round(time.monotonic() - t0, 1))

    init_from = resolve(cfg["init_from"]) if cfg.get("init_from") else None
    tokenizer_dir = run_dir / "tokenizer"
    if not (tokenizer_dir / "vocab.json").exists():
        if init_from is not None:
            # A warm start keeps the release's vocabulary: its embeddings are indexed by it.
            shutil.copytree(init_from / "tokenizer", tokenizer_dir)
        else:
            merges = bpe.learn_merges(captions, max_merges=cfg["tokenizer"]["max_merges"])
            bpe.save_tokenizer(tokenizer_dir, merges)
    tok = bpe.ClipBpe.load(tokenizer_dir)
    ids = np.array([tok.encode_padded(c) for c in captions], dtype=np.int64)
    log.write("tokenizer", vocab=len(tok.vocab), merges=len(tok.ranks), max_tokens=int((ids != tok.eos_id).sum(1).max()))

    grounding = None
    if cfg["unet_train"].get("grounding_weight", 0) > 0 or cfg["unet_train"].get("position_probe_weight", 0) > 0:
        from easel_train.grounding import build as build_grounding

        t0 = time.monotonic()
        grounding = build_grounding(rows, tok)
        log.write("grounding", tokens=int((grounding.token_groups >= 0).sum()), seconds=round(time.monotonic() - t0, 1))
    ctx = Context(
        cfg=cfg, run_dir=run_dir, log=log, device=device, images=images, ids=ids,
        empty_ids=np.array(tok.encode_padded(""), dtype=np.int64), vocab_size=len(tok.vocab),
        bos_id=tok.bos_id, eos_id=tok.eos_id, budget_minutes=budget, grounding=grounding,
        forms=np.array([r["spec"]["form"] for r in rows]),
    )  # fmt: skip

    if init_from is None:
        t0 = time.monotonic()
        pair = stage_clip(ctx)
        log.write("stage_done", name="clip", seconds=round(time.monotonic() - t0, 1), params_text=count_params(pair.text_encoder), params_image=count_params(pair.image_encoder))
        text_encoder, image_encoder, init_unet = pair.text_encoder, pair.image_encoder, None
        t0 = time.monotonic()
        vae = stage_vae(ctx, image_encoder)
        log.write("stage_done", name="vae", seconds=round(time.monotonic() - t0, 1), params=count_params(vae))
        latents = cache_latents(ctx, vae)
    else:
        # Continue from a released model: its text encoder, autoencoder and UNet (the
        # contrastive and autoencoder stages are done); the UNet stage starts from its weights.
        text_encoder, image_encoder = build_text_encoder(cfg["text_encoder"], ctx.vocab_size, ctx.bos_id, ctx.eos_id), None
        vae, unet = build_vae(cfg["vae"]), new_unet(ctx)
        release_scaling = load_release(init_from, text_encoder, unet, vae)
        text_encoder.to(device)
        vae.to(device)
        init_unet = unet.state_dict()
        log.write("warm_start", folder=str(init_from), scaling_factor=release_scaling)
        latents = cache_latents(ctx, vae, scaling_factor=release_scaling)
    scaling = latents["scaling_factor"]
    if "vae_decoder_train" in cfg:
        t0 = time.monotonic()
        stage_vae_decoder(ctx, vae, latents)
        log.write("stage_done", name="vae_decoder", seconds=round(time.monotonic() - t0, 1))

    samples_path = resolve(cfg["samples"]) if cfg.get("samples") else None
    last_export = [time.monotonic()]

    def on_checkpoint(unet_state: dict, text_state: dict, step: int) -> None:
        every = cfg.get("export_every_minutes")
        if every is None or time.monotonic() - last_export[0] < every * 60:
            return
        from copy import deepcopy

        saved_text = deepcopy(text_encoder.state_dict())
        te, unet = build_models_for_export(ctx, text_encoder, unet_state, text_state)
        export_and_sample(ctx, export_dir, tokenizer_dir, te, unet, vae, scaling, samples_path, f"unet step {step}")
        text_encoder.load_state_dict(saved_text)
        text_encoder.to(device)
        last_export[0] = time.monotonic()

    t0 = time.monotonic()
    state = stage_unet(ctx, text_encoder, latents, on_checkpoint, init_unet)
    te, unet = build_models_for_export(ctx, text_encoder, state["unet"], state["text_encoder"])
    log.write("stage_done", name="unet", seconds=round(time.monotonic() - t0, 1), params=count_params(unet), steps=state["steps"])
    report = export_and_sample(ctx, export_dir, tokenizer_dir, te, unet, vae, scaling, samples_path, f"final (unet step {state['steps']})")
    summary = {
        "config": str(args.config),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "data": {"images": len(images), "unique_captions": len(set(captions))},
        "tokenizer": {"vocab": len(tok.vocab), "merges": len(tok.ranks)},
        "params": {"text_encoder": count_params(te), "image_encoder": count_params(image_encoder) if image_encoder is not None else None, "vae": count_params(vae), "unet": count_params(unet)},
        "scaling_factor": scaling,
        "vae_recon_l1": latents["recon_l1"],
        "warm_start": str(init_from) if init_from is not None else None,
        "stages_this_run": ctx.timings,
        "unet_steps": state["steps"],
        "export": report,
        "wall_seconds_this_run": round(time.monotonic() - started, 1),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.write("done", **{"wall_seconds_this_run": summary["wall_seconds_this_run"], "export_dir": str(export_dir)})


if __name__ == "__main__":
    main()
