"""The planner's melody reading (models/harmony/emission.py): the phrase distances it is given,
its numpy networks computing what torch's bidirectional GRU computes, averaging networks, and
the training targets."""

from __future__ import annotations

import numpy as np
import pytest

from models.harmony import emission


def test_phrase_distances_count_steps_to_and_from_each_close() -> None:
    d = emission.phrase_distances([False, False, True, False, False, False, False, True], 8)
    to_close, since, to_end = (d[:, :5].argmax(1), d[:, 5:9].argmax(1), d[:, 9:].argmax(1))
    assert to_close.tolist() == [2, 1, 0, 4, 3, 2, 1, 0]  # 4: four or more steps away
    assert since.tolist() == [3, 3, 3, 0, 1, 2, 3, 3]  # 3: three or more, or no close before
    assert to_end.tolist() == [2, 2, 2, 2, 2, 2, 1, 0]
    assert (d.sum(1) == 3).all()


def _torch_net(features: int, projection: int, hidden: int, states: int, seed: int):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    proj = torch.nn.Linear(features, projection)
    gru = torch.nn.GRU(projection, hidden, batch_first=True, bidirectional=True)
    out = torch.nn.Linear(2 * hidden + projection, states)

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            h = torch.relu(proj(torch.from_numpy(x)[None]))
            g, _ = gru(h)
            return torch.log_softmax(out(torch.cat([g, h], -1)), -1)[0].numpy()

    def plain(t) -> list:
        return t.detach().numpy().tolist()

    params = {"proj_w": plain(proj.weight.T), "proj_b": plain(proj.bias),
              "fwd_w_ih": plain(gru.weight_ih_l0), "fwd_w_hh": plain(gru.weight_hh_l0),
              "fwd_b_ih": plain(gru.bias_ih_l0), "fwd_b_hh": plain(gru.bias_hh_l0),
              "bwd_w_ih": plain(gru.weight_ih_l0_reverse), "bwd_w_hh": plain(gru.weight_hh_l0_reverse),
              "bwd_b_ih": plain(gru.bias_ih_l0_reverse), "bwd_b_hh": plain(gru.bias_hh_l0_reverse),
              "out_w": plain(out.weight.T), "out_b": plain(out.bias)}
    return params, run


def test_the_numpy_networks_read_as_torch_does_and_average_in_log_space() -> None:
    x = np.random.default_rng(0).normal(size=(9, 7)).astype(np.float32)
    (a, run_a), (b, run_b) = _torch_net(7, 4, 3, 5, 0), _torch_net(7, 4, 3, 5, 1)
    assert np.allclose(emission.Emission({"networks": [a]}).log_probs(x), run_a(x), atol=1e-5)
    both = emission.Emission({"networks": [a, b]}).log_probs(x)
    mean = (run_a(x) + run_b(x)) / 2
    assert np.allclose(both, mean - np.log(np.exp(mean).sum(1, keepdims=True)), atol=1e-5)
    assert np.allclose(np.exp(both).sum(1), 1.0)


def test_targets_blend_the_label_with_the_best_agreeing_chords() -> None:
    agreement = np.array([[0.2, 1.0, 0.5], [1.0, 0.0, 0.0]], dtype=np.float32)
    t = emission.targets(np.array([0, -1]), agreement, 3)
    assert t[0].sum() == pytest.approx(1.0)
    assert t[0, 0] > t[0, 2] and t[0, 1] == pytest.approx(emission.BLEND, abs=0.01)  # the label, then the best agreeing
    assert (t[1] == 0).all()  # no label, nothing to learn


def test_training_gives_networks_that_read_a_melody() -> None:
    rng = np.random.default_rng(1)
    samples = [(rng.random((n, emission.FEATURES), dtype=np.float32), rng.integers(-1, 6, n),
                rng.random((n, 6), dtype=np.float32)) for n in (5, 8, 3)]
    params = emission.train(samples, 6, seeds=(0, 1), projection=4, hidden=3, epochs=2, batch=2)
    assert len(params["networks"]) == 2
    lp = emission.Emission(params).log_probs(samples[1][0])
    assert lp.shape == (8, 6) and np.allclose(np.exp(lp).sum(1), 1.0)
