"""The error a generation or evaluation request ends with when it cannot be served.

Apart from generate.py so that the agent server can catch it without importing torch (generate.py's
import costs ~170 MB and seconds; the server imports it only when a request needs a model).
"""


class GenerationError(RuntimeError):
    """A request that cannot be served; the message is meant for the user."""
