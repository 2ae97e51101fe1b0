"""TUNELAB_STEP_PACE_S: each training step lasts at least the pace, sleeping (not spinning) the rest."""

import subprocess
import sys
import time

CODE = """
import time
from tunelab_agent import faults
started, cpu = time.monotonic(), time.process_time()
for _ in range(6):
    faults.pace_step()
print(time.monotonic() - started, time.process_time() - cpu)
"""


def run(pace: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", CODE], env={"TUNELAB_STEP_PACE_S": pace, "PATH": ""},
                         capture_output=True, text=True, check=True)
    wall, cpu = map(float, out.stdout.split())
    return wall, cpu


def test_a_paced_step_sleeps_out_the_rest_of_the_pace_and_an_unpaced_one_does_not_wait():
    wall, cpu = run("0.05")
    assert wall >= 5 * 0.05, "five gaps between six steps, each at least the pace"
    assert cpu < 0.05, "the pace is slept, not spun"
    wall, _ = run("")
    assert wall < 0.05
