"""The DAW-side code DAWBridge shares with the other DAW scripts (``daw_scripts/common``).

Inside Live the installer puts a copy next to this file as the subpackage ``common``; in the
source tree it is the package ``daw_scripts.common``.
"""

try:
    from .common import clips, engine_client, errors, session, settings
except ImportError:  # running from the source tree (tests, development)
    from daw_scripts.common import clips, engine_client, errors, session, settings

__all__ = ["clips", "engine_client", "errors", "session", "settings"]
