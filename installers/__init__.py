"""Installers: put the DAW scripts where each DAW finds them, and set the engine up as a
service. ``dawbridge install {reaper,ableton,service}`` and ``dawbridge doctor {reaper,ableton}``
import ``installers.<name>`` when run. Each module exposes ``add_arguments(parser)`` and
``run(args) -> int``; ``args.action`` is "install" or "doctor". A module may instead expose
``doctor(args) -> int``, which ``dawbridge doctor`` then calls."""
