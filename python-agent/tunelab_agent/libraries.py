"""Names from transformers, imported safely from any thread.

transformers resolves its names lazily, on first access, and two threads doing that at once can make one of them
fail ("ImportError: cannot import name 'AutoConfig' from 'transformers'", seen when the config editor checked two
configs right after the agent started). The server answers requests in worker threads, so its first accesses go
through this lock.
"""

import threading

_lock = threading.RLock()


def from_transformers(*names: str) -> tuple:
    with _lock:
        import transformers

        return tuple(getattr(transformers, name) for name in names)
