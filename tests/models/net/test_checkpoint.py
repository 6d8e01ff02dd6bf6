"""Model files (models/net/checkpoint.py): safetensors + JSON round trips give the same logits, and
every broken file set is a CheckpointError here and a ModelUnavailable, with what to do, at the
engine's interface. Loading never unpickles."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from models.interface import ModelUnavailable, load_composer
from models.net import checkpoint
from models.net import vocab as V
from models.net.checkpoint import CheckpointError
from models.tasks import HarmonizeTask
from tests.models.conftest import tiny_gpt
from tests.models.music import in_quarters, melody

pytestmark = pytest.mark.usefixtures("one_thread")
PROBE = torch.tensor([[V.BOS, V.VOCAB.id("STYLE_chorale"), V.VOCAB.id("METER_4/4"), V.BAR, V.TRK["melody"],
                       V.POS0, V.PITCH0 + 72, V.DUR0 + 3, V.TRK["bass"]]])


def saved(tmp_path: Path, half: bool = True) -> tuple[torch.nn.Module, Path]:
    model = tiny_gpt()
    stem = tmp_path / "weights" / "model"
    checkpoint.save(model, stem, {"name": "probe", "steps": 0}, half=half)
    return model, stem


@torch.no_grad()
def test_full_precision_round_trip_gives_identical_logits(tmp_path: Path) -> None:
    model, stem = saved(tmp_path, half=False)
    loaded, meta = checkpoint.load(stem)
    assert meta == {"name": "probe", "steps": 0}
    assert loaded.config == model.config
    assert torch.equal(loaded(PROBE), model(PROBE))


@torch.no_grad()
def test_half_precision_files_load_as_the_rounded_model(tmp_path: Path) -> None:
    model, stem = saved(tmp_path)
    loaded, _ = checkpoint.load(stem)
    rounded = tiny_gpt()
    rounded.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    assert torch.equal(loaded(PROBE), rounded(PROBE))
    assert torch.allclose(loaded(PROBE), model(PROBE), atol=1e-2)
    assert loaded.head.weight is loaded.wte.weight and not loaded.training


def test_files_are_safetensors_and_json(tmp_path: Path) -> None:
    _, stem = saved(tmp_path)
    assert sorted(p.name for p in stem.parent.iterdir()) == ["model.json", "model.safetensors"]
    side = json.loads(stem.with_suffix(".json").read_text())
    assert side["format"] == "dawbridge-model" and side["version"] == 1
    assert side["tokens"] == list(V.VOCAB.tokens) and side["token_format"] == V.FORMAT_VERSION
    assert side["config"]["n_layer"] == 2 and side["config"]["vocab_size"] == len(V.VOCAB)
    head = stem.with_suffix(".safetensors").read_bytes()[:8]
    assert int.from_bytes(head, "little") < 100_000  # safetensors: a little-endian JSON header size


@pytest.mark.parametrize("given", ["stem", "directory", "safetensors", "json"])
def test_loads_from_a_stem_a_folder_or_either_file(tmp_path: Path, given: str) -> None:
    _, stem = saved(tmp_path)
    path = {"stem": stem, "directory": stem.parent, "safetensors": stem.with_suffix(".safetensors"),
            "json": stem.with_suffix(".json")}[given]
    assert checkpoint.stem_of(path) == stem
    assert load_composer(path, "cpu").name == "probe"


def test_loading_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, stem = saved(tmp_path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("loading a model must not unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    composer = load_composer(stem, "cpu")
    result = composer.run(HarmonizeTask(melody(in_quarters([72, 71, 72, 74]), 4.0), "bass"))
    assert len(result) == 1 and len(result[0]) == 1


def break_files(stem: Path, how: str) -> str:
    """Damages a saved model; returns a fragment of the error message expected."""
    weights, side = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    if how == "corrupt_safetensors":
        weights.write_bytes(b"\x00\x01not a safetensors file" * 10)
        return "corrupt"
    if how == "truncated_safetensors":
        weights.write_bytes(weights.read_bytes()[:4000])
        return "corrupt"
    if how == "missing_safetensors":
        weights.unlink()
        return "missing"
    if how == "missing_json":
        side.unlink()
        return "missing"
    if how == "json_not_json":
        side.write_text("{not json")
        return "unreadable"
    data = json.loads(side.read_text())
    if how == "other_vocabulary":
        data["tokens"] = data["tokens"][:-1] + ["VEL_99"]
        expected = "vocabulary"
    elif how == "other_format":
        data["format"] = "someone-else"
        expected = "not a dawbridge-model"
    elif how == "config_mismatch":
        data["config"]["n_embd"] = 128
        expected = "does not match"
    elif how == "impossible_config":
        data["config"]["n_head"] = 3  # 64 channels do not split into 3 heads
        expected = "bad config"
    elif how == "unknown_config_field":
        data["config"]["n_experts"] = 8
        expected = "bad config"
    elif how == "other_tensors":
        save_file({"encoder.weight": torch.zeros(4, 4)}, str(weights))
        expected = "does not match"
    else:
        raise AssertionError(how)
    side.write_text(json.dumps(data))
    return expected


BREAKAGES = ["corrupt_safetensors", "truncated_safetensors", "missing_safetensors", "missing_json",
             "json_not_json", "other_vocabulary", "other_format", "config_mismatch",
             "impossible_config", "unknown_config_field", "other_tensors"]


@pytest.mark.parametrize("how", BREAKAGES)
def test_broken_files_are_a_checkpoint_error(tmp_path: Path, how: str) -> None:
    _, stem = saved(tmp_path)
    expected = break_files(stem, how)
    with pytest.raises(CheckpointError, match=expected):
        checkpoint.load(stem)


@pytest.mark.parametrize("how", ["corrupt_safetensors", "missing_json", "other_vocabulary", "other_tensors"])
def test_broken_files_make_the_model_unavailable_with_what_to_do(tmp_path: Path, how: str) -> None:
    _, stem = saved(tmp_path)
    break_files(stem, how)
    with pytest.raises(ModelUnavailable) as info:
        load_composer(stem, "cpu")
    message = str(info.value)
    assert "cannot load model weights" in message
    assert "dawbridge train" in message and "--weights" in message and "reinstall" in message
    assert str(stem) in message


def test_missing_weights_folder_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="no .safetensors file"):
        (tmp_path / "empty").mkdir()
        load_composer(tmp_path / "empty", "cpu")
    with pytest.raises(ModelUnavailable, match="missing"):
        load_composer(tmp_path / "nowhere" / "model", "cpu")


def test_bad_device_is_unavailable(tiny_weights: Path) -> None:
    with pytest.raises(ModelUnavailable, match="device must be auto, cpu or cuda"):
        load_composer(tiny_weights, "tpu")
