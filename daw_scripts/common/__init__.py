"""Code shared by every DAW script: the engine client, a pure-Python ZMTP client, clip <-> JSON
conversion and settings. Python 3.7 and the standard library only; never imports the engine.

Modules import each other relatively, so this package works under any name a DAW's script
folder gives it (``daw_scripts.common`` here, ``common`` or ``dawbridge_common`` when installed).
"""

from .engine_client import EngineClient, PendingRequest
from .errors import EngineError, EngineTimeout, EngineUnreachable

__all__ = ["EngineClient", "PendingRequest", "EngineError", "EngineTimeout", "EngineUnreachable"]
