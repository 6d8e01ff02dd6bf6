"""The drum ops with the shipped model and groove library: ``drums`` starts from real train
performances and says which; candidates come from different performances; a two-bar phrase
stays one; fills keep the groove up to where they start and land on the next downbeat; a
melody is refused by ``fill`` and by a drum-style ``restyle``."""

from __future__ import annotations

import pytest

from models.constants import DRUM_CLASSES, DRUM_PITCH_MAP
from models.interface import Composer, load_composer
from models.net.tokenizer import snap
from models.ops.drums import FILL_DENSITY, fill_beats, looks_like_drums, thinned
from models.representation import Note, Part
from models.styles import grooves
from models.tasks import DrumsTask, FillTask, RestyleTask, Sampling
from tests.models.ops.test_ops_constraints import groove, tune

CRASH = DRUM_CLASSES["crash"]
TOMS_CRASH = {DRUM_CLASSES[c] for c in ("low_tom", "mid_tom", "high_tom", "crash")}


@pytest.fixture(scope="module")
def shipped(one_thread: None) -> Composer:
    return load_composer(None, "cpu")


def grid(part: Part, start: float, end: float) -> set[tuple[int, int]]:
    return {(snap(n.start * 12) - round(start * 12), DRUM_PITCH_MAP[n.pitch]) for n in part.notes
            if start <= n.start < end}


def test_drums_start_from_a_train_performance_and_say_which(shipped: Composer) -> None:
    library = grooves.shipped()
    assert library is not None
    results = shipped.run(DrumsTask(4, (4, 4), 96.0, "reggae", humanize=0.0, sampling=Sampling(candidates=3, seed=2)))
    sources = [parts[0].extra["source"] for parts in results]
    assert len({s.split(" bars ")[0] for s in sources}) == 3  # three different performances
    for (part,), source in zip(results, sources, strict=True):
        name, bars = source.split(" bars ")
        g = next(g for g in library.grooves if g.source == name)
        assert g.style == "reggae" and g.time_signature == (4, 4)
        first = int(bars.split("-")[0]) - 1
        assert grid(part, 0, 4) == {(t, c) for t, c, _ in g.bars[first]}  # the drummer's own first bar


def test_every_style_has_grooves_in_four_four() -> None:
    library = grooves.shipped()
    assert library is not None
    from models.net import vocab as V

    for style in V.DRUM_STYLES:
        assert library.of_style(style, (4, 4)), style
    assert "gospel" in library.borrowed  # fills only on the train split


def test_find_prefers_the_tempo_and_density_asked_for() -> None:
    library = grooves.shipped()
    assert library is not None
    slow, fast = library.find("rock", (4, 4), 70.0)[0], library.find("rock", (4, 4), 160.0)[0]
    assert slow.bpm < fast.bpm
    sparse, busy = library.find("funk", (4, 4), None, 0.0)[0], library.find("funk", (4, 4), None, 1.0)[0]
    assert sparse.density < busy.density


def test_a_metre_without_grooves_falls_back_to_the_model(shipped: Composer) -> None:
    (part,) = shipped.run(DrumsTask(2, (7, 8), 120.0, "rock", sampling=Sampling(seed=1)))[0]
    assert part.length == 7.0 and "source" not in part.extra and part.notes


def test_library_hits_round_trip() -> None:
    bar = ((0, 36, 100), (12, 38, 90), (45, 49, 127))
    assert grooves._decode(grooves._encode(bar)) == bar


@pytest.mark.parametrize("intensity", [0.2, 0.5, 1.0])
def test_fill_keeps_the_groove_up_to_where_it_starts(shipped: Composer, intensity: float) -> None:
    clip = groove(2)
    start = 8.0 - fill_beats(intensity, 4.0)
    for (part,) in shipped.run(FillTask(clip, intensity=intensity, humanize=0.0, sampling=Sampling(candidates=2, seed=3))):
        before = [n for n in part.notes if n.start < start]
        assert before == sorted((n for n in clip.notes if n.start < start), key=lambda n: (n.start, n.pitch))
    assert fill_beats(0.2, 4.0) <= 2 and fill_beats(0.8, 4.0) == 4


def test_fill_intensity_adds_notes_per_beat(shipped: Composer) -> None:
    clip = groove(2)
    per_beat = {}
    for intensity in (0.0, 1.0):
        parts = shipped.run(FillTask(clip, intensity=intensity, sampling=Sampling(candidates=3, seed=5)))
        start = 8.0 - fill_beats(intensity, 4.0)
        per_beat[intensity] = sum(sum(n.start >= start for n in p[0].notes) for p in parts) / (8.0 - start)
    assert per_beat[1.0] > per_beat[0.0]


def test_a_fill_is_about_as_busy_as_the_groove_and_plays_into_the_downbeat(shipped: Composer) -> None:
    clip = groove(2)
    per_beat = sum(n.start < 4.0 for n in clip.notes) / 4.0
    for (part,) in shipped.run(FillTask(clip, intensity=0.8, humanize=0.0, sampling=Sampling(candidates=3, seed=4))):
        fill = [n for n in part.notes if n.start >= 4.0]
        assert len(fill) <= round(per_beat * 4.0 * (FILL_DENSITY[0] + 0.8 * (FILL_DENSITY[1] - FILL_DENSITY[0])))
        assert any(n.start >= 7.0 for n in fill)  # thinned, not cut short


@pytest.mark.parametrize("intensity", [0.2, 0.5, 0.8])
def test_every_fill_strikes_its_last_beat(shipped: Composer, intensity: float) -> None:
    last_beat = {DRUM_CLASSES[c] for c in ("kick", "snare")} | TOMS_CRASH
    for seed in range(3):
        for (part,) in shipped.run(FillTask(groove(3), intensity=intensity, humanize=0.0,
                                            sampling=Sampling(candidates=2, seed=seed))):
            assert any(11.0 <= n.start < 12.0 and DRUM_PITCH_MAP[n.pitch] in last_beat for n in part.notes)


def test_thinning_drops_the_softest_time_keeping_first_and_the_last_beat_last() -> None:
    hat, snare, tom = DRUM_CLASSES["closed_hat"], DRUM_CLASSES["snare"], DRUM_CLASSES["low_tom"]
    notes = [Note(hat, i * 0.5, 0.25, 60 + i) for i in range(8)] + [Note(snare, 1.0, 0.25, 40),
                                                                     Note(tom, 3.75, 0.25, 30)]
    kept = thinned(notes, 4, 3.0)
    assert [n for n in notes if n in kept] == kept  # order kept
    assert [(n.pitch, n.start) for n in kept] == [(hat, 3.0), (hat, 3.5), (snare, 1.0), (tom, 3.75)]
    assert [(n.pitch, n.start) for n in thinned(notes, 2, 3.0)] == [(hat, 3.5), (tom, 3.75)]
    assert thinned(notes, 20, 3.0) == notes


def test_an_intense_fill_lands_on_the_next_downbeat(shipped: Composer) -> None:
    clip = groove(3)
    for (part,) in shipped.run(FillTask(clip, span=(4.0, 8.0), intensity=0.9, sampling=Sampling(candidates=3, seed=5))):
        fill = [n for n in part.notes if 4.0 <= n.start < 8.0]
        assert {DRUM_PITCH_MAP[n.pitch] for n in fill} & TOMS_CRASH or any(
            n.pitch == CRASH and n.start == 8.0 for n in part.notes)
        assert any(n.pitch == CRASH and n.start == 8.0 for n in part.notes)  # the landing
        assert not any(n.pitch == CRASH and 7.5 <= n.start < 8.0 for n in part.notes)  # not a 16th before
        assert [n for n in part.notes if n.start < 4.0 or (n.start >= 8.0 and n.pitch != CRASH)] == sorted(
            (n for n in clip.notes if not 4.0 <= n.start < 8.0), key=lambda n: (n.start, n.pitch))


def test_a_melody_is_refused_by_fill_and_by_a_drum_style(shipped: Composer) -> None:
    with pytest.raises(ValueError, match="drum clip for fill, got a melody clip"):
        shipped.run(FillTask(tune(2)))
    unknown = Part(tune(2).notes, 8.0, (4, 4), 120.0)  # no kind given: read from the notes
    assert not looks_like_drums(unknown) and looks_like_drums(Part(groove(1).notes, 4.0))
    with pytest.raises(ValueError, match="drum clip for fill"):
        shipped.run(FillTask(unknown))
    with pytest.raises(ValueError, match="melody clip"):
        shipped.run(RestyleTask(tune(2), "rock"))


def test_restyle_leans_on_the_target_styles_grooves(shipped: Composer) -> None:
    clip = groove(4)
    (part,) = shipped.run(RestyleTask(clip, "jazz", 1.0, sampling=Sampling(seed=1)))[0]
    name = part.extra["source"].split(" bars ")[0]
    library = grooves.shipped()
    assert library is not None
    assert next(g for g in library.grooves if g.source == name).style == "jazz"
    assert part.notes and {DRUM_PITCH_MAP[n.pitch] for n in part.notes} <= set(DRUM_CLASSES.values())


def test_candidates_are_never_near_copies(shipped: Composer) -> None:
    results = shipped.run(DrumsTask(4, (4, 4), 110.0, "rock", humanize=0.0, sampling=Sampling(candidates=4, seed=9)))
    sets = [grid(parts[0], 0, 16) for parts in results]
    for i, a in enumerate(sets):
        for b in sets[i + 1:]:
            assert len(a & b) / len(a | b) < 0.9


def test_looks_like_drums_reads_a_kit_clip() -> None:
    hats = Part(tuple(Note(42, i * 0.5, 0.1, 80) for i in range(8)), 4.0)
    assert looks_like_drums(hats)


def test_a_fill_kept_on_the_snare_ends_around_the_toms() -> None:
    from models.ops.drums import around_the_toms

    snare = DRUM_CLASSES["snare"]
    notes = [Note(snare, 4.0 + i * 0.25, 0.25, 90) for i in range(16)] + [Note(DRUM_CLASSES["kick"], 4.0, 0.25, 90)]
    voiced = around_the_toms(notes)
    last_beat = [n.pitch for n in sorted(voiced, key=lambda n: n.start) if n.start >= 7.0]
    assert last_beat == [DRUM_CLASSES["high_tom"], DRUM_CLASSES["high_tom"], DRUM_CLASSES["mid_tom"], DRUM_CLASSES["low_tom"]]
    assert [n for n in voiced if n.start < 7.0] == [n for n in notes if n.start < 7.0]


def test_find_prefers_a_kick_on_the_bass_onsets() -> None:
    library = grooves.shipped()
    assert library is not None
    bass = {0, 9, 24, 33}  # a syncopated bass line's onsets in the bar
    plain, locked = library.find("funk", (4, 4), 100.0)[0], library.find("funk", (4, 4), 100.0, bass=bass)[0]
    assert locked.kick_share(frozenset(bass)) >= plain.kick_share(frozenset(bass))


def test_nearest_weighs_the_skeleton_and_how_recognisable_a_groove_is() -> None:
    library = grooves.shipped()
    assert library is not None
    backbeat = {(0, DRUM_CLASSES["kick"]), (12, DRUM_CLASSES["snare"]), (24, DRUM_CLASSES["kick"]),
                (36, DRUM_CLASSES["snare"])}
    near = library.nearest("rock", (4, 4), backbeat)[0]
    assert len(near.skeleton & backbeat) >= 3
    sure = library.nearest("jazz", (4, 4), set(), recognisable=10.0)[0]
    assert 0.0 <= sure.recognisable <= 1.0
    assert sure.recognisable == max(g.recognisable for g in library.of_style("jazz", (4, 4)))


def test_the_library_stores_how_recognisable_each_groove_is() -> None:
    """The shipped library carries the classifier's certainty from its build: what asking the
    classifier again gives, so no drums request waits for it."""
    library = grooves.shipped()
    assert library is not None
    for g in library.of_style("funk", (4, 4))[:5]:
        assert grooves.recognisability(g) == pytest.approx(g.recognisable, abs=1e-12)


def test_without_a_bass_line_find_leads_with_recognisable_grooves_not_more_on_the_floor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for a style alone, the best fits are surer of their style than the style's grooves
    on average and no more four on the floor; a bass line to fit turns both off."""
    library = grooves.shipped()
    assert library is not None
    for style in ("rock", "funk", "hiphop"):
        pool = library.of_style(style, (4, 4))
        best = library.find(style, (4, 4), None)[:3]
        mean = sum(g.recognisable for g in pool) / len(pool)
        assert sum(g.recognisable for g in best) / len(best) > mean
        floor = sum(g.on_the_floor for g in pool) / len(pool)
        assert all(g.on_the_floor <= floor + 0.25 for g in best)
    bass = {0, 12, 24, 36}
    with_bass = library.find("rock", (4, 4), 100.0, bass=bass)
    monkeypatch.setattr(grooves, "RECOGNISABLE_GAIN", 0.0)
    monkeypatch.setattr(grooves, "FLOOR_COST", 0.0)
    assert library.find("rock", (4, 4), 100.0, bass=bass) == with_bass


def _performance(source: str, bar: tuple[grooves.Hit, ...], bars: int = 4) -> grooves.Groove:
    return grooves.Groove(source, "rock", (4, 4), 120.0, False, (bar,) * bars)


def test_typicality_ranks_the_styles_usual_bars_first() -> None:
    """A backbeat over eighth hats is typical of a pool of such bars; a groove kept on the toms
    and one of snare rolls are not."""
    kick, snare, hat, tom = (DRUM_CLASSES[c] for c in ("kick", "snare", "closed_hat", "high_tom"))
    backbeat = tuple(sorted([(t, hat, 80) for t in range(0, 48, 6)] + [(0, kick, 100), (24, kick, 100),
                                                                       (12, snare, 100), (36, snare, 100)]))
    toms = tuple(sorted([(t, tom, 80) for t in range(0, 48, 6)] + [(0, kick, 100), (12, snare, 100)]))
    rolls = tuple(sorted([(t, snare, 80) for t in range(0, 48, 3)] + [(0, kick, 100)]))
    pool = [_performance(f"beat{i}", backbeat) for i in range(4)] + [_performance("toms", toms),
                                                                   _performance("rolls", rolls)]
    score = grooves.typicality(pool)
    assert score["beat0"] > score["toms"] > 0 and score["beat0"] > score["rolls"] > 0


def test_drums_asked_for_by_style_alone_lead_with_the_styles_typical_grooves() -> None:
    """Rock at 120 bpm: the best-fitting grooves are more typical of rock than its grooves are on
    average, as the shipped library stores it (and as computing it again gives)."""
    library = grooves.shipped()
    assert library is not None
    pool = library.of_style("rock", (4, 4))
    again = grooves.typicality(pool)
    assert all(g.typical == pytest.approx(again[g.source]) for g in pool)
    best = library.find("rock", (4, 4), 120.0)[:6]
    assert sum(g.typical for g in best) / len(best) > sum(g.typical for g in pool) / len(pool)
