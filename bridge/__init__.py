"""The DAWBridge engine: wire protocol, ZeroMQ server, scheduler, client, CLI, MIDI files and
previews. Calls the music model only through :mod:`models.interface`."""

__version__ = "0.1.0"
