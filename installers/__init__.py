"""Installers: put the DAW scripts where each DAW finds them, and set the engine up as a
service. ``dawbridge install {reaper,ableton,service}`` and ``dawbridge doctor {reaper,ableton}``
load ``installers.<name>``, which exposes ``add_arguments(parser)`` and ``run(args) -> int``."""
