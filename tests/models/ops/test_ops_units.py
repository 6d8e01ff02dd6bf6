"""The pieces under the drum and rewrite ops: the decoder's span options they rely on (mono,
pitch_only, start_pos, one plan per row), region plans, humanizing and the style classifiers."""

from __future__ import annotations

import json

import pytest
import torch

from models.decoding.decoding import Constraints, Plan, Sampler, Segment, decode
from models.net import vocab as V
from models.net.tokenizer import Header, header_tokens, snap
from models.net.tokenizer import decode as decode_tokens
from models.net.transformer import GPT
from models.ops import humanize
from models.ops.regions import Track, generated_notes, plan
from models.representation import Note, Part
from models.styles import melody as melody_style
from models.styles.drums import StyleClassifier, features, guess_style
from models.training import PRESETS

HEADER = Header("rock", (4, 4), None, 100.0)


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(1)
    return GPT(PRESETS["tiny"]).eval()


def _span(**kw: object) -> Constraints:
    base = dict(role="drums", bar_start=0, bar_ticks=48, end_tick=48, pitches=frozenset({36, 38, 42}))
    return Constraints(**(base | kw))  # type: ignore[arg-type]


def _notes(tokens: list[int], role: str = "drums") -> tuple[Note, ...]:
    part = decode_tokens(tokens)[1].get(role)
    return part.notes if part else ()


def test_pitch_only_writes_one_pitch_between_forced_tokens(model: GPT) -> None:
    head = [V.BOS, V.style_token("rock"), V.meter_token((4, 4)), V.key_token(None), V.tempo_token(100)]
    plan_ = Plan([Segment(forced=head + [V.BAR, V.TRK["drums"], V.POS0 + 6]),
                  Segment(generate=_span(pitch_only=True)),
                  Segment(forced=[V.DUR0 + V.duration_index(3), V.VEL0 + 4, V.EOS])])
    for row in decode(model, plan_, 3, Sampler(seed=2)):
        (note,) = _notes(row)
        assert note.pitch in (36, 38, 42) and note.start == 0.5


def test_start_pos_adds_notes_at_a_forced_onset_and_mono_holds(model: GPT) -> None:
    head = [V.BOS, V.style_token("rock"), V.meter_token((4, 4)), V.key_token(None), V.tempo_token(100)]
    kick = [V.POS0 + 12, V.PITCH0 + 36, V.DUR0 + V.duration_index(3), V.VEL0 + 5]
    plan_ = Plan([Segment(forced=head + [V.BAR, V.TRK["drums"]] + kick),
                  Segment(generate=_span(start_pos=12, start_pitches=frozenset({36}), min_pos=13, min_notes=6)),
                  Segment(forced=[V.EOS])])
    for row in decode(model, plan_, 4, Sampler(seed=3)):
        notes = _notes(row)
        assert all(n.start >= 1.0 for n in notes)
        assert len({(n.start, n.pitch) for n in notes}) == len(notes)  # no second kick at beat 2
    melody = Plan([Segment(forced=head + [V.BAR, V.TRK["melody"]]),
                   Segment(generate=_span(role="melody", pitches=frozenset(range(60, 72)), mono=True, min_notes=4)),
                   Segment(forced=[V.EOS])])
    for row in decode(model, melody, 4, Sampler(seed=4)):
        notes = sorted(_notes(row, "melody"), key=lambda n: n.start)
        assert all(b.start >= a.end - 1e-9 for a, b in zip(notes, notes[1:], strict=False))


def test_one_plan_per_row(model: GPT) -> None:
    a = plan(HEADER, Track("drums", frozenset({36, 42})), [], [(0, 24)], 1, 48)
    b = plan(HEADER, Track("drums", frozenset({38})), [], [(24, 48)], 1, 48)
    rows = decode(model, [a, b], 2, Sampler(seed=5))
    assert all(n.start < 2 and n.pitch in (36, 42) for n in _notes(rows[0]))
    assert all(n.start >= 2 and n.pitch == 38 for n in _notes(rows[1]))
    with pytest.raises(ValueError, match="one per row"):
        decode(model, [a], 2, Sampler())


def test_region_plan_keeps_notes_and_writes_only_inside(model: GPT) -> None:
    kept = [(0, 36, 3, 100), (12, 38, 3, 100), (36, 38, 3, 100), (60, 36, 3, 90)]
    regions = [(6, 30), (48, 96)]
    track = Track("drums", frozenset({36, 38, 42, 46}), min_notes=8)
    p = plan(HEADER, track, kept, regions, 2, 48)
    for row in decode(model, p, 3, Sampler(seed=6)):
        part = decode_tokens(row)[1]["drums"]
        ticks = {(round(n.start * 12), n.pitch) for n in part.notes}
        assert {(q[0], q[1]) for q in kept} <= ticks
        new = generated_notes(part, kept, regions)
        assert all(any(lo <= n.start * 12 < hi for lo, hi in regions) for n in new)
        assert len(ticks) == len(kept) + len(new)


def test_free_lengths_keep_onset_and_pitch_and_let_the_model_choose_the_length(model: GPT) -> None:
    kept = [(0, 67, 6, 90), (12, 69, 6, 90), (30, 71, 6, 90), (48, 72, 24, 90)]
    track = Track("melody", frozenset(range(60, 80)), mono=True, free_lengths=True)
    p = plan(Header("chorale", (4, 4), "C major", 90.0), track, kept, [(0, 96)], 2, 48)
    lengths = set()
    for row in decode(model, p, 4, Sampler(seed=2)):
        notes = sorted(decode_tokens(row)[1]["melody"].notes, key=lambda n: n.start)
        by_onset = {(round(n.start * 12), n.pitch): round(n.duration * 12) for n in notes}
        assert {(q[0], q[1]) for q in kept} <= set(by_onset)
        lengths |= {by_onset[(q[0], q[1])] for q in kept}
        assert all(b.start >= a.end - 1e-6 for a, b in zip(notes, notes[1:], strict=False))  # one line
        assert all(n.end <= 8.0 + 1e-6 for n in notes)
    assert lengths != {6, 24}  # the kept notes' own lengths were not forced


def test_humanize_zero_is_identity_and_one_moves_within_bounds() -> None:
    notes = [Note(p, i * 0.25, 0.25, 84) for i, p in enumerate([36, 42, 38, 42] * 4)]
    assert humanize.apply(notes, 0.0, 100, 1) == notes
    moved = humanize.apply(notes, 1.0, 100, 1, bounds=(0.0, 4.0))
    assert moved == humanize.apply(notes, 1.0, 100, 1, bounds=(0.0, 4.0))
    assert moved != notes and all(0.0 <= n.start < 4.0 for n in moved)
    assert all(abs(a.start - b.start) < 0.25 for a, b in zip(moved, notes, strict=True))
    assert all(V.velocity_bin(n.velocity) == V.velocity_bin(84) for n in moved)
    assert humanize.amount_of(notes, 100) == 0.0
    assert humanize.amount_of(moved, 100) > 0.3


@pytest.mark.parametrize("end", [0.001, 1 / 12 + 1.7e-7])
def test_humanize_keeps_an_onset_before_an_end_off_the_grid(end: float) -> None:
    """A clip (or fill) ending off the grid: an onset pushed late is held before the end, and
    rounding to the microsecond must not put it back on the end (the reply would be refused)."""
    notes = [Note(42, (round(end * 12 + 0.5) - 1) / 12, 0.25, 80)]  # the last grid point before the end
    starts = {humanize.apply(notes, 1.0, 40.0, seed, bounds=(0.0, end))[0].start for seed in range(40)}
    assert max(starts) < end and len(starts) > 1


def test_humanize_moves_a_hit_but_never_off_its_grid_point() -> None:
    # slow tempo: a drummer's spread in ms is many ticks wide, 16ths and triplets a tick apart
    notes = [Note(42, i / 12, 0.1, 80) for i in range(48) if i % 12 in (0, 3, 4, 6, 8, 9)]
    for seed in range(5):
        moved = humanize.apply(notes, 1.0, 40.0, seed)
        assert [snap(n.start * 12) for n in moved] == [round(n.start * 12) for n in notes]
        assert sum(a.start != b.start for a, b in zip(moved, notes, strict=True)) > len(notes) // 2


def test_humanize_table_credits_the_dataset() -> None:
    table = json.loads(humanize.TABLE_PATH.read_text())
    assert table["credit"] == humanize.CREDIT and "train" in table["source"]
    assert set(table["classes"]) == {"kick", "snare", "closed_hat", "open_hat", "low_tom", "mid_tom",
                                     "high_tom", "crash", "ride"}


def test_style_classifier_separates_two_grooves() -> None:
    def beat(hat: int, swing: bool, tempo: float) -> Part:
        notes = []
        for b in range(8):
            notes += [Note(hat, b + 0.0, 0.1, 80), Note(hat, b + (2 / 3 if swing else 0.5), 0.1, 60)]
            notes.append(Note(36 if b % 2 == 0 else 38, b, 0.1, 100))
        return Part(tuple(notes), 8.0, (4, 4), tempo, kind="drums")

    parts = [beat(51, True, 140), beat(42, False, 120)] * 5
    labels = ["jazz", "rock"] * 5
    classifier = StyleClassifier.train(parts, labels, steps=100)
    assert classifier.predict(beat(51, True, 150)) == "jazz"
    assert classifier.predict(beat(42, False, 110)) == "rock"
    assert features(Part((), 4.0)).sum() == pytest.approx(1.1)
    assert guess_style(Part((), 4.0)) == "rock"


def test_melody_style_classifier_tells_a_reel_from_a_jig() -> None:
    def tune(compound: bool, shift: int) -> Part:
        notes, t, pitches = [], 0.0, [62, 64, 66, 67, 69, 71, 69, 67]
        lengths = [1 / 3, 1 / 3, 1 / 3] if compound else [0.5, 0.5]
        for _ in range(16):
            for length in lengths:
                notes.append(Note(pitches[len(notes) % 8] + shift, round(t, 6), length, 90))
                t += length
        return Part(tuple(notes), t, (12, 8) if compound else (4, 4), 110.0, kind="melody")

    parts = [tune(True, k) for k in range(5)] + [tune(False, k) for k in range(5)]
    classifier = StyleClassifier.train(parts, ["jig"] * 5 + ["reel"] * 5, steps=100, tempo=False,
                                       featurize=melody_style.features)
    assert classifier.predict(tune(True, 7)) == "jig" and classifier.predict(tune(False, 7)) == "reel"
    back = StyleClassifier.from_json(classifier.to_json(melody_style.ABOUT), featurize=melody_style.features)
    assert back.predict(tune(True, 3)) == "jig"
    assert melody_style.features(Part((), 4.0)).sum() == 0.0
    assert melody_style.guess_style(Part((), 4.0)) is None


def test_melody_style_weights_ship_with_their_credit() -> None:
    data = json.loads(melody_style.WEIGHTS_PATH.read_text())
    assert data["format"] == "dawbridge-melody-styles" and "train split" in data["source"]
    assert set(data["styles"]) <= set(melody_style.STYLES) and {"reel", "jig", "chorale"} <= set(data["styles"])
    assert len(data["mean"]) == melody_style.FEATURES


def test_kick_accents_follow_the_bass_line_of_the_context() -> None:
    from models.ops.drums import KICK_LOCK, kick_accents
    from models.tasks import DrumsTask

    def clip(pitches_starts: list[tuple[int, float]], kind: str | None) -> Part:
        return Part(tuple(Note(p, s, 0.5, 90) for p, s in pitches_starts), 8.0, (4, 4), 100.0, None, None, kind)

    bass = clip([(36, 0.0), (36, 0.75), (43, 1.5), (40, 7.75), (36, 9.0)], "bass")  # 9.0: past 2 bars
    chords = clip([(60, 0.0), (64, 2.0)], "chords")
    low = clip([(40, 0.5), (45, 3.0)], None)
    high = clip([(72, 1.0)], None)
    kick = 36
    assert kick_accents(DrumsTask(2, context=(chords, bass))) == (
        (0, kick, KICK_LOCK), (9, kick, KICK_LOCK), (18, kick, KICK_LOCK), (93, kick, KICK_LOCK))
    assert [t for t, _, _ in kick_accents(DrumsTask(2, context=(high, chords)))] == [0, 24]
    assert [t for t, _, _ in kick_accents(DrumsTask(2, context=(high, low)))] == [6, 36]
    assert kick_accents(DrumsTask(2, context=(high,))) == ()
    assert kick_accents(DrumsTask(2, (3, 4), context=(bass,))) == ()  # another metre: not this groove's


def test_accents_favour_a_hit_where_they_are(model: GPT) -> None:
    kit = frozenset({36, 38, 42})
    counts = {}
    for accents in ((), ((30, 36, 4.0),)):
        c = Constraints("drums", bar_start=0, bar_ticks=48, end_tick=48, pitches=kit, min_notes=2, max_notes=12,
                        accents=accents)
        plan_ = Plan([Segment(forced=header_tokens(HEADER) + [V.BAR, V.TRK["drums"]]), Segment(generate=c),
                      Segment(forced=[V.EOS])])
        rows = decode(model, plan_, 16, Sampler(seed=1))
        counts[accents] = sum((30, 36) in {(round(n.start * 12), n.pitch) for n in _notes(row)} for row in rows)
    assert counts[((30, 36, 4.0),)] >= 10 > 2 * counts[()]
