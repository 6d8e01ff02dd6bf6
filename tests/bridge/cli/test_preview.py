"""Piano-roll previews: a PNG of input and candidates; drum rows named after their kit pieces."""

from __future__ import annotations

from pathlib import Path

from bridge.cli import main as cli
from bridge.cli import midifile, preview
from tests.bridge.midi_files import daw_export
from tests.bridge.timing_composer import TimingComposer


def test_drum_rows_are_labelled_with_kit_pieces(start_engine, tmp_path: Path) -> None:
    server = start_engine(composer=TimingComposer(bar_seconds=0.001, semitones=2))
    source = daw_export(tmp_path / "song.mid")
    png = tmp_path / "fill.png"
    assert cli.main(["fill", str(source), "-o", str(tmp_path / "fill.mid"), "--preview", str(png),
                     "--address", server.address]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    song = midifile.read(tmp_path / "fill.mid")
    clips = [song.clip(part) for part in song.parts]
    roll = preview.figure(clips[:1], [clips[1:]])
    drums, answer = ([t.get_text() for t in axis.get_yticklabels()] for axis in roll.axes)
    assert drums == ["Bass Drum 1", "Acoustic Snare"] and answer == ["Acoustic Snare", "Electric Snare"]
    tune = midifile.read(source)
    lead = tune.clip(midifile.choose(tune))
    labels = [t.get_text() for t in preview.figure([lead], []).axes[0].get_yticklabels()]
    assert not any("Drum" in label or "Snare" in label for label in labels)
    assert preview.drum_label(42) == "Closed Hi-Hat" and preview.drum_label(20) == "drum 20"


def test_the_legend_stands_beside_the_roll_not_on_its_notes() -> None:
    """A fill's last hits sit in the roll's top right corner, where a legend inside would hide them."""
    from bridge.protocol import Clip

    notes = [{"pitch": 50, "start": 15.5, "duration": 0.25, "velocity": 100, "channel": 9},
             {"pitch": 36, "start": 0.0, "duration": 0.25, "velocity": 100, "channel": 9}]
    clip = Clip.model_validate({"notes": notes, "length": 16.0, "kind": "drums"})
    roll = preview.figure([clip], [[clip]])
    roll.canvas.draw()
    for axis in roll.axes:
        legend, plot = axis.get_legend().get_window_extent(), axis.get_window_extent()
        assert legend.x0 >= plot.x1 and roll.bbox.contains(legend.x1 - 1, legend.y0 + 1)
