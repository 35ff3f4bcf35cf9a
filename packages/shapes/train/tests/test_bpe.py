"""Tokenizer tests: CLIP's algorithm against the real CLIP vocab's reference ids, and our learned
vocab against transformers' CLIPTokenizer (an independent implementation).

    .venv/bin/python -m unittest discover -s packages/shapes/train/tests
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from easel_train import bpe  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[5] / "shared/reference"
CAPTIONS = [
    "a big red circle on the left",
    "two blue squares",
    "3 large green stars",
    "there is a little purple triangle near the top",
    "an orange star, middle",
    "the yellow circle is to the right of the black square",
    "a pair of tiny black circles",
]


class LearnedVocabulary(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.folder = Path(self.tmp.name)
        self.merges = bpe.learn_merges(CAPTIONS * 3)
        self.tok = bpe.save_tokenizer(self.folder, self.merges)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def test_vocab_is_bytes_then_end_of_word_bytes_then_merges_then_specials(self) -> None:
        vocab = json.loads((self.folder / "vocab.json").read_text())
        ordered = sorted(vocab, key=vocab.get)
        self.assertEqual(len(ordered), 512 + len(self.merges) + 2)
        self.assertEqual(ordered[0], "!")
        self.assertEqual(ordered[256], "!</w>")
        self.assertEqual(ordered[512], "".join(self.merges[0]))
        self.assertEqual(ordered[-2:], ["<|startoftext|>", "<|endoftext|>"])
        self.assertEqual((self.folder / "merges.txt").read_text().split("\n")[0], "#version: 0.2")

    def test_every_corpus_word_becomes_one_token(self) -> None:
        for word in ["circle", "purple", "triangle", "squares"]:
            self.assertEqual(len(self.tok.encode(word)), 1, word)

    def test_matches_transformers_clip_tokenizer_on_the_learned_files(self) -> None:
        from transformers import CLIPTokenizer

        hf = CLIPTokenizer.from_pretrained(str(self.folder))
        # html entities are left out: openai's CLIP unescapes them, transformers without ftfy does not.
        texts = CAPTIONS + ["", "  A  BIG   Red circle!! ", "Hello, wörld 123 's", "unseen zebra words", "x" * 300]
        for text in texts:
            ours = self.tok.encode_padded(text)
            theirs = hf(text, padding="max_length", max_length=77, truncation=True).input_ids
            self.assertEqual(ours, theirs, text)

    def test_pads_with_eos_to_77(self) -> None:
        ids = self.tok.encode_padded("")
        self.assertEqual(len(ids), 77)
        self.assertEqual(ids[:2], [self.tok.bos_id, self.tok.eos_id])
        self.assertEqual(set(ids[1:]), {self.tok.eos_id})


@unittest.skipUnless((REFERENCE / "clip-tokenizer-vectors.json").exists(), "skipped: ../shared/reference absent")
class RealClipVocabulary(unittest.TestCase):
    def test_reproduces_the_reference_ids_of_the_real_clip_tokenizer(self) -> None:
        lines = gzip.open(REFERENCE / "clip/bpe_simple_vocab_16e6.txt.gz").read().decode().split("\n")
        merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
        tok = bpe.ClipBpe(bpe.build_vocab(merges), merges)  # type: ignore[arg-type]
        cases = json.loads((REFERENCE / "clip-tokenizer-vectors.json").read_text())["examples"]
        for case in cases:
            self.assertEqual([tok.bos_id, *tok.encode(case["text"]), tok.eos_id], case["ids"], case["text"])


if __name__ == "__main__":
    unittest.main()
