"""DAWBridge side by side with a peer's serving stack (not a timed test): the engine against a
re-creation of how Composer's Assistant serves its model, at equal parameter count, measured
interleaved in one run (round by round, each case on DAWBridge then on the peer), so a busy
machine slows both alike.

The peer: a plain stdlib ``xmlrpc.server.SimpleXMLRPCServer`` (one request at a time, as
Composer's Assistant runs it) in its own process, in front of a HuggingFace ``transformers``
``T5ForConditionalGeneration``, randomly initialised, in eval mode on the CPU with torch held to
one thread as our engine holds it (``models/composer.py``). Its size is chosen so that its
parameter count is within 10% of dawbridge-small's (both are printed): d_model 128, d_ff 512,
4 encoder and 4 decoder layers, 4 heads, our vocabulary (480 ids), input and output embeddings
untied (T5 v1.1's layout). A request sends a list of token ids as XML-RPC data; the server
calls ``model.generate(ids, min_new_tokens=N, max_new_tokens=N, do_sample=True, top_p=0.95,
top_k=0)`` and returns the generated ids. Four candidates are one ``generate`` with ``num_return_sequences=4`` (one
encoder pass, four decoder rows, as our engine decodes its rows in shared passes).

Tokens, counted with the project's tokenizer (models/net/tokenizer.py) on the real request and
on DAWBridge's reply of the same round, so the peer reads and writes what DAWBridge did:
  - read: the request's clip encoded as the model reads a piece (``tokenizer.encode``: the
    header of style, metre, key and tempo, then per bar BAR, the clip's track token and its
    note tokens, then EOS); a request without a clip (drums) reads the header alone. These
    ids are the peer's encoder input.
  - written, per candidate: for every output clip (its role from its name: Alto, Tenor, Bass,
    Chords, Drums), every bar whose tokens differ from the request's bar of the same role (all
    bars of a new part; only the rewritten bar of a fill), counted as its track token plus its
    note tokens (``quantize_part`` + ``note_tokens``: position, pitch, duration, and velocity
    for drums). N is the mean over the reply's candidates, rounded; with four candidates each
    of the peer's four rows writes N.
The counts are of what the reply holds, not of what our model sampled: DAWBridge voices some
of it from the chord plan without decoding (the chorale's single candidate and the first of
four, the chords and bass styles) and plays the first bar of drums from its groove library;
the peer writes all of it with its model, as a T5 infiller would.

Cases: those of bench_speed.py, each the same request every round but for its seed (a
producer pressing again: the engine copies the context it read last time, models/net/
transformer.py ``GPT.read_lead``), a fill of another clip every round (a first press: the
same shape with other accents, read afresh), then that clip with its third bar edited (pressed
again after an edit: the context up to the edit is copied, the rest read), and ``ping``
(ZeroMQ ``ping`` against an XML-RPC no-op).
Cold start: each server spawned afresh, process start to its first reply to a ping (DAWBridge
as bench_start.py measures it, its modules compiled beforehand). The peer builds its model
before it serves; DAWBridge loads its model in the background, so the time from its process
start to its first fill reply is printed too.

    nice -n 5 .venv/bin/python bench/bench_peers.py [--runs 20] [--quick] [--cold 3] [--tree REV]

``--tree`` serves DAWBridge from a git revision (or a folder) as bench_speed.py does; by
default it is served from this working tree.

Needs ``transformers`` (``pip install -e ".[bench]"``).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_harmonize import _free_port, start_engine  # noqa: E402
from bench_ops import groove  # noqa: E402
from bench_speed import CASES, checkout, with_fresh_fill  # noqa: E402
from bench_start import cold_start as engine_cold_start  # noqa: E402

from bridge.client import Client  # noqa: E402
from bridge.protocol import Clip  # noqa: E402
from bridge.serve.convert import clip_to_part  # noqa: E402
from models.net import vocab as V  # noqa: E402
from models.net.tokenizer import (  # noqa: E402
    Header,
    bar_ticks,
    encode,
    header_tokens,
    note_tokens,
    quantize_part,
)
from models.representation import Part, Piece  # noqa: E402

PEER_CONFIG = {"d_model": 128, "d_ff": 512, "d_kv": 32, "num_heads": 4, "num_layers": 4, "num_decoder_layers": 4}
PING = "ping"
EDITED_FILL = "fill, that clip's bar 3 edited"


# --- the peer: XML-RPC in front of a transformers T5 ------------------------------------------

def build_peer_model() -> Any:
    """The peer's T5, randomly initialised (seeded), in eval mode, torch on one thread."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = T5Config(vocab_size=len(V.VOCAB.tokens), pad_token_id=V.PAD, eos_token_id=V.EOS,
                      decoder_start_token_id=V.PAD, tie_word_embeddings=False, **PEER_CONFIG)
    return T5ForConditionalGeneration(config).eval()


def serve_peer(port: int) -> None:
    """The peer's server process: build the model, then answer one request at a time."""
    from xmlrpc.server import SimpleXMLRPCServer

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    model = build_peer_model()

    def generate(ids: list[int], new_tokens: int, rows: int, seed: int) -> list[list[int]]:
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = model.generate(torch.tensor([ids]), min_new_tokens=new_tokens, max_new_tokens=new_tokens,
                                 do_sample=True, top_p=0.95, top_k=0, num_return_sequences=rows)
        return out[:, 1:].tolist()  # without the decoder's start token

    def info() -> dict[str, Any]:
        return {"parameters": sum(p.numel() for p in model.parameters()), "threads": torch.get_num_threads(),
                "transformers": transformers.__version__}

    server = SimpleXMLRPCServer(("127.0.0.1", port), logRequests=False, allow_none=True)
    server.register_function(lambda: True, PING)
    server.register_function(generate, "generate")
    server.register_function(info, "info")
    server.serve_forever()


def peer_command(port: int) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--serve-peer", str(port)]


# --- token counts -----------------------------------------------------------------------------

def role_of(clip: dict[str, Any]) -> str:
    """A clip's track role: a reply's clip by its name ("Alto (chorale)"), a request's by its kind."""
    word = (clip.get("name") or "").split(" ")[0].lower()
    if word in V.ROLE_ORDER:
        return word
    return "drums" if clip.get("kind") == "drums" else "melody"


def part_of(clip: dict[str, Any]) -> Part:
    return clip_to_part(Clip.model_validate(clip))


def bar_tokens(part: Part, role: str) -> list[list[int]]:
    """One token list per bar: the track token and the bar's note tokens."""
    tpb = bar_ticks(part.time_signature)
    per_bar = quantize_part(part, role, part.bars, tpb)
    return [[V.TRK[role], *note_tokens(notes, velocity=role in V.VELOCITY_ROLES)] for notes in per_bar]


def read_tokens(op: str, fields: dict[str, Any]) -> list[int]:
    """What the model reads of a request: its clip as a piece, or the header alone."""
    if "clip" not in fields:
        ts = tuple(fields.get("time_signature", (4, 4)))
        return header_tokens(Header(fields.get("style"), ts, fields.get("key"), fields.get("tempo")))
    clip = fields["clip"]
    style = fields.get("style") if op == "harmonize" else None
    return encode(Piece(((role_of(clip), part_of(clip)),), style, "request"))


def written_tokens(fields: dict[str, Any], candidate: dict[str, Any]) -> int:
    """Tokens of a candidate's bars that the request does not already hold."""
    sent: dict[str, list[list[int]]] = {}
    if "clip" in fields:
        role = role_of(fields["clip"])
        sent[role] = bar_tokens(part_of(fields["clip"]), role)
    total = 0
    for clip in candidate["clips"]:
        role = role_of(clip)
        before = sent.get(role, [])
        for bar, tokens in enumerate(bar_tokens(part_of(clip), role)):
            if bar >= len(before) or before[bar] != tokens:
                total += len(tokens)
    return total


def new_tokens(fields: dict[str, Any], result: dict[str, Any]) -> int:
    """N for the peer: the mean of the reply's candidates' written tokens, rounded."""
    counts = [written_tokens(fields, candidate) for candidate in result["candidates"]]
    return round(statistics.mean(counts))


# --- measuring --------------------------------------------------------------------------------

def wait_until_answered(probe: Callable[[], object], started: float, limit: float = 120.0) -> float:
    """Seconds from ``started`` to the first time ``probe`` returns without a connection error."""
    while time.perf_counter() - started < limit:
        try:
            probe()
            return time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"no reply within {limit:.0f} s")


def peer_cold_start() -> float:
    """Seconds from spawning the peer's server to its first reply to a ping; the process is ended."""
    port = _free_port()
    proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/")
    started = time.perf_counter()
    proc = subprocess.Popen(peer_command(port), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_until_answered(proxy.ping, started)
    finally:
        proc.terminate()
        proc.wait(10)


def cold_starts(rounds: int, root: Path) -> dict[str, list[float]]:
    """Seconds from process start: DAWBridge's first ping reply and first fill reply (bench_start.py's
    measure), the peer's first ping reply; one start of each per round."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "bridge", "models"], cwd=root, check=True)
    out: dict[str, list[float]] = {"DAWBridge": [], "DAWBridge fill": [], "peer": []}
    for _ in range(rounds):
        first = engine_cold_start(root, *CASES["fill"], None)
        out["DAWBridge"].append(first["ping"])
        out["DAWBridge fill"].append(first["fill"])
        out["peer"].append(peer_cold_start())
    return out


def cases(seed: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """bench_speed.py's cases, each the same request every round (a producer pressing again: the
    engine reads its lead from the ones it kept); a fill of another clip every round (a first
    press: its lead read afresh); then a fill of that clip with the hats of its third bar made
    softer (edited, pressed again: the lead's first two bars are copied, the rest read)."""
    return {**with_fresh_fill(seed), EDITED_FILL: ("fill", {"clip": groove(4, accents=seed + 1, softer=2)})}


def empty_times() -> dict[str, dict[str, list[float]]]:
    return {case: {"DAWBridge": [], "peer": []} for case in [*cases(0), PING]}


def empty_counts() -> dict[str, dict[str, list[int]]]:
    return {case: {"read": [], "written": [], "rows": []} for case in cases(0)}


def one_round(client: Client, proxy: Any, seed: int, times: dict[str, dict[str, list[float]]],
              counts: dict[str, dict[str, list[int]]]) -> None:
    """Every case once on DAWBridge, then on the peer with the tokens DAWBridge read and wrote."""
    for case, (op, fields) in cases(seed).items():
        started = time.perf_counter()
        result = client.request(op, seed=seed, **fields)
        times[case]["DAWBridge"].append(time.perf_counter() - started)
        ids, n, rows = read_tokens(op, fields), new_tokens(fields, result), len(result["candidates"])
        started = time.perf_counter()
        proxy.generate(ids, n, rows, seed)
        times[case]["peer"].append(time.perf_counter() - started)
        for name, value in (("read", len(ids)), ("written", n), ("rows", rows)):
            counts[case][name].append(value)
    started = time.perf_counter()
    client.request(PING)
    times[PING]["DAWBridge"].append(time.perf_counter() - started)
    started = time.perf_counter()
    proxy.ping()
    times[PING]["peer"].append(time.perf_counter() - started)


def our_parameters() -> int:
    from models.interface import DEFAULT_WEIGHTS
    from models.net import checkpoint

    model, _ = checkpoint.load(checkpoint.stem_of(DEFAULT_WEIGHTS))
    return sum(p.numel() for p in model.parameters())


def print_table(times: dict[str, dict[str, list[float]]], counts: dict[str, dict[str, list[int]]], runs: int) -> None:
    print(f"p50 seconds per request, {runs} interleaved rounds; ratio = peer / DAWBridge")
    print(f"{'case':<30}{'DAWBridge':>11}{'peer':>9}{'ratio':>8}{'read':>7}{'written':>9}{'rows':>6}")
    for case, by in times.items():
        ours, peer = statistics.median(by["DAWBridge"]), statistics.median(by["peer"])
        shown = ""
        if case in counts:
            read, written, rows = (statistics.median(counts[case][k]) for k in ("read", "written", "rows"))
            shown = f"{read:>7g}{written:>9g}{rows:>6g}"
        scale, unit = (1000, "ms") if case == PING else (1, "s")
        print(f"{case:<30}{ours * scale:>9.3f}{unit:<2}{peer * scale:>7.3f}{unit:<2}{peer / ours:>7.2f}x{shown}")


def measure(root: Path, runs: int) -> tuple[dict[str, Any], dict[str, dict[str, list[float]]],
                                            dict[str, dict[str, list[int]]], float]:
    """Both servers started, a warm-up round, then ``runs`` interleaved rounds."""
    address, port = f"tcp://127.0.0.1:{_free_port()}", _free_port()
    engine, load_s = start_engine(address, "cpu", None, root)
    peer = subprocess.Popen(peer_command(port), cwd=ROOT, stdout=subprocess.DEVNULL)
    proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/", allow_none=True)
    times, counts = empty_times(), empty_counts()
    try:
        wait_until_answered(proxy.ping, time.perf_counter())
        peer_info = proxy.info()
        with Client(address, timeout=300.0) as client:
            one_round(client, proxy, 999, empty_times(), empty_counts())  # warm-up
            for seed in range(runs):
                one_round(client, proxy, seed, times, counts)
    finally:
        for proc in (engine, peer):
            proc.terminate()
            proc.wait(10)
    return peer_info, times, counts, load_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="3 rounds and one cold start each")
    parser.add_argument("--cold", type=int, default=3, help="cold starts of each server")
    parser.add_argument("--tree", help="git revision (or folder) to serve instead of this working tree")
    parser.add_argument("--serve-peer", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if importlib.util.find_spec("transformers") is None:
        raise SystemExit('bench_peers.py needs transformers for the peer: pip install -e ".[bench]"')
    if args.serve_peer:
        serve_peer(args.serve_peer)
        return 0
    runs, cold = (3, 1) if args.quick else (args.runs, args.cold)
    with tempfile.TemporaryDirectory() as tmp:
        root = checkout(args.tree, Path(tmp) / "tree") if args.tree else ROOT
        colds = cold_starts(cold, root)
        peer_info, times, counts, load_s = measure(root, runs)
    ours = our_parameters()
    print(f"DAWBridge served from {args.tree or 'this working tree'}")
    print(f"parameters: dawbridge-small {ours:,}, peer T5 {peer_info['parameters']:,} "
          f"({peer_info['parameters'] / ours - 1:+.1%}); transformers {peer_info['transformers']}, "
          f"peer torch threads {peer_info['threads']}")
    print_table(times, counts, runs)
    print(f"cold start, process start to first ping reply (median of {cold}): "
          f"DAWBridge {statistics.median(colds['DAWBridge']):.2f} s, peer {statistics.median(colds['peer']):.2f} s "
          f"(model built before serving); DAWBridge to its first fill reply "
          f"{statistics.median(colds['DAWBridge fill']):.2f} s")
    print(f"DAWBridge process start to model serving (the measured engine): {load_s:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
