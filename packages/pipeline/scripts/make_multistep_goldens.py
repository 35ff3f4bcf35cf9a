"""Golden values for Easel's DPM-Solver multistep and UniPC schedulers, from the real diffusers.

Runs diffusers' DPMSolverMultistepScheduler and UniPCMultistepScheduler over many configs on the
deterministic sample and dummy model of diffusers' own scheduler tests, and writes the results in
the format of ../shared/reference/diffusers-scheduler-vectors.json (so the scheduler conformance
runner reads both) to src/schedulers/__goldens__/diffusers-multistep.json.

Pinned versions (the script refuses others): diffusers==0.42.1, torch==2.13.0, numpy==2.4.6.
Run from the repository root:

    .venv/bin/python packages/pipeline/scripts/make_multistep_goldens.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import diffusers
import numpy as np
import torch
from diffusers import DPMSolverMultistepScheduler, UniPCMultistepScheduler

PINNED = {"diffusers": "0.42.1", "torch": "2.13.0", "numpy": "2.4.6"}
OUT = Path(__file__).resolve().parent.parent / "src/schedulers/__goldens__/diffusers-multistep.json"

# Flat indices of the final sample recorded verbatim: sums of absolute values cannot see a sign
# error, these can. Spread over batch, channel and spatial positions.
VALUE_INDICES = [1, 97, 194, 291, 388, 485, 582, 679, 767]

# Tolerances: the port emulates torch's float32 arithmetic operation by operation, so results
# differ from torch only by the odd ulp (libm exp/log, LAPACK, summation order).
TOL_SUM = 2e-3
TOL_MEAN = 3e-6
TOL_VALUE = 2e-5

CLASSES = {
    "DPMSolverMultistepScheduler": DPMSolverMultistepScheduler,
    "UniPCMultistepScheduler": UniPCMultistepScheduler,
}

LINEAR = {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear"}
SD = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}

# (id, class, config, steps, add_noise_at_t_start[, numpy noise seed for the SDE variants])
DPM = "DPMSolverMultistepScheduler"
UNI = "UniPCMultistepScheduler"
SDE_SEED = 1234
CASES: list[tuple] = [
    # --- DPM-Solver multistep ---
    ("dpm_multi.pp_order1", DPM, {**LINEAR, "solver_order": 1}, 10, None),
    ("dpm_multi.pp_order2_midpoint_defaults", DPM, {**LINEAR}, 10, None),
    ("dpm_multi.pp_order2_heun", DPM, {**LINEAR, "solver_type": "heun"}, 10, None),
    (
        "dpm_multi.pp_order2_midpoint_sigma_min_no_lower_final",
        DPM,
        {**LINEAR, "final_sigmas_type": "sigma_min", "lower_order_final": False},
        10,
        None,
    ),
    ("dpm_multi.pp_order2_20_steps_lower_final_off", DPM, {**LINEAR, "lower_order_final": False}, 20, None),
    ("dpm_multi.pp_order2_euler_at_final", DPM, {**LINEAR, "euler_at_final": True, "final_sigmas_type": "sigma_min"}, 20, None),
    ("dpm_multi.pp_order3", DPM, {**LINEAR, "solver_order": 3}, 10, None),
    (
        "dpm_multi.pp_order3_sigma_min_no_lower_final",
        DPM,
        {**LINEAR, "solver_order": 3, "final_sigmas_type": "sigma_min", "lower_order_final": False},
        10,
        None,
    ),
    ("dpm_multi.pp_karras", DPM, {**LINEAR, "use_karras_sigmas": True}, 10, None),
    ("dpm_multi.pp_karras_sd_25_steps", DPM, {**SD, "use_karras_sigmas": True}, 25, None),
    ("dpm_multi.pp_karras_heun_zero", DPM, {**LINEAR, "use_karras_sigmas": True, "solver_type": "heun"}, 10, None),
    (
        "dpm_multi.pp_karras_v_prediction_h_zero",
        DPM,
        {
            **LINEAR,
            "use_karras_sigmas": True,
            "prediction_type": "v_prediction",
            "final_sigmas_type": "sigma_min",
            "lower_order_final": False,
        },
        10,
        None,
    ),
    ("dpm_multi.pp_lu_lambdas", DPM, {**LINEAR, "use_lu_lambdas": True}, 10, None),
    ("dpm_multi.pp_exponential_sigmas", DPM, {**LINEAR, "use_exponential_sigmas": True}, 10, None),
    ("dpm_multi.pp_v_prediction", DPM, {**LINEAR, "prediction_type": "v_prediction"}, 10, None),
    (
        "dpm_multi.pp_sample_prediction_thresholding",
        DPM,
        {**LINEAR, "prediction_type": "sample", "thresholding": True, "sample_max_value": 1.5},
        10,
        None,
    ),
    (
        "dpm_multi.pp_sample_prediction_thresholding_ratio",
        DPM,
        {
            **LINEAR,
            "prediction_type": "sample",
            "thresholding": True,
            "sample_max_value": 5.0,
            "dynamic_thresholding_ratio": 0.9,
        },
        10,
        None,
    ),
    ("dpm_multi.pp_trailing", DPM, {**LINEAR, "timestep_spacing": "trailing"}, 10, None),
    ("dpm_multi.pp_leading_offset", DPM, {**LINEAR, "timestep_spacing": "leading", "steps_offset": 1}, 10, None),
    ("dpm_multi.pp_sd_linspace_20_steps", DPM, {**SD}, 20, None),
    ("dpm_multi.pp_squaredcos", DPM, {**LINEAR, "beta_schedule": "squaredcos_cap_v2"}, 10, None),
    ("dpm_multi.pp_lambda_min_clipped", DPM, {**LINEAR, "beta_schedule": "squaredcos_cap_v2", "lambda_min_clipped": -5.1}, 10, None),
    ("dpm_multi.pp_karras_wins_over_lu", DPM, {**LINEAR, "use_karras_sigmas": True, "use_lu_lambdas": True}, 10, None),
    (
        "dpm_multi.pp_zero_snr_trailing_v_prediction",
        DPM,
        {
            **SD,
            "rescale_betas_zero_snr": True,
            "timestep_spacing": "trailing",
            "prediction_type": "v_prediction",
        },
        10,
        None,
    ),
    ("dpm_multi.pp_with_noise", DPM, {**LINEAR}, 10, 5),
    ("dpm_multi.pp_karras_with_noise", DPM, {**LINEAR, "use_karras_sigmas": True}, 10, 3),
    ("dpm_multi.pp_one_step", DPM, {**LINEAR}, 1, None),
    ("dpm_multi.sde_pp_order1", DPM, {**LINEAR, "algorithm_type": "sde-dpmsolver++", "solver_order": 1}, 10, None, SDE_SEED),
    ("dpm_multi.sde_pp_order2_midpoint", DPM, {**LINEAR, "algorithm_type": "sde-dpmsolver++"}, 10, None, SDE_SEED),
    (
        "dpm_multi.sde_pp_order2_heun_karras",
        DPM,
        {**LINEAR, "algorithm_type": "sde-dpmsolver++", "solver_type": "heun", "use_karras_sigmas": True},
        10,
        None,
        SDE_SEED,
    ),
    (
        "dpm_multi.sde_pp_order3_sigma_min",
        DPM,
        {**LINEAR, "algorithm_type": "sde-dpmsolver++", "solver_order": 3, "final_sigmas_type": "sigma_min"},
        10,
        None,
        SDE_SEED,
    ),
    (
        "dpm_multi.sde_dpmsolver_midpoint",
        DPM,
        {**LINEAR, "algorithm_type": "sde-dpmsolver", "final_sigmas_type": "sigma_min"},
        10,
        None,
        SDE_SEED,
    ),
    (
        "dpm_multi.sde_dpmsolver_heun",
        DPM,
        {**LINEAR, "algorithm_type": "sde-dpmsolver", "solver_type": "heun", "final_sigmas_type": "sigma_min"},
        10,
        None,
        SDE_SEED,
    ),
    (
        "dpm_multi.dpmsolver_midpoint",
        DPM,
        {**LINEAR, "algorithm_type": "dpmsolver", "final_sigmas_type": "sigma_min"},
        10,
        None,
    ),
    (
        "dpm_multi.dpmsolver_heun",
        DPM,
        {**LINEAR, "algorithm_type": "dpmsolver", "solver_type": "heun", "final_sigmas_type": "sigma_min"},
        10,
        None,
    ),
    (
        "dpm_multi.dpmsolver_order3_v_prediction",
        DPM,
        {
            **LINEAR,
            "algorithm_type": "dpmsolver",
            "solver_order": 3,
            "prediction_type": "v_prediction",
            "final_sigmas_type": "sigma_min",
        },
        10,
        None,
    ),
    (
        "dpm_multi.dpmsolver_sample_prediction_thresholding",
        DPM,
        {
            **LINEAR,
            "algorithm_type": "dpmsolver",
            "prediction_type": "sample",
            "thresholding": True,
            "sample_max_value": 1.5,
            "final_sigmas_type": "sigma_min",
        },
        10,
        None,
    ),
    # --- UniPC ---
    ("unipc.bh2_order2_defaults", UNI, {**LINEAR}, 10, None),
    ("unipc.bh2_order2_sigma_min", UNI, {**LINEAR, "final_sigmas_type": "sigma_min"}, 10, None),
    ("unipc.bh1_order2_sigma_min", UNI, {**LINEAR, "solver_type": "bh1", "final_sigmas_type": "sigma_min"}, 10, None),
    ("unipc.bh2_order1", UNI, {**LINEAR, "solver_order": 1}, 10, None),
    ("unipc.bh2_order3", UNI, {**LINEAR, "solver_order": 3}, 10, None),
    (
        "unipc.bh1_order3_sigma_min_no_lower_final",
        UNI,
        {**LINEAR, "solver_order": 3, "solver_type": "bh1", "final_sigmas_type": "sigma_min", "lower_order_final": False},
        10,
        None,
    ),
    ("unipc.bh2_order3_20_steps", UNI, {**LINEAR, "solver_order": 3}, 20, None),
    ("unipc.disable_corrector", UNI, {**LINEAR, "disable_corrector": [0, 1, 4]}, 10, None),
    ("unipc.karras", UNI, {**LINEAR, "use_karras_sigmas": True}, 10, None),
    ("unipc.karras_sd_25_steps", UNI, {**SD, "use_karras_sigmas": True}, 25, None),
    ("unipc.karras_sigma_min", UNI, {**LINEAR, "use_karras_sigmas": True, "final_sigmas_type": "sigma_min"}, 10, None),
    (
        "unipc.karras_config_sigma_bounds",
        UNI,
        {**LINEAR, "use_karras_sigmas": True, "sigma_min": 0.05, "sigma_max": 40.0},
        10,
        None,
    ),
    (
        "unipc.zero_snr_trailing_v_prediction",
        UNI,
        {
            **SD,
            "rescale_betas_zero_snr": True,
            "timestep_spacing": "trailing",
            "prediction_type": "v_prediction",
        },
        10,
        None,
    ),
    ("unipc.exponential_sigmas", UNI, {**LINEAR, "use_exponential_sigmas": True}, 10, None),
    ("unipc.v_prediction", UNI, {**LINEAR, "prediction_type": "v_prediction"}, 10, None),
    (
        "unipc.sample_prediction_thresholding",
        UNI,
        {**LINEAR, "prediction_type": "sample", "thresholding": True, "sample_max_value": 1.5},
        10,
        None,
    ),
    (
        "unipc.noise_prediction_sigma_min",
        UNI,
        {**LINEAR, "predict_x0": False, "final_sigmas_type": "sigma_min"},
        10,
        None,
    ),
    (
        "unipc.noise_prediction_bh1_order3_v_prediction",
        UNI,
        {
            **LINEAR,
            "predict_x0": False,
            "solver_type": "bh1",
            "solver_order": 3,
            "prediction_type": "v_prediction",
            "final_sigmas_type": "sigma_min",
        },
        10,
        None,
    ),
    ("unipc.trailing", UNI, {**LINEAR, "timestep_spacing": "trailing"}, 10, None),
    ("unipc.leading_offset", UNI, {**LINEAR, "timestep_spacing": "leading", "steps_offset": 1}, 10, None),
    ("unipc.sd_linspace_20_steps", UNI, {**SD}, 20, None),
    ("unipc.with_noise", UNI, {**LINEAR}, 10, 5),
    ("unipc.karras_with_noise", UNI, {**LINEAR, "use_karras_sigmas": True}, 10, 3),
]


def check_versions() -> None:
    found = {"diffusers": diffusers.__version__, "torch": torch.__version__.split("+")[0], "numpy": np.__version__}
    if found != PINNED:
        raise SystemExit(f"make_multistep_goldens: needs {PINNED}, found {found}")


def dummy_sample_deter() -> torch.Tensor:
    n = 4 * 3 * 8 * 8
    s = torch.arange(n).reshape(3, 8, 8, 4) / n
    return s.permute(3, 0, 1, 2)


def dummy_noise_deter() -> torch.Tensor:
    n = 4 * 3 * 8 * 8
    s = torch.arange(n).flip(-1).reshape(3, 8, 8, 4) / n
    return s.permute(3, 0, 1, 2)


def dummy_model(sample: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    t = t.reshape(-1, *(1,) * (sample.ndim - 1)).to(sample.device, dtype=sample.dtype)
    return sample * t / (t + 1)


def run_case(
    cls_name: str, config: dict, steps: int, t_start: int | None, seed: int | None = None
) -> tuple[torch.Tensor, list[int]]:
    scheduler = CLASSES[cls_name](**config)
    scheduler.set_timesteps(steps)
    all_timesteps = [int(t) for t in scheduler.timesteps]
    timesteps = scheduler.timesteps
    sample = dummy_sample_deter()
    if t_start is not None:
        timesteps = timesteps[t_start * scheduler.order :]
        sample = scheduler.add_noise(sample, dummy_noise_deter(), timesteps[:1])
    # The SDE variants take one numpy stream, drawn in call order (Easel's NoiseSource), not torch's RNG.
    rng = np.random.RandomState(seed) if seed is not None else None
    for t in timesteps:
        kwargs = {}
        if rng is not None:
            draw = rng.randn(sample.numel()).astype(np.float32)
            kwargs["variance_noise"] = torch.from_numpy(draw).reshape(sample.shape)
        sample = scheduler.step(dummy_model(sample, t), t, sample, **kwargs).prev_sample
    return sample, all_timesteps


def json_config(config: dict) -> dict:
    return {k: ("-inf" if isinstance(v, float) and math.isinf(v) else v) for k, v in config.items()}


def main() -> None:
    check_versions()
    torch.set_num_threads(1)
    cases = []
    for case_id, cls_name, config, steps, t_start, *rest in CASES:
        seed = rest[0] if rest else None
        sample, timesteps = run_case(cls_name, config, steps, t_start, seed)
        if not torch.isfinite(sample).all():
            raise SystemExit(f"{case_id}: diffusers produced non-finite values; not a usable golden")
        flat = sample.reshape(-1).double()
        loop_note = "plain" if t_start is None else f"plain after add_noise at timesteps[{t_start}]"
        case = {
            "id": case_id,
            "scheduler_class": cls_name,
            "config": json_config(config),
            "num_inference_steps": steps,
            "loop": "plain",
            "add_noise_at_t_start": t_start,
            "sample": "dummy_sample_deter",
            "notes": f"generated by packages/pipeline/scripts/make_multistep_goldens.py ({loop_note})",
            "expected": {
                "abs_sum": flat.abs().sum().item(),
                "abs_mean": flat.abs().mean().item(),
                "tol_sum": TOL_SUM,
                "tol_mean": TOL_MEAN,
                "timesteps": timesteps,
                "values": {
                    "indices": VALUE_INDICES,
                    "values": [flat[i].item() for i in VALUE_INDICES],
                    "tol": TOL_VALUE,
                },
            },
        }
        if seed is not None:
            case["noise"] = {"source": "numpy_randn", "seed": seed}
        cases.append(case)
    doc = {
        "common": {
            "source": (
                f"diffusers=={PINNED['diffusers']} torch=={PINNED['torch']} numpy=={PINNED['numpy']} (CPU, 1 thread), "
                "run by packages/pipeline/scripts/make_multistep_goldens.py"
            ),
            "dummy_model": "sample * t / (t + 1), t an int64 timestep cast to float32",
            "dummy_sample_deter": "element [b,c,h,w] = (c*256 + h*32 + w*4 + b)/768, shape (4,3,8,8), float32",
            "dummy_noise_deter": "element [b,c,h,w] = (767 - (c*256 + h*32 + w*4 + b))/768",
            "loops": {
                "plain": (
                    "sample = S; set_timesteps(N); for t in timesteps: sample = step(model(sample, t), t, sample).prev_sample; "
                    "with add_noise_at_t_start = K: timesteps = timesteps[K:], sample = add_noise(S, noise, timesteps[:1]) first"
                ),
            },
            "metric": (
                "abs_sum and abs_mean of the final float32 sample, summed in float64 (full precision); "
                "expected.timesteps = scheduler.timesteps after set_timesteps(N); "
                "expected.values = the final sample at the flat (row-major) indices given"
            ),
            "noise": (
                "cases with noise {source: numpy_randn, seed: S} pass variance_noise = "
                "np.random.RandomState(S).randn(n).astype(np.float32) to every step(), one stream per case in call order"
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
