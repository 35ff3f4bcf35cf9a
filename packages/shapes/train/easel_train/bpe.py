"""CLIP-format byte-level BPE: learning merges from a caption corpus, and encoding with them.

Encoding follows CLIP's algorithm (html unescape, whitespace cleanup, lowercase, CLIP's regex
split, bytes -> unicode, BPE with an end-of-word `</w>` marker). ftfy is not applied: the caption
corpus is plain ASCII, where ftfy is the identity.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

import regex

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
MAX_LENGTH = 77
SPLIT = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)


def bytes_to_unicode() -> dict[int, str]:
    """CLIP/GPT-2's reversible byte -> printable unicode map (printable bytes map to themselves)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    shift = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + shift)
            shift += 1
    return {b: chr(c) for b, c in zip(printable, codes)}


BYTE_ENCODER = bytes_to_unicode()


def clean(text: str) -> str:
    text = html.unescape(html.unescape(text)).strip()
    return regex.sub(r"\s+", " ", text).strip().lower()


def pre_tokenize(text: str) -> list[str]:
    """Cleaned, split and byte-mapped words, before BPE."""
    return ["".join(BYTE_ENCODER[b] for b in piece.encode("utf-8")) for piece in SPLIT.findall(clean(text))]


def _initial_symbols(word: str) -> tuple[str, ...]:
    return tuple(word[:-1]) + (word[-1] + "</w>",)


def learn_merges(corpus: list[str], max_merges: int = 2000, min_count: int = 2) -> list[tuple[str, str]]:
    """Greedy BPE: repeatedly merge the most frequent adjacent pair (ties broken by the pair's text)."""
    words = Counter()
    for text in corpus:
        words.update(pre_tokenize(text))
    segmented = {w: _initial_symbols(w) for w in words}
    merges: list[tuple[str, str]] = []
    while len(merges) < max_merges:
        pairs: Counter = Counter()
        for w, syms in segmented.items():
            for a, b in zip(syms, syms[1:]):
                pairs[(a, b)] += words[w]
        if not pairs:
            break
        best, count = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if count < min_count:
            break
        merges.append(best)
        for w, syms in segmented.items():
            out: list[str] = []
            i = 0
            while i < len(syms):
                if i + 1 < len(syms) and (syms[i], syms[i + 1]) == best:
                    out.append(syms[i] + syms[i + 1])
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            segmented[w] = tuple(out)
    return merges


def build_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    chars = list(BYTE_ENCODER.values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}


class ClipBpe:
    """Encoder over a CLIP-format vocab (vocab.json + merges.txt)."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.bos_id = vocab[BOS]
        self.eos_id = vocab[EOS]
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def load(cls, folder: Path) -> "ClipBpe":
        vocab = json.loads((folder / "vocab.json").read_text())
        lines = (folder / "merges.txt").read_text().strip().split("\n")[1:]
        return cls(vocab, [tuple(line.split()) for line in lines if line])  # type: ignore[misc]

    def bpe(self, word: str) -> list[str]:
        if word in self._cache:
            return self._cache[word]
        syms = list(_initial_symbols(word))
        while len(syms) > 1:
            ranked = [(self.ranks.get((a, b), float("inf")), i) for i, (a, b) in enumerate(zip(syms, syms[1:]))]
            rank, _ = min(ranked)
            if rank == float("inf"):
                break
            pair = min(ranked)[1]
            first, second = syms[pair], syms[pair + 1]
            # Merge every occurrence of the best pair, left to right, as CLIP does.
            out: list[str] = []
            i = 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == first and syms[i + 1] == second:
                    out.append(first + second)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        self._cache[word] = syms
        return syms

    def encode(self, text: str) -> list[int]:
        """Content ids without bos/eos."""
        return [self.vocab[t] for w in pre_tokenize(text) for t in self.bpe(w)]

    def encode_padded(self, text: str, length: int = MAX_LENGTH) -> list[int]:
        """bos + at most length-2 content ids + eos, padded with eos (SD 1.x convention)."""
        ids = [self.bos_id] + self.encode(text)[: length - 2] + [self.eos_id]
        return ids + [self.eos_id] * (length - len(ids))


def save_tokenizer(folder: Path, merges: list[tuple[str, str]]) -> ClipBpe:
    """Writes vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = build_vocab(merges)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    special = {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": MAX_LENGTH,
        "do_lower_case": True,
        "errors": "replace",
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": True,
        **special,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return ClipBpe(vocab, merges)
