"""The drums, fill, vary, continue and restyle ops on a tiny random model: whatever the model
samples, the constraints hold (GM drum classes, spans, kept notes bit for bit, bars, key,
seeds), because the decoder enforces them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.constants import DRUM_CLASSES
from models.decoding.decoding import GRID
from models.interface import Composer, load_composer
from models.net import checkpoint
from models.net.transformer import GPT
from models.ops.drums import fill_beats
from models.ops.harmonize import scale_pitches
from models.representation import Note, Part
from models.tasks import ContinueTask, DrumsTask, FillTask, RestyleTask, Sampling, VaryTask
from models.training import PRESETS

GM = set(DRUM_CLASSES.values())


@pytest.fixture(scope="module")
def composer(tmp_path_factory: pytest.TempPathFactory) -> Composer:
    torch.manual_seed(0)
    stem = Path(tmp_path_factory.mktemp("tiny")) / "model"
    checkpoint.save(GPT(PRESETS["tiny"]), stem, {"name": "tiny"})
    return load_composer(stem.parent, "cpu")


def groove(bars: int = 2, tempo: float = 100.0) -> Part:
    """Hats on 8ths, kick on 1 and 3, snare on 2 and 4, slightly off the grid, plus a pedal hat
    (44) the model does not write."""
    notes = []
    for bar in range(bars):
        for i in range(8):
            t = bar * 4 + i * 0.5
            notes.append(Note(42, t + 0.013, 0.1, 70 + i))
            if i % 4 == 0:
                notes.append(Note(36, t + 0.004, 0.1, 101))
            if i % 4 == 2:
                notes.append(Note(38, t + 0.021, 0.1, 99))
        notes.append(Note(44, bar * 4 + 1.25, 0.1, 50))
    return Part(tuple(notes), bars * 4.0, (4, 4), tempo, None, "Beat", "drums")


def tune(bars: int = 4) -> Part:
    steps = [0, 2, 4, 5, 7, 5, 4, 2]
    notes = tuple(Note(60 + steps[i % 8], i * 0.5, 0.5, 77) for i in range(bars * 8))
    return Part(notes, bars * 4.0, (4, 4), 120.0, "C major", "Tune", "melody")


def overlapping(part: Part) -> bool:
    ordered = sorted(part.notes, key=lambda n: n.start)
    return any(b.start < a.end - 1e-6 for a, b in zip(ordered, ordered[1:], strict=False))


def test_drums_bars_classes_and_seed(composer: Composer) -> None:
    task = DrumsTask(bars=2, time_signature=(3, 4), tempo=90, style="jazz", humanize=1.0,
                     sampling=Sampling(candidates=2, seed=7))
    first = composer.run(task)
    assert first == composer.run(task)
    assert len(first) == 2
    for (part,) in first:
        assert part.kind == "drums" and part.length == 6.0 and part.time_signature == (3, 4)
        assert part.notes and {n.pitch for n in part.notes} <= GM
        assert all(0 <= n.start < 6.0 and 1 <= n.velocity <= 127 for n in part.notes)


def test_drums_humanize_zero_is_on_the_grid(composer: Composer) -> None:
    (part,) = composer.run(DrumsTask(bars=1, humanize=0.0, sampling=Sampling(seed=3)))[0]
    assert all(abs(n.start * 12 - round(n.start * 12)) < 1e-6 for n in part.notes)


def test_drums_density_raises_the_note_count(composer: Composer) -> None:
    sparse = composer.run(DrumsTask(bars=2, density=0.0, sampling=Sampling(seed=1)))[0][0]
    busy = composer.run(DrumsTask(bars=2, density=1.0, sampling=Sampling(seed=1)))[0][0]
    assert len(busy.notes) > len(sparse.notes)
    assert len(sparse.notes) <= 2 * 16  # the most notes a bar at density 0


def test_drums_with_context_clips(composer: Composer) -> None:
    from models.ops.drums import build_drums

    task = DrumsTask(bars=2, context=(tune(2),), sampling=Sampling(seed=2))
    rewrite = build_drums(task, use_context=True)
    plan = rewrite.plans(1, 0)
    assert plan is not None and len(plan[0].segments) > 3


@pytest.mark.parametrize("span", [None, (2.0, 4.0), (5.5, 7.25)])
def test_fill_keeps_everything_outside_the_span(composer: Composer, span: tuple[float, float] | None) -> None:
    clip = groove(2)
    lo, hi = span or (4.0, 8.0)
    for intensity in (0.0, 1.0):
        for (part,) in composer.run(FillTask(clip, span=span, intensity=intensity, humanize=1.0,
                                             sampling=Sampling(candidates=2, seed=11))):
            outside = [n for n in clip.notes if not lo <= n.start < hi]
            landing = [n for n in part.notes if n.start == hi and n.pitch == DRUM_CLASSES["crash"]]
            assert len(landing) <= 1 and (hi % 4 == 0 or not landing)  # the crash a fill lands on
            assert [n for n in part.notes if not lo <= n.start < hi and n not in landing] == sorted(
                outside, key=lambda n: (n.start, n.pitch))
            written = [n for n in part.notes if hi - fill_beats(intensity, 4.0) <= n.start < hi]
            assert written and {n.pitch for n in written} - {44} <= GM  # the kept groove's pedal hat
            assert part.length == clip.length


def test_fill_span_outside_the_clip_is_refused(composer: Composer) -> None:
    with pytest.raises(ValueError, match="span"):
        composer.run(FillTask(groove(1), span=(8.0, 9.0)))


def test_vary_strength_zero_is_identical(composer: Composer) -> None:
    clip = tune()
    (part,) = composer.run(VaryTask(clip, strength=0.0))[0]
    assert part.notes == clip.notes


@pytest.mark.parametrize("clip", [tune(4), tune(1), groove(2)])
def test_vary_keeps_bars_key_and_voice(composer: Composer, clip: Part) -> None:
    results = composer.run(VaryTask(clip, strength=0.5, key=clip.key, sampling=Sampling(candidates=3, seed=4)))
    assert len(results) == 3
    for (part,) in results:
        assert part.length == clip.length and part.time_signature == clip.time_signature
        assert all(0 <= n.start < clip.length for n in part.notes)
        kept = set(part.notes) & set(clip.notes)
        assert kept, "half the clip is kept"
        if clip.kind == "drums":
            assert {n.pitch for n in part.notes} <= GM | {44}
        else:
            assert {n.pitch % 12 for n in part.notes} <= {p % 12 for p in scale_pitches("C major")}
            assert not overlapping(part) and all(n.end <= clip.length + 1e-6 for n in part.notes)


def test_vary_keep_rhythm_changes_pitches_only(composer: Composer) -> None:
    clip = tune(2)
    for (part,) in composer.run(VaryTask(clip, strength=1.0, keep_rhythm=True, key="C major",
                                         sampling=Sampling(candidates=2, seed=9))):
        assert [(n.start, n.duration, n.velocity) for n in part.notes] == \
            [(n.start, n.duration, n.velocity) for n in clip.notes]
        assert {n.pitch for n in part.notes} <= scale_pitches("C major")


def test_continue_holds_only_the_new_bars(composer: Composer) -> None:
    clip = tune(2)
    for (part,) in composer.run(ContinueTask(clip, bars=3, sampling=Sampling(candidates=2, seed=1))):
        assert part.length == 12.0 and part.key == "C major"
        assert part.notes and all(0 <= n.start < 12.0 and n.end <= 12.0 + 1e-6 for n in part.notes)
        assert not overlapping(part)


def test_continuing_an_unbroken_melody_leaves_no_rest(composer: Composer) -> None:
    clip = tune(2)  # eighths without a rest
    for (part,) in composer.run(ContinueTask(clip, bars=2, sampling=Sampling(candidates=3, seed=4))):
        ordered = sorted(part.notes, key=lambda n: n.start)
        assert ordered[0].start == 0.0 and ordered[-1].end == pytest.approx(8.0, abs=1e-4)
        assert all(b.start == pytest.approx(a.end, abs=1e-4) for a, b in zip(ordered, ordered[1:], strict=False))


def test_continue_a_clip_ending_inside_a_bar(composer: Composer) -> None:
    clip = Part(tune(2).notes[:12], 6.0, (4, 4), 120.0, "C major", "Tune", "melody")
    (part,) = composer.run(ContinueTask(clip, bars=1, sampling=Sampling(seed=2)))[0]
    assert part.length == 4.0 and all(0 <= n.start < 4.0 for n in part.notes)


def test_continue_drums_stay_drums(composer: Composer) -> None:
    (part,) = composer.run(ContinueTask(groove(2), bars=2, sampling=Sampling(seed=3)))[0]
    assert part.kind == "drums" and part.length == 8.0
    assert part.notes and {n.pitch for n in part.notes} <= GM


@pytest.mark.parametrize("strength", [0.0, 0.5, 1.0])
def test_restyle_drums_keeps_the_skeleton_by_strength(composer: Composer, strength: float) -> None:
    clip = groove(2)
    skeleton = [n for n in clip.notes if n.pitch in (36, 38)]
    (part,) = composer.run(RestyleTask(clip, "jazz", strength, sampling=Sampling(seed=6)))[0]
    kept = [n for n in skeleton if n in part.notes]
    assert len(kept) == round((1 - strength) * len(skeleton))
    assert part.length == clip.length and {n.pitch for n in part.notes} <= GM | ({44} if strength == 0 else set())


@pytest.mark.parametrize("style", ["jig", "reel", "chorale"])
def test_restyle_melody_keeps_downbeats_first(composer: Composer, style: str) -> None:
    """A melody keeps the onset and pitch of its strongest notes (their lengths are the new
    style's), stays one line, and keeps its bars and metre, whichever metre the style lives in."""
    clip = tune(2)
    (part,) = composer.run(RestyleTask(clip, style, 0.75, sampling=Sampling(seed=6)))[0]
    starts = {(n.start, n.pitch) for n in part.notes}
    assert all((n.start, n.pitch) in starts for n in clip.notes if n.start in (0.0, 4.0))
    assert not overlapping(part)
    assert (part.length, part.time_signature, part.tempo) == (clip.length, clip.time_signature, clip.tempo)
    assert all(0 <= n.start and n.end <= clip.length + 1e-6 for n in part.notes)


@pytest.mark.parametrize("style", ["jig", "chorale"])
def test_restyle_keeps_an_unbroken_melody_unbroken(composer: Composer, style: str) -> None:
    clip = tune(2)  # eighths without a rest
    for seed in range(3):
        (part,) = composer.run(RestyleTask(clip, style, 0.5, sampling=Sampling(seed=seed)))[0]
        ordered = sorted(part.notes, key=lambda n: n.start)
        assert ordered[0].start == 0.0 and ordered[-1].end == pytest.approx(clip.length, abs=1e-4)
        assert all(b.start == pytest.approx(a.end, abs=1e-4) for a, b in zip(ordered, ordered[1:], strict=False))


@pytest.mark.parametrize("style", ["jig", "chorale"])
def test_restyle_holds_no_note_longer_than_a_bar(composer: Composer, style: str) -> None:
    clip = tune(4)
    for seed in range(3):
        (part,) = composer.run(RestyleTask(clip, style, 1.0, sampling=Sampling(seed=seed)))[0]
        assert part.notes and max(n.duration for n in part.notes) <= 4.0 + 1e-6


def test_restyle_a_4_4_melody_as_a_jig_writes_it_in_triplets(composer: Composer) -> None:
    """A jig over a 4/4 clip is written in 6/8 at the same pulse and read back at 2/3: a 6/8
    eighth (0.5) is a triplet eighth (1/3), so every onset x1.5 is on the tokenizer's grid."""
    clip = tune(2)
    (part,) = composer.run(RestyleTask(clip, "jig", 1.0, sampling=Sampling(seed=3)))[0]
    assert part.notes and not overlapping(part)
    for n in part.notes:
        tick = n.start * 1.5 * 12
        assert abs(tick - round(tick)) < 1e-3 and round(tick) % 12 in GRID, n


def test_restyle_refuses_a_style_of_the_other_kind(composer: Composer) -> None:
    with pytest.raises(ValueError, match="style must be one of"):
        composer.run(RestyleTask(groove(1), "jig"))
    with pytest.raises(ValueError, match="style must be one of"):
        composer.run(RestyleTask(tune(1), "funk"))


def test_the_composer_lists_the_ops_and_styles(composer: Composer) -> None:
    assert {"drums", "fill", "vary", "continue", "restyle"} <= set(composer.ops())
    styles = composer.styles()
    assert "funk" in styles["drums"] and {"jig", "funk"} <= set(styles["restyle"])
