"""Warm start: read a released model folder (our ONNX export) back into the PyTorch modules.

Training continues from the shipped weights instead of from scratch, which on a 2-core CPU is
the difference between one and two budgets of UNet steps. The legacy ONNX exporter keeps most
parameter names, but folds some into anonymous constants: a Linear's weight becomes the
(transposed) right operand of a MatMul, a GroupNorm's affine becomes a Mul and an Add on a
[C,1,1] tensor. Those are recovered from the consuming node's name, which carries the module
path ("/unet/down_blocks.0/attentions.0/.../to_q/MatMul" -> "down_blocks.0....to_q.weight").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

# Prefix of the named initializers / node paths, per ONNX file (the export wrappers' attribute).
_PREFIX = {"text_encoder": "text_encoder", "unet": "unet", "vae_encoder": "vae", "vae_decoder": "vae"}
# What an anonymous initializer is, by the op that consumes it.
_SUFFIX = {"MatMul": "weight", "Mul": "weight", "Add": "bias"}


def onnx_state_dict(path: Path, prefix: str, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Parameters of one exported ONNX file, keyed and shaped as in `expected` (a state_dict)."""
    model = onnx.load(str(path))
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    out: dict[str, torch.Tensor] = {}
    for init in model.graph.initializer:
        value = torch.from_numpy(np.array(numpy_helper.to_array(init)))
        if init.name.startswith(prefix + "."):
            keyed = [(init.name[len(prefix) + 1 :], value)]
        else:
            # MatMul computes x @ W^T, so its constant operand is the Linear weight transposed.
            nodes = [n for n in consumers.get(init.name, []) if n.op_type in _SUFFIX]
            keyed = [(_key_from_node(n, expected), value.t() if n.op_type == "MatMul" else value) for n in nodes]
        for key, tensor in keyed:
            if key is None or key not in expected:
                continue
            out[key] = tensor.reshape(expected[key].shape).contiguous().clone()
    return out


def _key_from_node(node: onnx.NodeProto, expected: dict[str, torch.Tensor]) -> str | None:
    parts = [p for p in node.name.split("/") if p]
    if len(parts) < 2:
        return None
    path = "." + ".".join(parts[:-1]) + "." + _SUFFIX[node.op_type]
    # Node paths start at the wrapper's attribute ("unet", "text_encoder") or, for the VAE, at
    # its sub-module ("decoder"): the key is the longest one the path ends with.
    matches = [k for k in expected if path.endswith(f".{k}")]
    return max(matches, key=len) if matches else None


def load_release(folder: Path, text_encoder, unet, vae) -> float:
    """Loads text encoder, UNet and VAE weights from `folder` in place; returns the VAE scaling factor.

    Raises if any parameter of the modules is not found: a partial warm start would silently
    train a half-random model.
    """
    for module, files in ((text_encoder, ["text_encoder"]), (unet, ["unet"]), (vae, ["vae_encoder", "vae_decoder"])):
        expected = module.state_dict()
        found: dict[str, torch.Tensor] = {}
        for name in files:
            found.update(onnx_state_dict(folder / name / "model.onnx", _PREFIX[name], expected))
        params = {k for k, _ in module.named_parameters()}
        missing = sorted(params - found.keys())
        if missing:
            raise RuntimeError(f"warm start from {folder}: {len(missing)} parameters not found in {files}, e.g. {missing[:5]}")
        module.load_state_dict({**expected, **found})
    return float(json.loads((folder / "vae_decoder" / "config.json").read_text())["scaling_factor"])
