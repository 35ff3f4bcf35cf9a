"""The three training stages: contrastive text/image pre-training, the KL autoencoder, the UNet.

Each stage checkpoints every `checkpoint_minutes` (model, optimiser, RNG, clock) and writes a
final `<stage>.final.pt`; a re-run skips finished stages and resumes the unfinished one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from .common import (
    Ema,
    LossLog,
    StageClock,
    load_checkpoint,
    lr_at,
    rng_state,
    save_checkpoint,
    set_rng_state,
    stage_budget,
)
from .grounding import GroundingData, LayoutLosses
from .models import ClipPair, ImageEncoder, PatchDiscriminator, build_text_encoder, build_unet, build_vae, image_gradients, perceptual_distance


@dataclass
class Context:
    cfg: dict
    run_dir: Path
    log: LossLog
    device: torch.device
    images: np.ndarray  # [N,64,64,3] uint8
    ids: np.ndarray  # [N,77] int64
    empty_ids: np.ndarray  # [77]
    vocab_size: int
    bos_id: int
    eos_id: int
    budget_minutes: float | None
    timings: dict = field(default_factory=dict)
    grounding: GroundingData | None = None  # needed when unet_train.grounding_weight > 0
    forms: np.ndarray | None = None  # [N] each scene's form ("single", "count", "relation")

    def batch_images(self, idx: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(self.images[idx]).to(self.device)
        return x.permute(0, 3, 1, 2).float().div(127.5).sub(1).contiguous()

    def batch_ids(self, idx: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.ids[idx]).to(self.device)


def _set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr * g.get("lr_scale", 1.0)


def _clock_for(ctx: Context, stage_cfg: dict, ck: dict | None) -> StageClock:
    """The stage's length comes from the current config and budget; a checkpoint only supplies progress.

    So a resumed run may be given more (or less) time, e.g. on a machine busier than expected.
    """
    steps, seconds = stage_budget(stage_cfg, ctx.budget_minutes)
    if ck is not None:
        return StageClock(steps, seconds, ck["clock"]["step"], ck["clock"]["elapsed"])
    return StageClock(steps, seconds)


def _clock_state(clock: StageClock) -> dict:
    return {"steps": clock.steps, "seconds": clock.seconds, "step": clock.step, "elapsed": clock.elapsed}


# --------------------------------------------------------------------------------------------
# Stage 1: CLIP-style contrastive pre-training of the text encoder against a small image encoder


def new_clip_pair(ctx: Context) -> ClipPair:
    c = ctx.cfg["text_encoder"]
    text = build_text_encoder(c, ctx.vocab_size, ctx.bos_id, ctx.eos_id)
    image = ImageEncoder(ctx.cfg["image_encoder"]["channels"], ctx.cfg["clip"]["embed_dim"])
    return ClipPair(text, image, c["width"], ctx.cfg["clip"]["embed_dim"]).to(ctx.device)


def stage_clip(ctx: Context) -> ClipPair:
    final = ctx.run_dir / "clip.final.pt"
    pair = new_clip_pair(ctx)
    if final.exists():
        pair.load_state_dict(torch.load(final, map_location="cpu")["model"])
        return pair.to(ctx.device)
    sc = ctx.cfg["clip"]
    opt = torch.optim.AdamW(pair.parameters(), lr=sc["lr"], betas=(0.9, 0.98), weight_decay=sc["weight_decay"])
    ck_path = ctx.run_dir / "clip.ckpt"
    ck = load_checkpoint(ck_path)
    if ck is not None:
        pair.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        set_rng_state(ck["rng"])
    clock = _clock_for(ctx, sc, ck)
    n = len(ctx.images)
    # The causal mask makes the state at the first eos independent of what follows it, so the
    # pooled output is exact on sequences cut just after the longest caption (4-5x cheaper).
    length = int((ctx.ids != ctx.eos_id).sum(1).max()) + 1
    last_save = time.monotonic()
    t0 = time.monotonic()
    pair.train()
    while not clock.done:
        idx = np.random.randint(0, n, sc["batch_size"])
        images, ids = ctx.batch_images(idx), ctx.batch_ids(idx)[:, :length]
        img, txt = pair(images, ids)
        scale = pair.logit_scale.exp().clamp(max=100)
        logits = scale * img @ txt.t()
        # Identical captions in one batch are positives of each other, not negatives.
        same = torch.from_numpy((ctx.ids[idx][:, None, :length] == ctx.ids[idx][None, :, :length]).all(-1)).to(logits)
        target = same / same.sum(1, keepdim=True)
        loss = 0.5 * (torch.sum(-target * F.log_softmax(logits, 1), 1).mean() + torch.sum(-target * F.log_softmax(logits.t(), 1), 1).mean())
        acc = (logits.argmax(1) == torch.arange(len(idx), device=logits.device)).float().mean()
        _set_lr(opt, lr_at(clock.step, clock.progress, sc["lr"], sc["warmup_steps"]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(pair.parameters(), 1.0)
        opt.step()
        clock.tick()
        if clock.step % sc["log_every"] == 0 or clock.done:
            ctx.log.write("clip", step=clock.step, loss=loss.item(), acc=acc.item(), temperature=1 / scale.item(), lr=opt.param_groups[0]["lr"], elapsed_s=round(clock.elapsed, 1))
        if time.monotonic() - last_save > ctx.cfg["checkpoint_minutes"] * 60:
            save_checkpoint(ck_path, {"model": pair.state_dict(), "opt": opt.state_dict(), "rng": rng_state(), "clock": _clock_state(clock)})
            last_save = time.monotonic()
            clock.restart_timer()
    save_checkpoint(final, {"model": pair.state_dict(), "steps": clock.step, "train_seconds": clock.elapsed})
    ctx.timings["clip"] = {"steps": clock.step, "train_seconds": round(clock.elapsed, 1), "wall_seconds_this_run": round(time.monotonic() - t0, 1)}
    return pair


class _Adversary:
    """The patch discriminator of an adversarial stage, with the generator's and its own Adam
    optimizers; its state goes into the stage's checkpoint under "disc", "opt_g" and "opt_d"."""

    def __init__(self, ctx: Context, g_params, sc: dict):
        self.g_params = list(g_params)
        self.disc = PatchDiscriminator(sc["disc_channels"]).to(ctx.device)
        self.opt_g = torch.optim.Adam(self.g_params, lr=sc["lr"], betas=(0.5, 0.9))
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=sc["lr"], betas=(0.5, 0.9))

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, ck: dict) -> None:
        self.disc.load_state_dict(ck["disc"])
        self.opt_g.load_state_dict(ck["opt_g"])
        self.opt_d.load_state_dict(ck["opt_d"])

    def step(self, loss: torch.Tensor, real: torch.Tensor, fake: torch.Tensor, lr: float, gan_on: bool) -> torch.Tensor:
        """One generator update on `loss` (gradients clipped at 1), then, once the adversarial part
        is on, one hinge update of the discriminator on `real` vs `fake`. Returns the
        discriminator's loss (0 before it is on)."""
        _set_lr(self.opt_g, lr)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.g_params, 1.0)
        self.opt_g.step()
        if not gan_on:
            return torch.zeros(())
        _set_lr(self.opt_d, lr)
        d_loss = F.relu(1 - self.disc(real)).mean() + F.relu(1 + self.disc(fake.detach())).mean()
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        return d_loss


# --------------------------------------------------------------------------------------------
# Stage 2: KL autoencoder (L1 + perceptual + PatchGAN hinge + small KL)


def stage_vae(ctx: Context, image_encoder: ImageEncoder):
    final = ctx.run_dir / "vae.final.pt"
    vae = build_vae(ctx.cfg["vae"]).to(ctx.device)
    if final.exists():
        vae.load_state_dict(torch.load(final, map_location="cpu")["model"])
        return vae
    sc = ctx.cfg["vae_train"]
    adversary = _Adversary(ctx, vae.parameters(), sc)
    image_encoder.eval().requires_grad_(False)
    ck_path = ctx.run_dir / "vae.ckpt"
    ck = load_checkpoint(ck_path)
    if ck is not None:
        vae.load_state_dict(ck["model"])
        adversary.load_state_dict(ck)
        set_rng_state(ck["rng"])
    clock = _clock_for(ctx, sc, ck)
    n = len(ctx.images)
    last_save = time.monotonic()
    t0 = time.monotonic()
    vae.train()
    while not clock.done:
        x = ctx.batch_images(np.random.randint(0, n, sc["batch_size"]))
        crop = sc.get("crop")
        if crop and clock.progress < sc.get("crop_until", 1.0):
            # The autoencoder is convolutional: random crops teach colours and edges at a
            # fraction of the cost; the last part of the stage runs at full size.
            top, left = np.random.randint(0, x.shape[-1] - crop + 1, 2)
            x = x[:, :, top : top + crop, left : left + crop]
        posterior = vae.encode(x).latent_dist
        rec = vae.decode(posterior.sample()).sample
        l1 = (rec - x).abs().mean()
        perc = perceptual_distance(image_encoder, rec, x)
        kl = posterior.kl().mean()
        gan_on = clock.progress >= sc["gan_start"]
        g_loss = -adversary.disc(rec).mean() if gan_on else rec.new_zeros(())
        loss = l1 + sc["perceptual_weight"] * perc + sc["kl_weight"] * kl + (sc["gan_weight"] * g_loss if gan_on else 0)
        lr = lr_at(clock.step, clock.progress, sc["lr"], sc["warmup_steps"])
        d_loss = adversary.step(loss, x, rec, lr, gan_on)
        clock.tick()
        if clock.step % sc["log_every"] == 0 or clock.done:
            ctx.log.write("vae", step=clock.step, l1=l1.item(), perceptual=perc.item(), kl=kl.item(), g=g_loss.item(), d=d_loss.item(), lr=lr, elapsed_s=round(clock.elapsed, 1))
        if time.monotonic() - last_save > ctx.cfg["checkpoint_minutes"] * 60:
            save_checkpoint(ck_path, {"model": vae.state_dict(), **adversary.state_dict(), "rng": rng_state(), "clock": _clock_state(clock)})
            last_save = time.monotonic()
            clock.restart_timer()
    save_checkpoint(final, {"model": vae.state_dict(), "steps": clock.step, "train_seconds": clock.elapsed})
    ctx.timings["vae"] = {"steps": clock.step, "train_seconds": round(clock.elapsed, 1), "wall_seconds_this_run": round(time.monotonic() - t0, 1)}
    return vae


@torch.no_grad()
def cache_latents(ctx: Context, vae, scaling_factor: float | None = None) -> dict:
    """Posterior mean/std of every training image, and scaling_factor = 1 / std(latent samples).

    A warm start passes the release's `scaling_factor`: its UNet was trained at that scale.
    """
    path = ctx.run_dir / "latents.pt"
    if path.exists():
        return torch.load(path, map_location="cpu")
    vae.eval()
    t0 = time.monotonic()
    # The corpus is in random order, so its first `count` images are a fair sample of it.
    count = min(ctx.cfg["unet_train"].get("latent_cache_count", len(ctx.images)), len(ctx.images))
    means, stds, l1s = [], [], []
    for start in range(0, count, 256):
        idx = np.arange(start, min(start + 256, count))
        x = ctx.batch_images(idx)
        dist = vae.encode(x).latent_dist
        means.append(dist.mean.half().cpu())
        stds.append(dist.std.half().cpu())
        if start < 2048:
            l1s.append((vae.decode(dist.mean).sample.clamp(-1, 1) - x).abs().mean().item())
    mean, std = torch.cat(means), torch.cat(stds)
    sample = mean.float() + std.float() * torch.randn(mean.shape)
    scaling = float(1.0 / sample.std()) if scaling_factor is None else scaling_factor
    out = {"mean": mean, "std": std, "scaling_factor": scaling, "recon_l1": float(np.mean(l1s))}
    torch.save(out, path)
    ctx.log.write("latents", count=len(mean), scaling_factor=scaling, latent_std=float(sample.std()), posterior_std_mean=float(std.float().mean()), recon_l1=out["recon_l1"], seconds=round(time.monotonic() - t0, 1))
    return out


def _sample_latents(mean: torch.Tensor, std: torch.Tensor, idx: np.ndarray, device: torch.device) -> torch.Tensor:
    """One draw from the cached posteriors (fp16 mean and std) of corpus rows `idx`, as float32 on `device`."""
    it = torch.from_numpy(idx)
    return (mean[it].float() + std[it].float() * torch.randn(len(idx), *mean.shape[1:])).to(device)


def stage_vae_decoder(ctx: Context, vae, latents: dict) -> None:
    """Fine-tunes the autoencoder's decoder on latents of the frozen encoder (`vae` in place).

    The encoder, and so the latent space the UNet was trained in, stays exactly as released, as
    with SD's ft-EMA/ft-MSE decoders. Release 3's decoder turned 11% of ground-truth scenes into
    images the evaluator rejects (soft small stars read as circles, colour fringes read as extra
    objects), a ceiling under any UNet. Loss: L1 + L1 of the image gradients (edges of flat
    shapes) + PatchGAN hinge with feature matching on the discriminator's activations (a
    perceptual distance in features of our own trained network). The released encoder's posterior
    is sampled at every step, so the decoder also sees latents a little off the encoder's means,
    as the UNet's are. EMA weights are kept.
    """
    final = ctx.run_dir / "vae_decoder.final.pt"
    if final.exists():
        vae.load_state_dict(torch.load(final, map_location="cpu")["model"])
        return
    sc = ctx.cfg["vae_decoder_train"]
    vae.requires_grad_(False)
    # What is trained (and averaged): the encoder's weights must stay bit for bit as released.
    decoder = torch.nn.ModuleDict({"post_quant_conv": vae.post_quant_conv, "decoder": vae.decoder})
    decoder.requires_grad_(True)
    adversary = _Adversary(ctx, decoder.parameters(), sc)
    ema = Ema(decoder, sc["ema_decay"])
    ck_path = ctx.run_dir / "vae_decoder.ckpt"
    ck = load_checkpoint(ck_path)
    if ck is not None:
        vae.load_state_dict(ck["model"])
        adversary.load_state_dict(ck)
        ema.load_state_dict(ck["ema"])
        set_rng_state(ck["rng"])
    clock = _clock_for(ctx, sc, ck)
    mean, std = latents["mean"], latents["std"]
    n = len(mean)
    last_save = time.monotonic()
    t0 = time.monotonic()
    vae.eval()  # no dropout/batch statistics anywhere; only the decoder's parameters move
    while not clock.done:
        idx = np.random.randint(0, n, sc["batch_size"])
        z = _sample_latents(mean, std, idx, ctx.device)
        x = ctx.batch_images(idx)
        rec = vae.decode(z).sample
        l1 = (rec - x).abs().mean()
        edges = sum((a - b).abs().mean() for a, b in zip(image_gradients(rec), image_gradients(x)))
        loss = l1 + sc["edge_weight"] * edges
        gan_on = clock.progress >= sc["gan_start"]
        g_loss = fm = torch.zeros(())
        if gan_on:
            fake_feats, fake_logits = adversary.disc.features(rec)
            with torch.no_grad():
                real_feats, _ = adversary.disc.features(x)
            g_loss = -fake_logits.mean()
            fm = sum((f - r).abs().mean() for f, r in zip(fake_feats, real_feats)) / len(fake_feats)
            loss = loss + sc["gan_weight"] * g_loss + sc["feature_matching_weight"] * fm
        lr = lr_at(clock.step, clock.progress, sc["lr"], sc["warmup_steps"])
        d_loss = adversary.step(loss, x, rec, lr, gan_on)
        ema.update(decoder)
        clock.tick()
        if clock.step % sc["log_every"] == 0 or clock.done:
            ctx.log.write("vae_decoder", step=clock.step, l1=l1.item(), edges=edges.item(), g=g_loss.item(), feature_matching=fm.item(), d=d_loss.item(), lr=lr, elapsed_s=round(clock.elapsed, 1))
        if time.monotonic() - last_save > ctx.cfg["checkpoint_minutes"] * 60:
            save_checkpoint(ck_path, {"model": vae.state_dict(), **adversary.state_dict(), "ema": ema.state_dict(), "rng": rng_state(), "clock": _clock_state(clock)})
            last_save = time.monotonic()
            clock.restart_timer()
    decoder.load_state_dict(ema.shadow)
    vae.requires_grad_(False)
    save_checkpoint(final, {"model": vae.state_dict(), "steps": clock.step, "train_seconds": clock.elapsed})
    ctx.timings["vae_decoder"] = {"steps": clock.step, "train_seconds": round(clock.elapsed, 1), "wall_seconds_this_run": round(time.monotonic() - t0, 1)}


# --------------------------------------------------------------------------------------------
# Stage 3: the cross-attention UNet on cached latents (epsilon, min-SNR, caption dropout, EMA)


def noise_schedule(cfg: dict) -> torch.Tensor:
    """alphas_cumprod of SD's scaled_linear schedule (the one scheduler_config.json declares)."""
    s = cfg["scheduler"]
    betas = torch.linspace(s["beta_start"] ** 0.5, s["beta_end"] ** 0.5, s["num_train_timesteps"], dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


def new_unet(ctx: Context):
    return build_unet(ctx.cfg["unet"], ctx.cfg["text_encoder"]["width"], ctx.cfg["vae"]["latent_channels"]).to(ctx.device)


def _index_sampler(ctx: Context, form_share: dict | None, n: int):
    """Draws batches of corpus indices (< n): uniformly, or with each form's share of a batch fixed."""
    if not form_share:
        return lambda size: np.random.randint(0, n, size)
    if ctx.forms is None:
        raise ValueError("unet_train.form_share needs each scene's form (Context.forms)")
    names = sorted(form_share)
    pools = [np.flatnonzero(ctx.forms[:n] == name) for name in names]
    empty = [name for name, pool in zip(names, pools) if len(pool) == 0]
    if empty:
        raise ValueError(f"unet_train.form_share names forms absent from the corpus: {empty}")
    weights = np.array([form_share[name] for name in names], dtype=np.float64)
    weights /= weights.sum()

    def draw(size: int) -> np.ndarray:
        form = np.random.choice(len(names), size, p=weights)
        return np.array([pools[f][np.random.randint(len(pools[f]))] for f in form])

    return draw


def _layout_losses(ctx: Context, sc: dict, unet, train_text: bool) -> LayoutLosses | None:
    """The grounding loss and position probe when the config asks for them (release 4), else None."""
    grounding_weight, probe_weight = sc.get("grounding_weight", 0.0), sc.get("position_probe_weight", 0.0)
    if grounding_weight <= 0 and probe_weight <= 0:
        return None
    if ctx.grounding is None:
        raise ValueError("unet_train.grounding_weight and position_probe_weight need the corpus layouts (Context.grounding)")
    if probe_weight > 0 and not train_text:
        raise ValueError("unet_train.position_probe_weight > 0 trains the text encoder: set text_encoder_lr_scale > 0")
    return LayoutLosses(unet, ctx.grounding, ctx.cfg["text_encoder"]["width"], grounding_weight, probe_weight)


def stage_unet(ctx: Context, text_encoder, latents: dict, on_checkpoint=None, init_unet: dict | None = None):
    final = ctx.run_dir / "unet.final.pt"
    unet = new_unet(ctx)
    if init_unet is not None:
        unet.load_state_dict(init_unet)
    if final.exists():
        state = torch.load(final, map_location="cpu")
        return state
    sc = ctx.cfg["unet_train"]
    train_text = sc["text_encoder_lr_scale"] > 0
    text_encoder.requires_grad_(train_text)
    groups = [{"params": list(unet.parameters()), "lr_scale": 1.0}]
    if train_text:
        groups.append({"params": list(text_encoder.parameters()), "lr_scale": sc["text_encoder_lr_scale"]})
    layout = _layout_losses(ctx, sc, unet, train_text)
    probe = layout.probe if layout is not None else None
    if probe is not None:
        groups.append({"params": list(probe.to(ctx.device).parameters()), "lr_scale": 1.0})
    opt = torch.optim.AdamW(groups, lr=sc["lr"], weight_decay=sc["weight_decay"])
    ema_unet, ema_text = Ema(unet, sc["ema_decay"]), Ema(text_encoder, sc["ema_decay"])
    ck_path = ctx.run_dir / "unet.ckpt"
    ck = load_checkpoint(ck_path)
    if ck is not None:
        unet.load_state_dict(ck["unet"])
        text_encoder.load_state_dict(ck["text_encoder"])
        opt.load_state_dict(ck["opt"])
        ema_unet.load_state_dict(ck["ema_unet"])
        ema_text.load_state_dict(ck["ema_text"])
        if probe is not None:
            probe.load_state_dict(ck["probe"])
        set_rng_state(ck["rng"])
    clock = _clock_for(ctx, sc, ck)
    alphas = noise_schedule(ctx.cfg).to(ctx.device)
    snr = alphas / (1 - alphas)
    mean, std = latents["mean"], latents["std"]
    scaling = latents["scaling_factor"]
    n = len(mean)
    empty = torch.from_numpy(ctx.empty_ids).to(ctx.device)
    if not train_text:
        # A frozen text encoder gives each distinct caption one fixed set of states: compute them
        # once (forward only) instead of every step, which on a CPU costs about as much as the UNet.
        text_encoder.eval()
        tc = time.monotonic()
        unique, inverse = np.unique(ctx.ids[:n], axis=0, return_inverse=True)
        inverse = torch.from_numpy(inverse.reshape(-1))
        with torch.no_grad():
            cached = torch.cat([
                text_encoder(input_ids=torch.from_numpy(unique[i : i + 256]).to(ctx.device)).last_hidden_state.half().cpu()
                for i in range(0, len(unique), 256)
            ])  # fmt: skip
            empty_states = text_encoder(input_ids=empty[None]).last_hidden_state
        ctx.log.write("text_cache", captions=len(unique), seconds=round(time.monotonic() - tc, 1))
        clock.restart_timer()
    last_save = time.monotonic()
    t0 = time.monotonic()
    unet.train()
    if train_text:
        text_encoder.train()

    def snapshot() -> dict:
        return {
            "unet": unet.state_dict(), "text_encoder": text_encoder.state_dict(), "opt": opt.state_dict(),
            "ema_unet": ema_unet.state_dict(), "ema_text": ema_text.state_dict(), "rng": rng_state(), "clock": _clock_state(clock),
            **({"probe": probe.state_dict()} if probe is not None else {}),
        }  # fmt: skip

    draw_indices = _index_sampler(ctx, sc.get("form_share"), n)
    high_share, high_from = sc.get("high_noise_share", 0.0), sc.get("high_noise_from", 0)
    while not clock.done:
        idx = draw_indices(sc["batch_size"])
        it = torch.from_numpy(idx)
        z = _sample_latents(mean, std, idx, ctx.device) * scaling
        drop = torch.rand(len(idx), device=ctx.device) < sc["caption_dropout"]
        t = torch.randint(0, len(alphas), (len(idx),), device=ctx.device)
        if high_share > 0:
            # Layouts are decided in the first sampling steps; give those timesteps more batches.
            high = torch.rand(len(idx), device=ctx.device) < high_share
            t = torch.where(high, torch.randint(high_from, len(alphas), (len(idx),), device=ctx.device), t)
        noise = torch.randn_like(z)
        a = alphas[t].view(-1, 1, 1, 1)
        noisy = a.sqrt() * z + (1 - a).sqrt() * noise
        if train_text:
            ids = torch.where(drop[:, None], empty[None, :], ctx.batch_ids(idx))
            states = text_encoder(input_ids=ids).last_hidden_state
        else:
            states = torch.where(drop[:, None, None], empty_states, cached[inverse[it]].to(ctx.device).float())
        if layout is not None:
            layout.arm()
        pred = unet(noisy, t, states).sample
        # The epsilon loss weighs the x0 error by the SNR (min-SNR-gamma caps it at gamma). At
        # high noise, where a sample's layout (which object goes where, how many) is decided,
        # that weight is ~0.005; a floor keeps the layout learnable (release 3).
        x0_weight = torch.clamp(snr[t], max=sc["min_snr_gamma"], min=sc.get("x0_weight_floor", 0.0))
        weight = x0_weight / snr[t]
        loss = (weight * (pred - noise).pow(2).mean((1, 2, 3))).mean()
        extra = {}
        if layout is not None:
            layout_loss, extra = layout(idx, drop, torch.from_numpy(ctx.images[idx]).to(ctx.device), states)
            loss = loss + layout_loss
        lr = lr_at(clock.step, clock.progress, sc["lr"], sc["warmup_steps"])
        _set_lr(opt, lr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
        opt.step()
        ema_unet.update(unet)
        if train_text:
            ema_text.update(text_encoder)
        clock.tick()
        if clock.step % sc["log_every"] == 0 or clock.done:
            ctx.log.write("unet", step=clock.step, loss=loss.item(), mse=(pred - noise).pow(2).mean().item(), lr=lr, elapsed_s=round(clock.elapsed, 1), **extra)
        if time.monotonic() - last_save > ctx.cfg["checkpoint_minutes"] * 60:
            save_checkpoint(ck_path, snapshot())
            if on_checkpoint is not None:
                on_checkpoint(ema_unet.shadow, ema_text.shadow if train_text else text_encoder.state_dict(), clock.step)
            last_save = time.monotonic()
            clock.restart_timer()
    state = {
        "unet": ema_unet.shadow,
        "text_encoder": ema_text.shadow if train_text else text_encoder.state_dict(),
        "steps": clock.step,
        "train_seconds": clock.elapsed,
    }
    save_checkpoint(final, state)
    ctx.timings["unet"] = {"steps": clock.step, "train_seconds": round(clock.elapsed, 1), "wall_seconds_this_run": round(time.monotonic() - t0, 1)}
    return state
