"""Reading on a guess (models/decoding/drafts.py, ``GUESSES`` in decoding.py): the lookup guesses
what followed the row's latest tokens before; the decoder writes the same tokens with or without
guesses, in fewer forward passes where they hold; each candidate row draws from its own stream,
so a candidate is the same alone or beside others."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from models.decoding import decoding
from models.decoding.decoding import Sampler, decode
from models.decoding.drafts import Lookup
from models.interface import load_composer
from models.net import vocab as V
from models.net.transformer import GPT
from models.ops.harmonize import plan_harmony
from models.representation import Note, Part
from models.tasks import ContinueTask, DrumsTask, FillTask, HarmonizeTask, Sampling, Task, VaryTask
from tests.models.conftest import tiny_gpt
from tests.models.music import in_quarters, melody

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_lookup_guesses_what_followed_the_longest_recent_match() -> None:
    lookup = Lookup()  # one row's tokens as they grow
    assert lookup.guess([]) is None
    assert lookup.guess([5, 6, 7]) is None  # 7 never came before
    assert lookup.guess([5, 6, 7, 5]) == 6
    assert Lookup().guess([1, 2, 9, 3, 2, 8, 1, 2]) == 9  # "1 2" beats the later "2 -> 8"
    assert Lookup().guess([1, 2, 9, 3, 2, 8, 4, 2]) == 8  # only "2" matches: its latest follower


def test_the_lookup_reads_again_what_a_row_gave_back() -> None:
    lookup = Lookup()
    tokens = [1, 2, 3, 1]
    assert lookup.guess(tokens) == 2
    del tokens[1:]  # the row gave its tokens back and wrote others
    lookup.rewind(1)
    tokens += [4, 1]
    assert lookup.guess(tokens) == 4


def groove(bars: int) -> Part:
    notes = []
    for bar in range(bars):
        for i in range(8):
            t = bar * 4 + i * 0.5
            notes.append(Note(42, t, 0.25, 80))
            if i % 4 == 0:
                notes.append(Note(36, t, 0.25, 100))
            if i % 4 == 2:
                notes.append(Note(38, t, 0.25, 100))
    return Part(tuple(notes), bars * 4.0, (4, 4), 100.0, kind="drums")


def tune(bars: int) -> Part:
    steps = (0, 2, 4, 5, 7, 5, 4, 2)
    return melody(in_quarters([64 + steps[i % 8] for i in range(4 * bars)]), 4.0 * bars, key="C major")


@pytest.fixture(scope="module")
def shipped():
    return load_composer(None, "cpu")


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Forward passes of the decoder, counted."""
    count = [0]
    forward = GPT.forward_rows

    def counted(self: GPT, *args: object, **kwargs: object):
        count[0] += 1
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(GPT, "forward_rows", counted)
    yield count


TASKS: dict[str, Task] = {
    "drums": DrumsTask(4, (4, 4), 100.0, "rock", sampling=Sampling(seed=3)),
    "continue": ContinueTask(groove(3), bars=1, sampling=Sampling(seed=1)),
    "fill": FillTask(groove(2), sampling=Sampling(seed=2)),
    "vary": VaryTask(tune(4), sampling=Sampling(candidates=2, seed=4)),
    "chorale": HarmonizeTask(tune(2), sampling=Sampling(candidates=3, seed=5)),
}


@pytest.mark.parametrize("op", TASKS)
def test_guesses_change_the_passes_not_the_music(shipped, passes: list[int], op: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    counts, results = [], []
    for guesses in (0, decoding.GUESSES):
        monkeypatch.setattr(decoding, "GUESSES", guesses)
        passes[0] = 0
        results.append(shipped.run(TASKS[op]))
        counts.append(passes[0])
    assert results[0] == results[1]
    assert counts[1] <= counts[0]
    if op in ("drums", "continue"):  # a groove repeats itself: most guesses hold
        assert counts[1] < 0.75 * counts[0], counts


def test_a_candidate_is_the_same_alone_or_beside_others() -> None:
    model = tiny_gpt()
    plan = plan_harmony(tune(2), "chorale", None, None).plan
    together = [unpadded(row) for row in decode(model, plan, 3, Sampler(seed=7))]
    for row in range(3):
        assert [unpadded(r) for r in decode(model, plan, 1, Sampler(seed=7), first_row=row)] == [together[row]]
    assert together[1] != together[2]  # each row its own stream


def unpadded(tokens: list[int]) -> list[int]:
    """A row's tokens without the padding of rows that ended before the longest."""
    while tokens and tokens[-1] == V.PAD:
        tokens = tokens[:-1]
    return tokens


def test_a_drum_row_guesses_what_its_groove_prior_favours(shipped, passes: list[int],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a groove prior a row guesses the prior's clear favourite before its own tokens'
    lookup: the same notes in fewer passes than with the lookup alone."""
    counts, results = [], []
    for margin in (float("inf"), decoding.FAVOURED_MARGIN):
        monkeypatch.setattr(decoding, "FAVOURED_MARGIN", margin)
        passes[0] = 0
        results.append(shipped.run(TASKS["drums"]))
        counts.append(passes[0])
    assert results[0] == results[1]
    assert counts[1] < 0.8 * counts[0], counts
