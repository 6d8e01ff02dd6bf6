"""The composer's process-wide manners: decoding flushes denormal floats only while it runs."""

from __future__ import annotations

import struct

from models.representation import Note, Part
from models.tasks import HarmonizeTask, Sampling


def _subnormal_survives() -> bool:
    tiny = struct.unpack("f", struct.pack("I", 1))[0]  # the smallest float32 subnormal
    return tiny * 1.0 != 0.0 and 5e-324 * 1.0 != 0.0


def test_denormals_are_back_after_a_run(composer) -> None:
    melody = Part(tuple(Note(67 + (i % 3), float(i), 1.0) for i in range(8)), 8.0)
    assert _subnormal_survives()
    composer.run(HarmonizeTask(melody, "chorale", sampling=Sampling(1, 1.0, 0)))
    assert _subnormal_survives()
