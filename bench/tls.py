#!/usr/bin/env python3
"""TLS handshake benchmark: burr against HAProxy, full handshakes, one worker each.

Usage: bench/tls            (the wrapper installs haproxy, nginx, wrk, openssl and boto3, builds
                             burr, runs this)

One ECDSA P-256 certificate and key (made with openssl) serve both proxies: burr gets them
through its ACM API (ImportCertificate, the way Terraform's aws_acm_certificate does) and a
Classic HTTPS listener whose SSLCertificateId is the certificate's ARN; HAProxy reads the same
PEM (`bind ... ssl crt`). Both forward to one NGINX target. wrk sends `Connection: close`, so
every request is a new TCP connection and a full TLS handshake (wrk does not resume sessions).
Rounds alternate burr and HAProxy, the order rotated each round; around each run the proxy's CPU time (utime+stime
from /proc) is read. Reported per proxy, medians over rounds: handshakes per second and CPU µs
per handshake, and burr / HAProxy for both.

Every process started here is stopped on exit; every wait is bounded.
"""

import os
import ssl
import subprocess
import tempfile
import urllib.request

import processes
import wrk_result
from processes import cpu_ticks, interleaved_medians, procs, stop_all

BURR = os.environ.get("BURR_BIN", "target/release/burr")
ROUNDS = int(os.environ.get("ROUNDS", "5"))
DURATION = int(os.environ.get("DURATION", "10"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "16"))
API_PORT = int(os.environ.get("API_PORT", "18791"))
BURR_PORT = int(os.environ.get("BURR_TLS_PORT", "18443"))
HAPROXY_PORT = int(os.environ.get("HAPROXY_TLS_PORT", "18444"))
TARGET_PORT = int(os.environ.get("TARGET_PORT", "19102"))
HOST = "tls.bench.burr.test"

KEY, SECRET = "BURRBENCHKEY0000", "bench-secret-not-for-production"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def wait_until(timeout, check, what):
    processes.wait_until(timeout, check, what, bench="bench/tls")


def make_certificate(work):
    key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], check=True)
    subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", key, "-out", key + ".p8"], check=True)
    subprocess.run(["openssl", "req", "-x509", "-new", "-key", key, "-subj", f"/CN={HOST}",
                    "-addext", f"subjectAltName=DNS:{HOST}", "-days", "30", "-out", cert], check=True)
    with open(os.path.join(work, "haproxy.pem"), "w") as f:
        f.write(open(cert).read() + open(key + ".p8").read())
    return open(cert, "rb").read(), open(key + ".p8", "rb").read()


def start_target(work):
    processes.start_nginx_target(work, TARGET_PORT, 'return 200 "ok\\n";', bench="bench/tls")


def start_burr(work, cert, key):
    import boto3  # here, not at the top: bench/workloads.py borrows make_certificate without it

    env = dict(os.environ, BURR_ACCESS_KEY_ID=KEY, BURR_SECRET_ACCESS_KEY=SECRET, BURR_LOG="warn")
    burr = subprocess.Popen(
        [BURR, "serve", "--data-dir", os.path.join(work, "data"), "--api", f"127.0.0.1:{API_PORT}",
         "--listen-host", "127.0.0.1", "--workers", "1"], env=env)
    procs.append(burr)
    wait_until(10, lambda: urllib.request.urlopen(f"http://127.0.0.1:{API_PORT}/healthz", timeout=1).status == 200,
               "burr answering /healthz")
    session = boto3.session.Session(aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name="us-east-1")
    acm = session.client("acm", endpoint_url=f"http://127.0.0.1:{API_PORT}")
    elb = session.client("elb", endpoint_url=f"http://127.0.0.1:{API_PORT}")
    arn = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    elb.create_load_balancer(LoadBalancerName="tls", Listeners=[{
        "Protocol": "HTTPS", "LoadBalancerPort": BURR_PORT, "InstanceProtocol": "HTTP",
        "InstancePort": TARGET_PORT, "SSLCertificateId": arn}])
    elb.register_instances_with_load_balancer(LoadBalancerName="tls", Instances=[{"InstanceId": "127.0.0.1"}])
    return burr, arn


def start_haproxy(work):
    cfg = os.path.join(work, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(f"""{processes.HAPROXY_GLOBAL}defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend tls
    bind 127.0.0.1:{HAPROXY_PORT} ssl crt {work}/haproxy.pem
    default_backend target
backend target
    server t 127.0.0.1:{TARGET_PORT}
""")
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(haproxy)
    return haproxy


def answers_with(port, cert_der):
    """True when an HTTPS request on `port` answers 200 and the server's certificate is ours."""
    context = ssl._create_unverified_context()
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=context, timeout=2) as r:
        body_ok = r.status == 200
    with ssl.create_connection(("127.0.0.1", port), timeout=2) as raw:
        with context.wrap_socket(raw, server_hostname=HOST) as tls:
            return body_ok and tls.getpeercert(binary_form=True) == cert_der


def run_once(name, pid, port):
    t0 = cpu_ticks(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", "-H", "Connection: close", "--timeout", "5s",
         f"https://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=DURATION + 30).stdout
    t1 = cpu_ticks(pid)
    result = wrk_result.parse(out)
    requests = result["requests"]
    errors = result["non2xx"] + result["socket_errors"]
    per_s = requests / DURATION
    cpu_us = (t1 - t0) * 1e6 / CLK_TCK / max(requests, 1)
    print(f"  {name:8s} {per_s:8.0f} handshakes/s  CPU {cpu_us:7.1f} µs/handshake  errors {errors}", flush=True)
    return per_s, cpu_us, errors


def main():
    work = tempfile.mkdtemp(prefix="burr-bench-tls.")
    cert, key = make_certificate(work)
    cert_der = ssl.PEM_cert_to_DER_cert(cert.decode())
    start_target(work)
    burr, arn = start_burr(work, cert, key)
    haproxy = start_haproxy(work)
    proxies = [("burr", burr.pid, BURR_PORT), ("haproxy", haproxy.pid, HAPROXY_PORT)]
    for name, _, port in proxies:
        wait_until(10, lambda: answers_with(port, cert_der), f"{name} serving the imported certificate")
    print(f"burr listener on the ACM certificate {arn}; HAProxy on the same PEM")
    print(f"wrk -t1 -c{CONNECTIONS} -d{DURATION}s -H 'Connection: close', {ROUNDS} interleaved rounds")
    for name, pid, port in proxies:  # warm-up, not recorded
        subprocess.run(["wrk", "-t1", "-c4", "-d2s", "-H", "Connection: close", f"https://127.0.0.1:{port}/"],
                       capture_output=True, timeout=40)
    median = interleaved_medians(proxies, ROUNDS, run_once, label_width=8, unit="handshake")
    b, h = median["burr"], median["haproxy"]
    print(f"burr/haproxy: handshakes/s {b[0] / h[0]:.2f}, CPU per handshake {b[1] / h[1]:.2f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
