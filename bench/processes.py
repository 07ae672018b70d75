"""What the Python benchmarks (bench/api.py, bench/tls.py) share: the processes they start, stopped
on exit, and bounded waits. Every wait has a time limit; a missed one ends the run with the
benchmark's name and what did not happen."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

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


def start_nginx_target(work, port, location, bench="bench"):
    """One NGINX worker on 127.0.0.1:`port` whose `location /` block is `location` (e.g.
    `return 200 "ok\\n";`), no access log, keep-alive without a request limit; waits until it
    answers 200."""
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; user root root; daemon off; pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port}; location / {{ {location} }} }} }}
""")
    procs.append(subprocess.Popen(["nginx", "-p", work, "-c", conf]))
    wait_until(10, lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).status == 200,
               "the NGINX target answering", bench)
