"""Training data and `dawbridge train` (models/data/dataset.py, models/training.py,
models/data/midi_folder.py): token caches built from real chorales and Groove performances,
transposition of token windows, the evaluation filter, and short real training runs on CPU that
checkpoint, resume, and fine-tune from a folder of MIDI files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import mido
import numpy as np
import pytest
import torch

from models.data.dataset import (
    HEADER,
    TokenSet,
    WindowSampler,
    build,
    is_evaluation,
    shift_range,
    transpose_tokens,
)
from models.data.midi_folder import load_folder, piece_from_file
from models.net import checkpoint
from models.net import vocab as V
from models.net.tokenizer import encode
from models.representation import Piece
from models.training import PRESETS, main
from tests.models.music import JSB_FILE, chorale, groove, needs_groove, needs_jsb

pytestmark = pytest.mark.usefixtures("one_thread")
CHORALES = ("bwv66.6.mxl", "bwv269.mxl", "bwv25.6.mxl", "bwv347.mxl")
PITCHES = range(V.PITCH0, V.PITCH0 + 128)


def names(tokens) -> list[str]:
    return [V.VOCAB.tokens[int(t)] for t in tokens]


# --- dataset -----------------------------------------------------------------------------------

def test_transpose_tokens_moves_pitches_and_the_key_only() -> None:
    tokens = np.asarray(encode(chorale("bwv66.6.mxl")), dtype=np.int64)
    assert names(tokens[:5])[3] == "KEY_F#_minor"
    for shift, key in ((2, "KEY_Ab_minor"), (-3, "KEY_Eb_minor"), (6, "KEY_C_minor")):
        moved = transpose_tokens(tokens, shift)
        is_pitch = np.isin(tokens, PITCHES)
        assert np.array_equal(moved[is_pitch], tokens[is_pitch] + shift)
        assert names(moved[:5])[3] == key
        rest = ~is_pitch & (np.arange(len(tokens)) != 3)
        assert np.array_equal(moved[rest], tokens[rest])
    assert transpose_tokens(tokens, 0) is tokens
    major = np.asarray(encode(chorale("bwv25.6.mxl")), dtype=np.int64)
    assert names(transpose_tokens(major, -1)[:5])[3] == "KEY_B_major"


def test_shift_range_keeps_every_voice_in_range() -> None:
    from models.constants import VOICE_RANGES

    piece = chorale("bwv347.mxl")
    lo, hi = shift_range(piece)
    assert lo <= 0 <= hi
    for role, part in piece.tracks:
        low, high = VOICE_RANGES[role]
        assert low <= min(n.pitch for n in part.notes) + lo and max(n.pitch for n in part.notes) + hi <= high


@needs_groove
def test_drums_are_never_transposed() -> None:
    drums = groove("drummer1/session1/10")
    data = build({"groove": [drums], "chorales": [chorale("bwv25.6.mxl")]})
    groove_index = data.names.index("groove")
    piece = int(np.flatnonzero(data.sources == groove_index)[0])
    assert tuple(data.shifts[piece]) == (0, 0)
    original = data.tokens[data.offsets[piece]:data.offsets[piece + 1]].astype(np.int64)
    sampler = WindowSampler(data, block=64, seed=0, weights={"groove": 1.0, "chorales": 0.0})
    for _ in range(20):
        window = sampler.window()
        body = window[HEADER:]
        assert any(np.array_equal(body, original[s:s + len(body)]) for s in np.flatnonzero(original == V.BAR))
    assert names(original).count("FILL") == drums.first.bars  # fills are flagged in every bar


def test_windows_start_with_the_header_then_a_bar() -> None:
    pieces = [chorale(n) for n in CHORALES]
    data = build({"chorales": pieces})
    assert len(data) == len(pieces)
    sampler = WindowSampler(data, block=48, seed=3)
    headers = {tuple(encode(p)[1:3]) for p in pieces}  # style and metre survive transposition
    for _ in range(40):
        window = sampler.window()
        assert len(window) <= 49 and window[0] == V.BOS and window[HEADER] == V.BAR
        assert tuple(window[1:3]) in headers and names(window[3:4])[0].startswith("KEY_")
    x, y = sampler.batch(4, "cpu")
    assert x.shape == y.shape == (4, 48) and x.dtype == torch.int64
    assert torch.equal(x[:, 1:][y[:, :-1] != -1], y[:, :-1][y[:, :-1] != -1])


def test_token_set_saves_without_pickles(tmp_path: Path) -> None:
    data = build({"chorales": [chorale("bwv66.6.mxl"), chorale("bwv269.mxl")]})
    data.save(tmp_path / "train.npz")
    back = TokenSet.load(tmp_path / "train.npz")  # np.load(allow_pickle=False)
    assert np.array_equal(back.tokens, data.tokens) and back.names == data.names
    assert np.array_equal(back.offsets, data.offsets) and np.array_equal(back.shifts, data.shifts)


@needs_jsb
def test_is_evaluation_filters_jsb_valid() -> None:
    from models.data.jsb import jsb_piece, read_jsb
    from models.eval.harmonize import evaluation_pieces

    valid = evaluation_pieces(limit=3)
    assert len(valid) == 3 and all(is_evaluation(p) for p in valid)
    train = jsb_piece(read_jsb(JSB_FILE)["train"][0], 0, "train", None)
    assert not is_evaluation(train)
    assert not is_evaluation(chorale("bwv66.6.mxl"))
    derived = Piece(train.tracks[:2], "chorale", "derived:jsb", labels={"score_split": "evaluation"})
    assert is_evaluation(derived)


# --- training runs -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def token_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tokens")
    build({"chorales": [chorale(n) for n in CHORALES[:3]]}).save(folder / "train.npz")
    build({"chorales": [chorale(CHORALES[3])]}).save(folder / "valid.npz")
    return folder


def train_args(token_dir: Path, run_dir: Path, steps: int, *extra: str) -> list[str]:
    return ["--tokens", str(token_dir), "--run-dir", str(run_dir), "--preset", "tiny", "--steps", str(steps),
            "--batch", "2", "--block", "64", "--warmup", "1", "--eval-every", "2", "--eval-batches", "1",
            "--device", "cpu", *extra]


def test_train_checkpoints_and_resumes(token_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run_dir = tmp_path / "run"
    assert main(train_args(token_dir, run_dir, 3)) == 0
    state = torch.load(run_dir / "state.pt", weights_only=True)
    assert state["step"] == 3
    model, meta = checkpoint.load(run_dir / "model")
    assert model.config == PRESETS["tiny"]
    assert meta["name"] == "dawbridge-tiny" and meta["sources"] == ["chorales"] and meta["steps"] in (2, 3)
    assert sorted(p.name for p in run_dir.iterdir()) == ["model.json", "model.safetensors", "state.pt"]

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="models.training"):
        assert main(train_args(token_dir, run_dir, 5)) == 0
    assert any("resumed from" in r.getMessage() and "at step 3" in r.getMessage() for r in caplog.records)
    assert torch.load(run_dir / "state.pt", weights_only=True)["step"] == 5
    steps = [h["step"] for h in json.loads((run_dir / "model.json").read_text())["meta"]["history"]]
    assert steps and all(s >= 4 for s in steps), "the resumed run's history continues from step 3"


def test_fixed_seed_gives_the_same_weights(token_dir: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        main(train_args(token_dir, tmp_path / name, 2, "--eval-every", "2"))
    a = torch.load(tmp_path / "a" / "state.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "state.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def write_song(path: Path, time_signature: tuple[int, int], drums: bool, seed: int) -> None:
    """A small type 1 MIDI file: a melody, a bass line and (maybe) a drum track on channel 10."""
    rng = np.random.default_rng(seed)
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    meta = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=time_signature[0],
                                            denominator=time_signature[1], time=0),
                           mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(110), time=0)])
    mid.tracks.append(meta)
    beats = 4 * time_signature[0] * 4 // time_signature[1]
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    for channel, base, step in ((0, 12, 1), (1, -24, 2)):
        track = mido.MidiTrack()
        for _ in range(beats // step):
            pitch = base + int(rng.choice(scale))
            track.append(mido.Message("note_on", channel=channel, note=pitch, velocity=90, time=0))
            track.append(mido.Message("note_off", channel=channel, note=pitch, velocity=0, time=480 * step))
        mid.tracks.append(track)
    if drums:
        track = mido.MidiTrack()
        for i in range(beats * 2):
            note = (36, 42, 38, 42)[i % 4]
            track.append(mido.Message("note_on", channel=9, note=note, velocity=int(rng.integers(40, 127)), time=0))
            track.append(mido.Message("note_on", channel=9, note=note, velocity=0, time=240))
        mid.tracks.append(track)
    mid.save(path)


@pytest.fixture
def midi_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "my-midi"
    (folder / "sub").mkdir(parents=True)
    write_song(folder / "song1.mid", (4, 4), True, 1)
    write_song(folder / "waltz.mid", (3, 4), False, 2)
    write_song(folder / "sub" / "tune.mid", (4, 4), False, 3)
    write_song(folder / "take10.mid", (4, 4), True, 4)  # hashes into the valid split
    (folder / "notes.txt").write_text("not MIDI")
    (folder / "broken.mid").write_bytes(b"MThd garbage")
    return folder


def test_midi_folder_pieces(midi_folder: Path) -> None:
    pieces = load_folder(midi_folder)
    assert sorted(p.source for p in pieces["train"]) == ["user:song1.mid", "user:tune.mid", "user:waltz.mid"]
    assert [p.source for p in pieces["valid"]] == ["user:take10.mid"]
    song = piece_from_file(midi_folder / "song1.mid")
    assert song is not None and [r for r, _ in song.tracks] == ["melody", "bass", "drums"]
    assert song.first.time_signature == (4, 4) and song.first.tempo == 110.0 and song.first.length == 16.0
    assert song.first.key is not None
    waltz = piece_from_file(midi_folder / "waltz.mid")
    assert waltz is not None and waltz.first.time_signature == (3, 4) and waltz.first.length == 12.0
    assert encode(waltz).count(V.BAR) == 4


def test_fine_tune_from_a_midi_folder(midi_folder: Path, tiny_weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine" / "model"
    args = ["--data", str(midi_folder), "--init", str(tiny_weights), "--run-dir", str(tmp_path / "ft"),
            "--out", str(out), "--steps", "2", "--batch", "2", "--block", "64", "--warmup", "1",
            "--eval-every", "1", "--eval-batches", "1", "--device", "cpu"]
    assert main(args) == 0
    model, meta = checkpoint.load(out)
    assert meta["name"] == "dawbridge-user" and meta["sources"] == ["user"]
    assert model.config == checkpoint.load(tiny_weights)[0].config  # the --init model's shape, not a preset's
    assert torch.load(tmp_path / "ft" / "state.pt", weights_only=True)["step"] == 2


def test_fine_tune_on_an_empty_folder_says_so(tmp_path: Path, tiny_weights: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no usable MIDI files"):
        main(["--data", str(tmp_path / "empty"), "--init", str(tiny_weights), "--run-dir", str(tmp_path / "r"),
              "--device", "cpu"])


# --- chord lanes ----------------------------------------------------------------------------------

def test_chorales_and_their_derived_parts_carry_the_chorales_harmony() -> None:
    from models.data.derive import derived_sources

    four = chorale("bwv25.6.mxl")
    data = build({"chorales": [four], **derived_sources([four])})
    lanes = {}
    for i, name in enumerate(data.names):
        seq = names(data.tokens[data.offsets[i]:data.offsets[i + 1]])
        assert seq.count("BAR") == seq.count("HARM") == four.first.bars
        lanes[name] = [t for t in seq if t.startswith(("CHORD_", "SLASH_"))]
    assert lanes["chorales"] == lanes["chorale_bass"] == lanes["chorale_chords"]
    assert lanes["chorales"][0] == "CHORD_C_maj" and len(lanes["chorales"]) >= 2 * four.first.bars


@needs_groove
def test_drums_have_no_chord_lane() -> None:
    data = build({"groove": [groove("drummer1/session1/1")]})
    assert V.HARM not in data.tokens


def test_transposing_moves_chord_roots_and_slash_notes_round_the_octave() -> None:
    from models.data.derive import derived_sources

    four = chorale("bwv66.6.mxl")
    data = build({"chorales": [four], **derived_sources([four])})
    tokens = data.tokens.astype(np.int64)
    lane = [(i, t) for i, t in enumerate(names(tokens)) if t.startswith(("CHORD_", "SLASH_"))]
    assert len(lane) > 30 and any(t.startswith("SLASH_") for _, t in lane)
    for shift in (-6, -1, 5):
        moved = names(transpose_tokens(tokens, shift))
        for i, before in lane:
            family, root, *quality = before.split("_")
            assert moved[i].split("_")[0] == family and moved[i].split("_")[2:] == quality  # the quality stays
            assert (V.PITCH_NAMES.index(moved[i].split("_")[1]) - V.PITCH_NAMES.index(root)) % 12 == shift % 12


def test_windows_without_lanes_keep_every_bar_and_note() -> None:
    from models.data.dataset import LANELESS, without_lanes
    from models.data.derive import derived_sources

    four = [chorale(n) for n in CHORALES]
    data = build({"chorales": four, **derived_sources(four)})
    tokens = data.tokens.astype(np.int64)
    stripped = without_lanes(tokens)
    assert not np.isin(stripped, [V.HARM, *range(V.CHORD0, len(V.VOCAB))]).any()
    assert np.array_equal(stripped, tokens[(tokens < V.HARM) & ~_lane_positions(tokens)])
    sampler = WindowSampler(data, block=64, seed=0)
    laned = [V.HARM in sampler.window() for _ in range(200)]
    assert abs((1 - np.mean(laned)) - LANELESS) < 0.1  # about one window in four has none


def _lane_positions(tokens: np.ndarray) -> np.ndarray:
    """POS tokens inside chord lanes (between HARM and the bar's first track)."""
    inside, out = False, np.zeros(len(tokens), dtype=bool)
    for i, t in enumerate(tokens):
        if t == V.HARM:
            inside = True
        elif t == V.BAR or t in V.TRK.values():
            inside = False
        out[i] = inside
    return out


def test_weights_of_the_earlier_vocabulary_grow_into_this_one(tmp_path: Path) -> None:
    from models.net.transformer import GPT, GPTConfig

    old = GPT(GPTConfig(vocab_size=V.HARM, block_size=32, n_layer=1, n_head=2, n_embd=32)).eval()
    stem = tmp_path / "old"
    checkpoint.save(old, stem, {"name": "v1"}, half=False)
    side = json.loads(stem.with_suffix(".json").read_text())
    side["tokens"], side["token_format"] = side["tokens"][:V.HARM], 1
    stem.with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(checkpoint.CheckpointError, match="another token vocabulary"):
        checkpoint.load(stem)
    grown, _ = checkpoint.load(stem, grow=True)
    assert grown.config.vocab_size == len(V.VOCAB)
    assert torch.equal(grown.wte.weight[:V.HARM], old.wte.weight)
    assert grown.wte.weight[V.HARM:].abs().max() > 0
    probe = torch.tensor([[V.BOS, V.BAR, V.TRK["melody"], V.POS0, V.PITCH0 + 60]])
    with torch.no_grad():
        assert torch.allclose(grown(probe)[..., :V.HARM], old(probe), atol=1e-5)


def test_a_token_cache_of_another_format_is_built_again(tmp_path: Path) -> None:
    data = build({"chorales": [chorale("bwv66.6.mxl")]})
    data.save(tmp_path / "train.npz")
    assert TokenSet.current(tmp_path / "train.npz")
    np.savez_compressed(tmp_path / "old.npz", tokens=data.tokens, offsets=data.offsets, sources=data.sources,
                        shifts=data.shifts, names=np.array(data.names))  # written before caches named their format
    assert not TokenSet.current(tmp_path / "old.npz") and not TokenSet.current(tmp_path / "missing.npz")
