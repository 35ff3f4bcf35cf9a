"""The held-out guard must catch every wording the caption grammar can produce."""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from easel_train import data  # noqa: E402


class HeldOutGuard(unittest.TestCase):
    def test_flags_held_out_pairs_in_any_size_and_number(self) -> None:
        for caption in ["a purple triangle", "two little orange circles", "3 large green stars", "the big red square above a blue star"]:
            self.assertTrue(data.held_out_hits(caption), caption)

    def test_flags_yellow_above_blue_in_both_directions_and_paraphrases(self) -> None:
        for caption in ["a yellow circle above a blue square", "the yellow star on top of the big blue circle", "a blue square beneath a yellow circle", "there is a yellow star over a blue triangle"]:
            self.assertTrue(data.held_out_hits(caption), caption)

    def test_passes_seen_scenes(self) -> None:
        for caption in ["a yellow circle below a blue square", "a blue star above a yellow circle", "a purple circle", "two red circles", "a green triangle left of a red star"]:
            self.assertEqual(data.held_out_hits(caption), [], caption)

    def test_assert_raises_with_the_offending_caption(self) -> None:
        with self.assertRaisesRegex(data.HeldOutLeak, "purple triangle"):
            data.assert_no_held_out(["a red circle", "a purple triangle"])


if __name__ == "__main__":
    unittest.main()
