"""What the Python benchmarks (bench/api.py, bench/tls.py) share: the processes they start, stopped
on exit, and bounded waits. Every wait has a time limit; a missed one ends the run with the
benchmark's name and what did not happen."""

import signal
import subprocess
import sys
import time

procs = []


def stop_all():
    """SIGTERM to every process started, up to 5 s of grace each, then SIGKILL."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_until(timeout, check, what, bench="bench"):
    """Polls `check` every 50 ms for at most `timeout` seconds (an OSError counts as not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"{bench}: {what} did not happen within {timeout} s")
