"""The settings file: written with the defaults on first load, buttons and controls parsed,
mistakes reported by line without stopping the rest."""

from DAWBridge import config


def test_first_load_writes_the_defaults_and_reads_them_back(home):
    first = config.load()
    assert (home / "ableton.cfg").exists()
    again = config.load()
    assert first.buttons == again.buttons and first.settings == again.settings
    assert again.problems == []
    assert again.address == "tcp://127.0.0.1:5555"
    assert again.buttons[("cc", 0, 102)] == ("harmonize", {})
    assert again.buttons[("cc", 0, 107)] == ("restyle", {})
    assert len(again.buttons) == 6 and {kind for kind, _, _ in again.buttons} == {"cc"}


def test_buttons_with_channels_controls_and_removal():
    cfg = config.Config("\n".join([
        "harmonize = note 48 channel 10",
        "harmonize:chords = note 49 channel 10 style=chords candidates=1",
        "drums = off",
        "continue.bars = 8",
        "seed = 7",
    ]))
    assert cfg.problems == []
    assert cfg.buttons[("note", 9, 48)] == ("harmonize", {})
    assert cfg.buttons[("note", 9, 49)] == ("harmonize", {"style": "chords", "candidates": 1})
    assert ("note", 0, 36) not in cfg.buttons and ("cc", 0, 103) not in cfg.buttons
    assert cfg.fields_for("continue")["bars"] == 8
    assert cfg.fields_for("harmonize", overrides={"style": "bass"}) == {
        "candidates": 3, "temperature": 1.0, "style": "bass", "seed": 7}


def test_restyle_picks_the_style_by_what_the_clip_holds():
    cfg = config.Config("style.restyle_drums = jazz\n")
    assert cfg.fields_for("restyle", "drums")["style"] == "jazz"
    assert cfg.fields_for("restyle", "melody")["style"] == "jig"


def test_mistakes_are_reported_and_skipped():
    cfg = config.Config("\n".join([
        "harmonize = note 128",
        "fill = knob 3",
        "vary = note 39 channel 17",
        "candidates = 12",
        "drums = note 36",
    ]))
    text = "\n".join(cfg.problems)
    assert "note number must be in range 0..127" in text
    assert "a button must be 'note <0..127>' or 'cc <0..127>'" in text
    assert "channel must be in range 1..16" in text
    assert "candidates must be in range 1..8" in text
    assert cfg.fields_for("vary")["candidates"] == 3
    assert cfg.buttons[("note", 0, 36)][0] == "drums"
