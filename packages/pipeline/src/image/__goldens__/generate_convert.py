"""Golden values for image/convert.ts, produced by diffusers itself.

fromFloatNCHW must match VaeImageProcessor.postprocess(..., output_type="pil") and toFloatNCHW must
match VaeImageProcessor.preprocess(pil_image) bit for bit. Inputs include the edges (-1, 0, 1),
out-of-range values, and floats whose float32 arithmetic lands exactly on k + 0.5 (where numpy's
round-half-to-even decides).

Run from the repo root (versions: torch==2.13.0, diffusers==0.42.1, numpy==2.4.6, pillow==13.0.0):
    .venv/bin/python packages/pipeline/src/image/__goldens__/generate_convert.py
    pnpm biome format --write packages/pipeline/src/image/__goldens__/convert.json
"""

import json
import pathlib

import numpy as np
import torch
from diffusers.image_processor import VaeImageProcessor
from PIL import Image


def tie_inputs() -> list[float]:
    """float32 x for which (x * 0.5 + 0.5) * 255, in float32, is exactly k + 0.5."""
    found = []
    for k in range(255):
        centre = np.float32(2 * (k + 0.5) / 255 - 1)
        candidates = [centre]
        up = down = centre
        for _ in range(64):
            up = np.nextafter(up, np.float32(np.inf), dtype=np.float32)
            down = np.nextafter(down, np.float32(-np.inf), dtype=np.float32)
            candidates += [up, down]
        for x in candidates:
            if (x * np.float32(0.5) + np.float32(0.5)) * np.float32(255) == np.float32(k + 0.5):
                found.append(float(x))
                break
    return found


def main() -> None:
    rng = np.random.RandomState(0)
    edges = [-1.0, 0.0, 1.0, -1.5, 1.5, -1e-8, 1e-8, 0.999, -0.999, 1.0000001, -1.0000001, 100.0, -100.0]
    randoms = rng.uniform(-1.1, 1.1, size=4000).astype(np.float32).tolist()
    values = np.array(edges + tie_inputs() + randoms, dtype=np.float32)
    # Pad to a whole [1, 3, h, w] tensor.
    width = 64
    per_plane = -(-len(values) // 3)
    height = -(-per_plane // width)
    flat = np.zeros(3 * height * width, dtype=np.float32)
    flat[: len(values)] = values
    tensor = torch.from_numpy(flat.reshape(1, 3, height, width))
    processor = VaeImageProcessor(do_resize=False)
    pil = processor.postprocess(tensor, output_type="pil")[0]
    rgb = np.asarray(pil)  # h, w, 3
    expected = rgb.transpose(2, 0, 1).reshape(-1)  # back to CHW order, like the input

    gray_ramp = np.arange(256, dtype=np.uint8)
    ramp_image = Image.fromarray(np.stack([gray_ramp, gray_ramp[::-1], gray_ramp], axis=-1)[None, :, :])
    pre = processor.preprocess(ramp_image).numpy()  # 1, 3, 1, 256

    out = {
        "fromFloat": {
            "dims": [1, 3, height, width],
            "input": [float(v) for v in flat],
            "expected": [int(v) for v in expected],
        },
        "toFloat": {
            "width": 256,
            "height": 1,
            "rgb": np.asarray(ramp_image).reshape(-1).tolist(),
            "expected": [float(v) for v in pre.reshape(-1)],
        },
    }
    path = pathlib.Path(__file__).with_name("convert.json")
    path.write_text(json.dumps(out) + "\n")
    print(f"wrote {path} ({len(values)} float inputs, {len(tie_inputs())} exact ties)")


if __name__ == "__main__":
    main()
