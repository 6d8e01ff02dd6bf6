"""Guesses of the tokens a row writes next, for speculative decoding: the token that followed
the last time the row's latest tokens appeared in its own sequence (the context tracks it read,
the bars it wrote). Music repeats itself: a groove's next bar is mostly its last, a voice's
next note often one it played before, so the guess is often what the model then samples.

A guess costs no forward pass. The decoder reads the guessed tokens in the same pass as the
token it samples and checks each one against the model's own draw at that point
(models/decoding/decoding.py), so guesses change how many passes a request takes, never what
it writes.
"""

from __future__ import annotations

import math

LONGEST = 3  # the longest suffix matched (tokens)
# A guess costs the tokens it reads, so a row guesses only as far as its guesses have held: as
# many choices as hold together at least half the time by its record (2 held in 3 before any),
# a third of the time when it is the only row of the pass. Measured on drums, fill and continue
# alone, a third saved 10-17% of their CPU time over a half; beside other rows (vary, four
# chorale candidates) a pass is saved only when every row's guesses hold, and a half is better.
# A row whose guesses seldom hold tries one every PROBE passes (its music may start repeating).
PRIOR = (2, 3)
PROBE = 8
HOLD = 0.5  # the least chance that all the guesses of a pass hold, for a row decoded beside others
HOLD_ALONE = 0.33  # ... for a row decoded alone (every pass its guesses save is a whole pass)


class Lookup:
    """An index of one row's n-grams (n = 1 .. ``LONGEST``) to where each last occurred, kept up
    to date as the row grows; a row that gives tokens back (a guess that did not hold) is read
    again from where it changed."""

    def __init__(self) -> None:
        self._next: dict[tuple[int, ...], int] = {}  # n-gram -> index of the token after it
        self._seen = 0  # tokens indexed
        self.held, self.checked = PRIOR  # guesses that held, of those checked
        self._passes = 0

    def reach(self, limit: int, alone: bool = False) -> int:
        """How many choices to guess ahead in this pass (at most ``limit``); ``alone``: the row
        is the only one in the pass."""
        self._passes += 1
        rate = self.held / self.checked
        ahead = limit if rate >= 1 else int(math.log(HOLD_ALONE if alone else HOLD) / math.log(rate))
        if ahead == 0 and self._passes % PROBE == 0:
            ahead = 1
        return min(limit, ahead)

    def record(self, held: int, checked: int) -> None:
        """``checked`` guesses were checked, the first ``held`` of them held."""
        self.held += held
        self.checked += checked

    def guess(self, tokens: list[int]) -> int | None:
        """The token that followed the longest recent match of the end of ``tokens``, or None."""
        length = len(tokens)
        self._index(tokens)
        for n in range(min(LONGEST, length), 0, -1):
            suffix = tokens[length - n:]
            after = self._next.get(tuple(suffix))
            # an entry may be stale (the row gave tokens back since): it must still match
            if after is not None and after < length and tokens[after - n:after] == suffix:
                return tokens[after]
        return None

    def rewind(self, length: int) -> None:
        """The row gave back its tokens from ``length`` on: index them again once rewritten."""
        self._seen = min(self._seen, length)

    def _index(self, tokens: list[int]) -> None:
        length = len(tokens)
        self._seen = min(self._seen, length)
        for after in range(max(self._seen, 1), length):
            for n in range(1, min(LONGEST, after) + 1):
                self._next[tuple(tokens[after - n:after])] = after
        self._seen = length
