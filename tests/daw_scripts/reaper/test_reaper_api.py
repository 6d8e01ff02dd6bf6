"""The signature table the fake REAPER enforces, against a ``reaper_python.py`` as REAPER
generates it (the wrapper is REAPER's, not ours: point ``REAPER_PYTHON`` at one, e.g. from a
REAPER install, to run this). For every function the fake offers: the same arity, the same C
return type (pointers: the same pointer type), the same pointer parameter types, the same
out-parameters, and a tuple returned exactly when there are out-parameters."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.daw_scripts.reaper.reaper_api import API

WRAPPER = os.environ.get("REAPER_PYTHON")
CTYPES = {"c_byte": "bool", "c_int": "int", "c_double": "double", "None": "void", "c_char_p": "const char*"}

pytestmark = pytest.mark.skipif(not WRAPPER or not Path(WRAPPER).is_file(),
                                reason="set REAPER_PYTHON to a reaper_python.py REAPER generated")


def _function(text: str, name: str) -> tuple[list[str], str]:
    """The parameter names and the body of ``RPR_<name>`` in the wrapper."""
    found = re.search(rf"def RPR_{re.escape(name)}\((.*?)\):\n(.*?)(?=\ndef |\Z)", text, re.S)
    assert found, f"RPR_{name} is not in the wrapper"
    return [p.strip() for p in found.group(1).split(",") if p.strip()], found.group(2)


@pytest.mark.parametrize("name", sorted(API))
def test_the_table_agrees_with_the_generated_wrapper(name):
    sig = API[name]
    params, body = _function(Path(WRAPPER).read_text(errors="replace"), name)
    ctypes = [t.strip() for t in re.search(r"CFUNCTYPE\((.*?)\)\(a\)", body).group(1).split(",")]
    assert len(params) == len(ctypes) - 1 == len(sig.params)
    if ctypes[0] == "c_uint64":
        assert re.search(r"rpr_unpackp\('([^']+)',r\)", body).group(1) == sig.returns
    else:
        assert CTYPES[ctypes[0]] == sig.returns
    packed = re.search(r"\n\s*t=\((.*?)\)\n", body)
    for index, (wrapper_name, param) in enumerate(zip(params, sig.params, strict=True)):
        pointer = re.search(rf"rpr_packp\('([^']+)',{re.escape(wrapper_name)}\)", packed.group(1)) if packed else None
        assert (pointer.group(1) if pointer else None) == param.object_type, param.name
        out = f"byref(t[{index}])" in body or (packed is not None and f"rpr_packs({wrapper_name})" in packed.group(1))
        assert out == param.is_out, param.name
    assert ("return (" in body) == sig.outs
