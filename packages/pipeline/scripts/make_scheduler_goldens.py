"""Golden values for Easel's DDIM/DDPM/PNDM/LCM/Euler/Euler-Ancestral/Heun/LMS schedulers, from the real diffusers.

diffusers' own tests cover a handful of configs per scheduler; this script runs the real diffusers
schedulers over many more (epsilon / v_prediction / sample outputs, leading / trailing / linspace
spacings, steps_offset, the beta schedules, Karras / exponential sigmas, img2img-style starts) on the
deterministic sample and dummy model of diffusers' scheduler tests, and writes the results in the
format of ../shared/reference/diffusers-scheduler-vectors.json to
src/schedulers/__goldens__/diffusers-extra.json, where the scheduler conformance runner reads them.

Stochastic schedulers (DDPM, Euler Ancestral, LCM multi-step, DDIM with eta > 0) draw their noise from
numpy's legacy RandomState in Easel, not from torch's generator. So that the goldens stay exact, this
script replaces `randn_tensor` inside those diffusers modules with
`RandomState(seed).randn(*shape).astype(np.float32)` (one stream per case, drawn in call order) and
records it in the case as `"noise": {"source": "numpy_randn", "seed": S}`.

Pinned versions (the script refuses others): torch==2.13.0, diffusers==0.42.1, numpy==2.4.6.
Run from the repository root, then format the output with biome:

    .venv/bin/python packages/pipeline/scripts/make_scheduler_goldens.py
    pnpm biome format --write packages/pipeline/src/schedulers/__goldens__/diffusers-extra.json
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import diffusers
import numpy as np
import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
    LCMScheduler,
    LMSDiscreteScheduler,
    PNDMScheduler,
)
from diffusers.schedulers import (
    scheduling_ddim,
    scheduling_ddpm,
    scheduling_euler_ancestral_discrete,
    scheduling_lcm,
)

PINNED = {"diffusers": "0.42.1", "torch": "2.13.0", "numpy": "2.4.6"}
OUT = Path(__file__).resolve().parent.parent / "src/schedulers/__goldens__/diffusers-extra.json"

# Flat indices of the final sample recorded verbatim: sums of absolute values cannot see a sign
# error, these can. Spread over batch, channel and spatial positions.
VALUE_INDICES = [0, 1, 97, 194, 291, 388, 485, 582, 679, 767]

# Tolerances. The port repeats torch's float32 arithmetic operation by operation, so what remains is
# the odd ulp from libm (log/exp/pow), numpy's SIMD float32 log, and the LMS integrals (scipy quad at
# epsrel 1e-4 on a float32 integrand here, exact there). Relative to the expected value, with a floor.
REL_TOL = 2e-5
TOL_VALUE = 2e-5  # relative to the largest recorded value

CLASSES = {
    "DDIMScheduler": DDIMScheduler,
    "DDPMScheduler": DDPMScheduler,
    "PNDMScheduler": PNDMScheduler,
    "LCMScheduler": LCMScheduler,
    "EulerDiscreteScheduler": EulerDiscreteScheduler,
    "EulerAncestralDiscreteScheduler": EulerAncestralDiscreteScheduler,
    "HeunDiscreteScheduler": HeunDiscreteScheduler,
    "LMSDiscreteScheduler": LMSDiscreteScheduler,
}
K_DIFFUSION = {
    "EulerDiscreteScheduler",
    "EulerAncestralDiscreteScheduler",
    "HeunDiscreteScheduler",
    "LMSDiscreteScheduler",
}

LINEAR = {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear"}
SD = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}
# Stable Diffusion 1.x's shipped scheduler_config.json values (PNDM with these keys).
SD_FILE = {**SD, "steps_offset": 1, "set_alpha_to_one": False, "skip_prk_steps": True, "clip_sample": False}
COS = {"num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2"}
ZERO_SNR = {**SD, "rescale_betas_zero_snr": True, "timestep_spacing": "trailing", "prediction_type": "v_prediction"}

DDIM = "DDIMScheduler"
DDPM = "DDPMScheduler"
PNDM = "PNDMScheduler"
LCM = "LCMScheduler"
EULER = "EulerDiscreteScheduler"
EULER_A = "EulerAncestralDiscreteScheduler"
HEUN = "HeunDiscreteScheduler"
LMS = "LMSDiscreteScheduler"

# (id, class, config, steps, options); options: t_start (add_noise_at_t_start), seed (numpy noise), eta.
CASES: list[tuple[str, str, dict, int, dict]] = [
    # --- DDIM ---
    ("ddim.eps_leading", DDIM, {**LINEAR}, 10, {}),
    ("ddim.v_prediction", DDIM, {**LINEAR, "prediction_type": "v_prediction"}, 10, {}),
    ("ddim.sample_prediction_trailing", DDIM, {**LINEAR, "prediction_type": "sample", "timestep_spacing": "trailing"}, 10, {}),
    ("ddim.linspace", DDIM, {**LINEAR, "timestep_spacing": "linspace"}, 10, {}),
    ("ddim.trailing", DDIM, {**LINEAR, "timestep_spacing": "trailing"}, 10, {}),
    ("ddim.trailing_7_steps", DDIM, {**LINEAR, "timestep_spacing": "trailing"}, 7, {}),
    ("ddim.sd_file_20_steps", DDIM, {**SD_FILE}, 20, {}),
    ("ddim.sd_no_clip_v_prediction", DDIM, {**SD, "clip_sample": False, "prediction_type": "v_prediction"}, 25, {}),
    ("ddim.squaredcos", DDIM, {**COS}, 10, {}),
    ("ddim.zero_snr_trailing_v", DDIM, {**ZERO_SNR, "clip_sample": False}, 10, {}),
    ("ddim.thresholding", DDIM, {**LINEAR, "thresholding": True, "sample_max_value": 1.5}, 10, {}),
    (
        "ddim.thresholding_sample_ratio",
        DDIM,
        {
            **LINEAR,
            "prediction_type": "sample",
            "timestep_spacing": "trailing",
            "thresholding": True,
            "dynamic_thresholding_ratio": 0.9,
            "sample_max_value": 3.0,
        },
        10,
        {},
    ),
    ("ddim.clip_range", DDIM, {**LINEAR, "clip_sample_range": 0.5}, 10, {}),
    ("ddim.trained_betas", DDIM, {"num_train_timesteps": 100, "trained_betas": np.linspace(0.001, 0.2, 100).tolist()}, 10, {}),
    ("ddim.with_noise_sd", DDIM, {**SD_FILE}, 20, {"t_start": 8}),
    ("ddim.eta_1_numpy_noise", DDIM, {**LINEAR}, 10, {"seed": 0, "eta": 1.0}),
    ("ddim.eta_half_sd_numpy_noise", DDIM, {**SD_FILE}, 20, {"seed": 7, "eta": 0.5}),
    # --- DDPM (always stochastic) ---
    ("ddpm.fixed_small", DDPM, {**LINEAR}, 10, {"seed": 0}),
    ("ddpm.v_prediction", DDPM, {**LINEAR, "prediction_type": "v_prediction"}, 10, {"seed": 1}),
    ("ddpm.sample_prediction_trailing", DDPM, {**LINEAR, "prediction_type": "sample", "timestep_spacing": "trailing"}, 10, {"seed": 2}),
    ("ddpm.fixed_small_log", DDPM, {**LINEAR, "variance_type": "fixed_small_log"}, 10, {"seed": 3}),
    ("ddpm.fixed_large", DDPM, {**LINEAR, "variance_type": "fixed_large"}, 10, {"seed": 4}),
    ("ddpm.sd_trailing_no_clip", DDPM, {**SD, "timestep_spacing": "trailing", "clip_sample": False}, 20, {"seed": 5}),
    ("ddpm.linspace", DDPM, {**LINEAR, "timestep_spacing": "linspace"}, 10, {"seed": 6}),
    ("ddpm.leading_offset", DDPM, {**LINEAR, "steps_offset": 1}, 10, {"seed": 7}),
    ("ddpm.sigmoid", DDPM, {**LINEAR, "beta_schedule": "sigmoid"}, 10, {"seed": 8}),
    ("ddpm.squaredcos", DDPM, {**COS}, 10, {"seed": 9}),
    ("ddpm.thresholding", DDPM, {**LINEAR, "thresholding": True, "sample_max_value": 1.5}, 10, {"seed": 10}),
    ("ddpm.zero_snr", DDPM, {**ZERO_SNR, "clip_sample": False}, 10, {"seed": 11}),
    ("ddpm.with_noise", DDPM, {**LINEAR}, 10, {"seed": 12, "t_start": 6}),
    # --- PNDM ---
    ("pndm.prk_leading", PNDM, {**LINEAR}, 10, {}),
    ("pndm.prk_linspace", PNDM, {**LINEAR, "timestep_spacing": "linspace"}, 10, {}),
    ("pndm.prk_v_prediction_sd", PNDM, {**SD, "prediction_type": "v_prediction"}, 20, {}),
    ("pndm.prk_squaredcos", PNDM, {**COS}, 10, {}),
    ("pndm.skip_prk", PNDM, {**LINEAR, "skip_prk_steps": True}, 10, {}),
    ("pndm.skip_prk_v_prediction", PNDM, {**LINEAR, "skip_prk_steps": True, "prediction_type": "v_prediction"}, 10, {}),
    ("pndm.sd_file_50_steps", PNDM, {**SD_FILE}, 50, {}),
    ("pndm.skip_prk_trailing", PNDM, {**SD, "skip_prk_steps": True, "timestep_spacing": "trailing"}, 10, {}),
    ("pndm.skip_prk_linspace_alpha_one", PNDM, {**LINEAR, "skip_prk_steps": True, "timestep_spacing": "linspace", "set_alpha_to_one": True}, 10, {}),
    ("pndm.skip_prk_with_noise", PNDM, {**SD_FILE}, 20, {"t_start": 5}),
    # --- LCM ---
    ("lcm.one_step", LCM, {}, 1, {}),
    ("lcm.four_steps_numpy_noise", LCM, {}, 4, {"seed": 0}),
    ("lcm.eight_steps_v_prediction", LCM, {"prediction_type": "v_prediction"}, 8, {"seed": 1}),
    ("lcm.sample_prediction", LCM, {"prediction_type": "sample"}, 4, {"seed": 2}),
    ("lcm.original_steps_25_linear", LCM, {**LINEAR, "original_inference_steps": 25}, 6, {"seed": 3}),
    ("lcm.clip_sample", LCM, {"clip_sample": True, "clip_sample_range": 0.8}, 4, {"seed": 4}),
    ("lcm.thresholding", LCM, {"thresholding": True, "sample_max_value": 1.2}, 4, {"seed": 5}),
    ("lcm.timestep_scaling_5_no_alpha_one", LCM, {"timestep_scaling": 5.0, "set_alpha_to_one": False}, 3, {"seed": 6}),
    ("lcm.with_noise", LCM, {}, 8, {"seed": 7, "t_start": 4}),
    # --- Euler ---
    ("euler.linspace", EULER, {**LINEAR}, 10, {}),
    ("euler.v_prediction", EULER, {**LINEAR, "prediction_type": "v_prediction"}, 10, {"t_start": 5}),
    ("euler.sample_prediction_trailing", EULER, {**LINEAR, "prediction_type": "sample", "timestep_spacing": "trailing"}, 10, {"t_start": 5}),
    ("euler.sd_leading_offset", EULER, {**SD, "timestep_spacing": "leading", "steps_offset": 1}, 20, {}),
    ("euler.trailing", EULER, {**SD, "timestep_spacing": "trailing"}, 10, {}),
    ("euler.karras", EULER, {**SD, "use_karras_sigmas": True}, 25, {"t_start": 15}),
    ("euler.karras_sigma_bounds", EULER, {**SD, "use_karras_sigmas": True, "sigma_min": 0.1, "sigma_max": 10.0}, 10, {}),
    ("euler.exponential", EULER, {**LINEAR, "use_exponential_sigmas": True}, 10, {}),
    ("euler.log_linear", EULER, {**LINEAR, "interpolation_type": "log_linear"}, 10, {}),
    ("euler.final_sigma_min", EULER, {**LINEAR, "final_sigmas_type": "sigma_min"}, 10, {}),
    ("euler.zero_snr_trailing_v", EULER, {**ZERO_SNR}, 10, {}),
    ("euler.continuous_v_prediction", EULER, {**SD, "prediction_type": "v_prediction", "timestep_type": "continuous"}, 10, {}),
    ("euler.squaredcos", EULER, {**COS}, 10, {}),
    ("euler.with_noise", EULER, {**LINEAR}, 10, {"t_start": 4}),
    # --- Euler Ancestral (always stochastic) ---
    ("euler_ancestral.linspace", EULER_A, {**LINEAR}, 10, {"seed": 0}),
    ("euler_ancestral.v_prediction", EULER_A, {**LINEAR, "prediction_type": "v_prediction"}, 10, {"seed": 1}),
    ("euler_ancestral.sd_leading_offset", EULER_A, {**SD, "timestep_spacing": "leading", "steps_offset": 1}, 20, {"seed": 2}),
    ("euler_ancestral.trailing", EULER_A, {**SD, "timestep_spacing": "trailing"}, 10, {"seed": 3}),
    ("euler_ancestral.zero_snr_trailing_v", EULER_A, {**ZERO_SNR}, 10, {"seed": 4}),
    ("euler_ancestral.with_noise", EULER_A, {**LINEAR}, 10, {"seed": 5, "t_start": 3}),
    # --- Heun ---
    ("heun.linspace", HEUN, {**LINEAR}, 10, {}),
    ("heun.defaults", HEUN, {}, 10, {"t_start": 5}),
    ("heun.v_prediction", HEUN, {**LINEAR, "prediction_type": "v_prediction"}, 10, {"t_start": 5}),
    ("heun.sample_prediction_trailing", HEUN, {**LINEAR, "prediction_type": "sample", "timestep_spacing": "trailing"}, 10, {"t_start": 5}),
    ("heun.karras", HEUN, {**SD, "use_karras_sigmas": True}, 15, {"t_start": 9}),
    ("heun.exponential", HEUN, {**SD, "use_exponential_sigmas": True}, 10, {}),
    ("heun.sd_leading_offset", HEUN, {**SD, "timestep_spacing": "leading", "steps_offset": 1}, 10, {}),
    ("heun.trailing", HEUN, {**SD, "timestep_spacing": "trailing"}, 10, {}),
    ("heun.clip_sample", HEUN, {**LINEAR, "clip_sample": True, "clip_sample_range": 2.0}, 10, {"t_start": 5}),
    ("heun.squaredcos", HEUN, {**COS}, 10, {}),
    ("heun.exp_schedule", HEUN, {**LINEAR, "beta_schedule": "exp"}, 10, {"t_start": 5}),
    ("heun.with_noise", HEUN, {**LINEAR}, 10, {"t_start": 4}),
    # --- LMS ---
    ("lms.linspace", LMS, {**LINEAR}, 10, {}),
    ("lms.v_prediction", LMS, {**LINEAR, "prediction_type": "v_prediction"}, 10, {"t_start": 4}),
    ("lms.sample_prediction_trailing", LMS, {**LINEAR, "prediction_type": "sample", "timestep_spacing": "trailing"}, 10, {"t_start": 4}),
    ("lms.karras", LMS, {**SD, "use_karras_sigmas": True}, 20, {"t_start": 12}),
    ("lms.exponential", LMS, {**SD, "use_exponential_sigmas": True}, 10, {}),
    ("lms.sd_leading_offset", LMS, {**SD, "timestep_spacing": "leading", "steps_offset": 1}, 25, {"t_start": 12}),
    ("lms.trailing", LMS, {**SD, "timestep_spacing": "trailing"}, 10, {}),
    ("lms.squaredcos", LMS, {**COS}, 10, {}),
    ("lms.with_noise", LMS, {**LINEAR}, 10, {"t_start": 5}),
]


class NumpyNoise:
    """Stands in for diffusers' `randn_tensor`: float32 draws from one numpy RandomState per case."""

    def __init__(self) -> None:
        self.state: np.random.RandomState | None = None

    def __call__(self, shape, generator=None, device=None, dtype=None, layout=None):  # noqa: ANN001
        if self.state is None:
            raise RuntimeError("a case without a numpy seed drew noise; give it one")
        draws = self.state.randn(*tuple(shape)).astype(np.float32)
        return torch.from_numpy(draws).to(dtype=dtype or torch.float32)


NOISE = NumpyNoise()
for module in (scheduling_ddim, scheduling_ddpm, scheduling_euler_ancestral_discrete, scheduling_lcm):
    module.randn_tensor = NOISE


def check_versions() -> None:
    found = {"diffusers": diffusers.__version__, "torch": torch.__version__.split("+")[0], "numpy": np.__version__}
    if found != PINNED:
        raise SystemExit(f"make_scheduler_goldens: needs {PINNED}, found {found}")


def dummy_sample_deter() -> torch.Tensor:
    n = 4 * 3 * 8 * 8
    return (torch.arange(n).reshape(3, 8, 8, 4) / n).permute(3, 0, 1, 2)


def dummy_noise_deter() -> torch.Tensor:
    n = 4 * 3 * 8 * 8
    return (torch.arange(n).flip(-1).reshape(3, 8, 8, 4) / n).permute(3, 0, 1, 2)


def dummy_model(sample: torch.Tensor, t) -> torch.Tensor:  # noqa: ANN001
    if isinstance(t, torch.Tensor):
        t = t.reshape(-1, *(1,) * (sample.ndim - 1)).to(sample.device, dtype=sample.dtype)
    return sample * t / (t + 1)


def run_case(cls_name: str, config: dict, steps: int, options: dict) -> tuple[torch.Tensor, list]:
    seed = options.get("seed")
    NOISE.state = None if seed is None else np.random.RandomState(seed)
    # from_config, as pipelines load them: keys the class does not declare are ignored.
    scheduler = CLASSES[cls_name].from_config(config)
    scheduler.set_timesteps(steps)
    k_diffusion = cls_name in K_DIFFUSION
    all_timesteps = [t.item() for t in scheduler.timesteps]
    sample = dummy_sample_deter()
    if k_diffusion:
        sample = sample * scheduler.init_noise_sigma
    timesteps = scheduler.timesteps
    t_start = options.get("t_start")
    if t_start is not None:
        timesteps = timesteps[t_start * scheduler.order :]
        sample = scheduler.add_noise(sample, dummy_noise_deter(), timesteps[:1])
    step_kwargs = {"eta": options["eta"]} if "eta" in options else {}
    for t in timesteps:
        if k_diffusion:
            # As diffusers' tests do: the SCALED sample goes on to step().
            sample = scheduler.scale_model_input(sample, t)
        sample = scheduler.step(dummy_model(sample, t), t, sample, **step_kwargs).prev_sample
    return sample, all_timesteps


def json_config(config: dict) -> dict:
    return {k: ("-inf" if isinstance(v, float) and math.isinf(v) else v) for k, v in config.items()}


def main() -> None:
    check_versions()
    torch.set_num_threads(1)
    cases = []
    for case_id, cls_name, config, steps, options in CASES:
        sample, timesteps = run_case(cls_name, config, steps, options)
        if not torch.isfinite(sample).all():
            raise SystemExit(f"{case_id}: diffusers produced non-finite values; not a usable golden")
        flat = sample.reshape(-1).double()
        abs_sum = flat.abs().sum().item()
        abs_mean = flat.abs().mean().item()
        loop = "k_diffusion_scaled" if cls_name in K_DIFFUSION else "plain"
        case = {
            "id": case_id,
            "scheduler_class": cls_name,
            "config": json_config(config),
            "num_inference_steps": steps,
            "loop": loop,
            "sample": "dummy_sample_deter",
            "add_noise_at_t_start": options.get("t_start"),
        }
        if "seed" in options:
            case["noise"] = {"source": "numpy_randn", "seed": options["seed"]}
        if "eta" in options:
            case["eta"] = options["eta"]
        case["notes"] = "generated by packages/pipeline/scripts/make_scheduler_goldens.py"
        case["expected"] = {
            "abs_sum": abs_sum,
            "abs_mean": abs_mean,
            "tol_sum": REL_TOL * abs_sum,
            "tol_mean": REL_TOL * abs_mean,
            "timesteps": timesteps,
            "values": {
                "indices": VALUE_INDICES,
                "values": [flat[i].item() for i in VALUE_INDICES],
                "tol": TOL_VALUE * max(abs(flat[i].item()) for i in VALUE_INDICES),
            },
        }
        cases.append(case)
    doc = {
        "common": {
            "source": (
                f"diffusers=={PINNED['diffusers']} torch=={PINNED['torch']} numpy=={PINNED['numpy']} (CPU, 1 thread), "
                "run by packages/pipeline/scripts/make_scheduler_goldens.py"
            ),
            "dummy_model": "sample * t / (t + 1), t cast to float32 (int64 timesteps for discrete schedulers)",
            "dummy_sample_deter": "element [b,c,h,w] = (c*256 + h*32 + w*4 + b)/768, shape (4,3,8,8), float32",
            "dummy_noise_deter": "element [b,c,h,w] = (767 - (c*256 + h*32 + w*4 + b))/768",
            "loops": {
                "plain": "sample = S; set_timesteps(N); for t in timesteps: sample = step(model(sample, t), t, sample[, eta]).prev_sample",
                "k_diffusion_scaled": (
                    "set_timesteps(N); sample = S * init_noise_sigma; for t in timesteps: "
                    "sample = scale_model_input(sample, t); sample = step(model(sample, t), t, sample).prev_sample"
                ),
                "with add_noise_at_t_start = K": (
                    "timesteps = timesteps[K*order:]; sample = add_noise(sample, dummy_noise_deter, timesteps[:1]) "
                    "before the loop"
                ),
            },
            "noise": (
                "cases with noise {source: numpy_randn, seed: S} ran with diffusers' randn_tensor replaced by "
                "np.random.RandomState(S).randn(*shape).astype(np.float32), one stream per case in call order"
            ),
            "metric": (
                "abs_sum and abs_mean of the final float32 sample, summed in float64 (full precision); "
                "expected.timesteps = scheduler.timesteps after set_timesteps(N); "
                "expected.values = the final sample at the flat (row-major) indices given"
            ),
        },
        "full_loop": cases,
        "exact": [],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
