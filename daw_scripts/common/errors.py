"""The exceptions a DAW script sees when talking to the engine, with messages fit for the user.

``EngineError`` carries the engine's error ``code`` (the protocol's closed set) and its
``message``; two codes are the client's own: ``unreachable`` (nothing answers at the address, or
the connection was lost) and ``timeout`` (no final reply in time). Python 3.7, stdlib only.
"""

UNREACHABLE = "unreachable"
TIMEOUT = "timeout"
CANCELLED = "cancelled"
PROTOCOL = "protocol"  # the engine's reply could not be read

START_HINT = "Start it with `dawbridge serve` and try again."


class EngineError(Exception):
    """An error reply from the engine, or a failure to get one."""

    def __init__(self, code, message, field=None):
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.field = field

    def __str__(self):
        return self.message

    def as_error_body(self):
        """The protocol's error object: ``{"code", "message", "field"}``."""
        return {"code": self.code, "message": self.message, "field": self.field}


class EngineUnreachable(EngineError):
    """Nothing answers at the engine's address, or the connection to it was lost."""

    def __init__(self, message, field=None):
        EngineError.__init__(self, UNREACHABLE, message, field)


class EngineTimeout(EngineError):
    """No final reply arrived before the deadline."""

    def __init__(self, message, field=None):
        EngineError.__init__(self, TIMEOUT, message, field)


def unreachable_message(address, why):
    """'The DAWBridge engine is not answering at tcp://...: <why>. Start it with ...'."""
    return "The DAWBridge engine is not answering at {} ({}). {}".format(address, why, START_HINT)


def lost_message(address):
    """The message for a request whose connection broke before its reply came."""
    return ("The connection to the DAWBridge engine at {} was lost before it answered (the engine "
            "stopped or restarted). If it is not running, {}").format(
                address, START_HINT[0].lower() + START_HINT[1:])


def timeout_message(op, seconds):
    """The message for a request that got no final reply in time."""
    return ("The DAWBridge engine did not finish '{}' within {:g} s. Try again, ask for fewer "
            "candidates or raise the timeout in the settings.").format(op, seconds)


def error_from_body(body):
    """The exception for an error object from a reply (or a synthesized one)."""
    if not isinstance(body, dict):
        return EngineError(PROTOCOL, "The engine sent an error reply without an error object.")
    code = str(body.get("code") or "internal")
    message = str(body.get("message") or "The engine reported '{}'.".format(code))
    field = body.get("field")
    if code == UNREACHABLE:
        return EngineUnreachable(message, field)
    if code == TIMEOUT:
        return EngineTimeout(message, field)
    return EngineError(code, message, field)
