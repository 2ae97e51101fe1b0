"""transformers' names from several threads at once, in a fresh interpreter (the server's worker threads after it
starts): every thread gets them. Without the lock one of three threads failed with "cannot import name
'AutoConfig' from 'transformers'" in two of three tries here."""

import subprocess
import sys

SCRIPT = """
import threading
from tunelab_agent.models.sizing import model_config
errors = []
def read():
    try:
        model_config({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2})
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=read) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(errors)
"""


def test_threads_reading_model_configs_at_once_all_get_them():
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
