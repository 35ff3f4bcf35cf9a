"""Independent reference codec for the image tests: Pillow (libpng/zlib, libjpeg-turbo, libwebp)
plus a tiny PNG writer for the forms Pillow cannot write (Adam7 interlacing, 16-bit RGB/RGBA,
sub-byte greyscale with tRNS).

Usage: python pillow_codec.py jobs.json  ->  prints a JSON list of results, one per job.
Each job is a dict with "op":
  decode        {path, out, composite?}        decode with Pillow to raw RGB at `out`
                                               (composite: alpha over white, round half up);
                                               returns mode, size, PNG text, JPEG tables/comment
  encode        {raw, width, height, path, format, mode, params}
                                               Pillow writes `raw` RGB converted to `mode`
  resize        {raw, width, height, to_width, to_height, filter, out}
                                               Pillow resize (filter "box" or "bilinear")
  png_manual    {path, out, width, height, color_type, bit_depth, interlace, trns, seed}
                                               hand-written PNG; `out` gets the RGB the spec
                                               implies (16-bit v -> round(v / 257), alpha over white)
Tested with Pillow==13.0.0, numpy==2.4.6 (CPython 3.11).
"""

import json
import struct
import sys
import zlib

import numpy as np
from PIL import Image


def composite_over_white(rgba: np.ndarray, max_value: int) -> np.ndarray:
    c = rgba[..., :3].astype(np.float64)
    a = rgba[..., 3:4].astype(np.float64)
    m = float(max_value)
    return np.floor((c * a + m * (m - a)) * 255 / (m * m) + 0.5).astype(np.uint8)


def decode(job):
    im = Image.open(job["path"])
    im.load()
    info = {"format": im.format, "mode": im.mode, "width": im.width, "height": im.height}
    if im.format == "PNG":
        info["text"] = dict(im.text)
    if im.format == "JPEG":
        info["quantization"] = {str(k): list(v) for k, v in im.quantization.items()}
        info["progressive"] = bool(im.info.get("progressive"))
        comment = im.info.get("comment")
        if comment is not None:
            info["comment"] = comment.decode("utf-8")
    if job.get("composite"):
        rgb = composite_over_white(np.asarray(im.convert("RGBA")), 255)
    else:
        rgb = np.asarray(im.convert("RGB"))
    rgb.astype(np.uint8).tofile(job["out"])
    return info


def alpha_ramp(width, height):
    y, x = np.mgrid[0:height, 0:width]
    return ((x * 7 + y * 13) % 256).astype(np.uint8)


def encode(job):
    w, h = job["width"], job["height"]
    rgb = np.fromfile(job["raw"], dtype=np.uint8).reshape(h, w, 3)
    im = Image.fromarray(rgb, "RGB")
    mode = job.get("mode", "RGB")
    if mode in ("RGBA", "LA"):
        base = im if mode == "RGBA" else im.convert("L")
        base.putalpha(Image.fromarray(alpha_ramp(w, h), "L"))
        im = base
    elif mode == "P":
        im = im.quantize(job.get("colors", 16))
        if "transparency" in job:
            im.info["transparency"] = job["transparency"]
    elif mode == "I;16":
        im = Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)
    elif mode != "RGB":
        im = im.convert(mode)
    params = dict(job.get("params", {}))
    if mode == "P" and "transparency" in job:
        params["transparency"] = job["transparency"]
    im.save(job["path"], job["format"], **params)
    return {"mode": im.mode}


def resize(job):
    w, h = job["width"], job["height"]
    rgb = np.fromfile(job["raw"], dtype=np.uint8).reshape(h, w, 3)
    filters = {"box": Image.Resampling.BOX, "bilinear": Image.Resampling.BILINEAR}
    out = Image.fromarray(rgb, "RGB").resize((job["to_width"], job["to_height"]), filters[job["filter"]])
    np.asarray(out).tofile(job["out"])
    return {}


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def pack_rows(samples: np.ndarray, depth: int) -> list[bytes]:
    """samples: (h, w*channels) ints -> packed rows, each prefixed with filter type 0."""
    rows = []
    for row in samples:
        if depth == 16:
            body = row.astype(">u2").tobytes()
        elif depth == 8:
            body = row.astype(np.uint8).tobytes()
        else:
            per = 8 // depth
            padded = np.zeros(-(-len(row) // per) * per, dtype=np.int64)
            padded[: len(row)] = row
            groups = padded.reshape(-1, per)
            shifts = np.array([8 - depth * (i + 1) for i in range(per)])
            body = (groups << shifts).sum(axis=1).astype(np.uint8).tobytes()
        rows.append(b"\x00" + body)
    return rows


def png_manual(job):
    w, h = job["width"], job["height"]
    ct, depth = job["color_type"], job["bit_depth"]
    n = CHANNELS[ct]
    rng = np.random.RandomState(job.get("seed", 0))
    top = 2**depth - 1
    samples = rng.randint(0, top + 1, size=(h, w, n)).astype(np.int64)
    trns = b""
    key = None
    if job.get("trns"):
        key = samples[0, 0, :n].copy()  # make the first pixel's colour the transparent key
        trns = b"".join(struct.pack(">H", int(v)) for v in key)
    raw_rows = []
    if job.get("interlace"):
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw_rows += pack_rows(sub.reshape(sub.shape[0], -1), depth)
    else:
        raw_rows = pack_rows(samples.reshape(h, -1), depth)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ct, 0, 0, 1 if job.get("interlace") else 0)
    body = chunk(b"IHDR", ihdr)
    if trns:
        body += chunk(b"tRNS", trns)
    body += chunk(b"IDAT", zlib.compress(b"".join(raw_rows)))
    body += chunk(b"IEND", b"")
    with open(job["path"], "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + body)

    # The RGB the PNG spec implies, with our documented choices.
    def to8(v):
        return np.floor(v * 255 / top + 0.5).astype(np.int64)

    if ct in (0, 4):
        color = np.repeat(samples[..., :1], 3, axis=2)
    else:
        color = samples[..., :3]
    if ct in (4, 6):
        alpha = samples[..., n - 1 : n]
        c = color.astype(np.float64)
        a = alpha.astype(np.float64)
        expected = np.floor((c * a + top * (top - a)) * 255 / (top * top) + 0.5)
    else:
        expected = to8(color)
        if key is not None:
            mask = np.all(samples == key, axis=2)
            expected[mask] = 255
    expected.astype(np.uint8).tofile(job["out"])

    # Check the writer itself: Pillow must read the file as the same picture (Pillow keeps the high
    # byte of 16-bit samples where we round, so allow 2 levels there).
    im = Image.open(job["path"])
    im.load()
    pillow = composite_over_white(np.asarray(im.convert("RGBA")), 255).astype(np.int64)
    if depth != 8 and key is not None:
        agrees = None  # Pillow compares tRNS keys after rescaling samples; nothing to compare
    else:
        agrees = int(np.abs(pillow - expected).max()) <= (2 if depth == 16 else 0)
    return {"pillow_mode": im.mode, "pillow_agrees": agrees}


def main():
    jobs = json.load(open(sys.argv[1]))
    ops = {"decode": decode, "encode": encode, "png_manual": png_manual, "resize": resize}
    print(json.dumps([ops[job["op"]](job) for job in jobs]))


if __name__ == "__main__":
    main()
