"""The training corpus: scenes rendered by the TypeScript dataset CLI, loaded as uint8 arrays."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[4]
IMAGE_SIZE = 64

# Held-out combinations (see the issue): none may appear in training captions.
HELD_OUT_PAIRS = [("purple", "triangle"), ("orange", "circle"), ("green", "star"), ("red", "square")]
_SIZE = r"(?:(?:small|little|tiny|big|large)\s+)?"
_HELD_OUT_PATTERNS = [re.compile(rf"\b{c}\s+{_SIZE}{s}s?\b") for c, s in HELD_OUT_PAIRS] + [
    re.compile(r"\byellow\b.*?\b(?:above|over|on top of)\b.*?\bblue\b"),
    re.compile(r"\bblue\b.*?\b(?:below|under|beneath|underneath)\b.*?\byellow\b"),
]


class HeldOutLeak(RuntimeError):
    pass


def held_out_hits(caption: str) -> list[str]:
    text = caption.lower()
    return [p.pattern for p in _HELD_OUT_PATTERNS if p.search(text)]


def assert_no_held_out(captions: list[str]) -> None:
    """Fails loudly if any training caption names a held-out colour/shape pair or yellow-above-blue."""
    leaks = [(i, c) for i, c in enumerate(captions) if held_out_hits(c)]
    if leaks:
        sample = "; ".join(f"#{i}: {c!r}" for i, c in leaks[:5])
        raise HeldOutLeak(f"training split contains {len(leaks)} held-out captions, e.g. {sample}")


def dataset_command(out_dir: Path, count: int, seed: int, split: str = "train", paraphrase_rate: float | None = None) -> list[str]:
    """The command line of @easel/shapes' dataset CLI (writes images.u8, captions.jsonl, meta.json
    into `out_dir`), to run from REPO_ROOT."""
    cmd = [
        "pnpm", "--silent", "--filter", "@easel/shapes", "exec", "tsx", "src/cli/dataset.ts",
        "--count", str(count), "--seed", str(seed), "--split", split, "--out", str(out_dir.resolve()),
    ]  # fmt: skip
    if paraphrase_rate is not None:
        cmd += ["--paraphrase-rate", str(paraphrase_rate)]
    return cmd


def load(folder: Path, expect_train: bool = True) -> tuple[np.ndarray, list[dict]]:
    """(images [N,64,64,3] uint8, rows) from a dataset folder; a row is one line of captions.jsonl
    (`caption`, `spec` and, from corpora written since release 4, `layout`)."""
    rows = [json.loads(line) for line in (folder / "captions.jsonl").read_text().splitlines() if line]
    captions = [r["caption"] for r in rows]
    raw = np.fromfile(folder / "images.u8", dtype=np.uint8)
    n = len(captions)
    if raw.size != n * IMAGE_SIZE * IMAGE_SIZE * 3:
        raise ValueError(f"{folder}/images.u8 has {raw.size} bytes, expected {n}*64*64*3 for {n} captions")
    if expect_train:
        assert_no_held_out(captions)
    return raw.reshape(n, IMAGE_SIZE, IMAGE_SIZE, 3), rows


def load_or_generate(folder: Path, count: int, seed: int, shards: int = 1) -> tuple[np.ndarray, list[dict]]:
    """Loads the cached corpus, generating it first (in `shards` parallel CLI runs) when absent."""
    if not (folder / "done").exists():
        shard_dirs = [folder / f"shard{i}" for i in range(shards)]
        per = [count // shards + (1 if i < count % shards else 0) for i in range(shards)]
        procs = []
        for i, (d, n) in enumerate(zip(shard_dirs, per)):
            d.mkdir(parents=True, exist_ok=True)
            procs.append(subprocess.Popen(dataset_command(d, n, seed + 1000 * i), cwd=REPO_ROOT))
        for p in procs:
            if p.wait() != 0:
                raise RuntimeError(f"dataset CLI failed with exit code {p.returncode}")
        (folder / "done").write_text(json.dumps({"count": count, "seed": seed, "shards": shards}))
    images, rows = [], []
    for d in sorted(folder.glob("shard*")):
        im, shard_rows = load(d)
        images.append(im)
        rows += shard_rows
    return np.concatenate(images), rows
