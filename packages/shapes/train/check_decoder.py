"""How much of a scene survives the model folder's autoencoder, as the evaluator sees it.

    .venv/bin/python packages/shapes/train/check_decoder.py packages/shapes/artifacts/model [--count 400] [--seed 77]

Renders `count` ground-truth scenes (all splits, canonical captions) with the dataset CLI, sends
them through the folder's vae_encoder and vae_decoder (onnxruntime, posterior mean), and judges
both the renders and the round trips with the evaluator (src/cli/judge-dataset.ts). The round
trip's accuracy is a ceiling for the whole model: a UNet that predicted the true latents exactly
would score no higher. Prints the two judgements and, last, one JSON line with both accuracies.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

from easel_train.data import REPO_ROOT, dataset_command  # noqa: E402


def judge(folder: Path, images: str) -> dict:
    cmd = ["pnpm", "--silent", "--filter", "@easel/shapes", "exec", "tsx", "src/cli/judge-dataset.ts", "--dir", str(folder), "--images", images]
    out = subprocess.run(cmd, cwd=REPO_ROOT, check=True, capture_output=True, text=True).stdout
    print(f"{images}:\n{out}", end="")
    return json.loads(out.strip().splitlines()[-1])


def round_trip(model: Path, images: np.ndarray, threads: int = 2, batch: int = 50) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    encoder = ort.InferenceSession(str(model / "vae_encoder/model.onnx"), opts, providers=["CPUExecutionProvider"])
    decoder = ort.InferenceSession(str(model / "vae_decoder/model.onnx"), opts, providers=["CPUExecutionProvider"])
    x = images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
    out = []
    for i in range(0, len(x), batch):
        latents = encoder.run(None, {"sample": x[i : i + batch]})[0]
        y = decoder.run(None, {"latent_sample": latents})[0]
        out.append(((y.clip(-1, 1) + 1) * 127.5).round().astype(np.uint8).transpose(0, 2, 3, 1))
    return np.concatenate(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path)
    p.add_argument("--count", type=int, default=400)
    p.add_argument("--seed", type=int, default=77)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="easel-decoder-") as tmp:
        folder = Path(tmp)
        cmd = dataset_command(folder, args.count, args.seed, split="all", paraphrase_rate=0)
        subprocess.run(cmd, cwd=REPO_ROOT, check=True, stderr=subprocess.DEVNULL)
        images = np.fromfile(folder / "images.u8", dtype=np.uint8).reshape(-1, 64, 64, 3)
        decoded = round_trip(args.model.resolve(), images)
        decoded.tofile(folder / "round-trip.u8")
        l1 = float(np.abs(decoded.astype(np.float32) - images).mean() / 127.5)
        renders, trips = judge(folder, "images.u8"), judge(folder, "round-trip.u8")
    print(json.dumps({"model": str(args.model), "images": len(images), "renders": renders["accuracy"], "round_trip": trips["accuracy"], "round_trip_l1": round(l1, 4)}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
