"""The console's JSON document, GET /api/v1/status, and who may read it (docs/status-api.md,
docs/configuration.md "Console")."""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import time

import pytest
from botocore.exceptions import ClientError

from burr_e2e import (ACCESS_KEY_ID, REPO, SECRET_ACCESS_KEY, create_lb, free_port,
                      http_get, listener, wait_until)

# Interval 5 s, thresholds 2: a health change shows within two or three intervals.
WAIT = 30
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


class BoundConnection(http.client.HTTPConnection):
    """An HTTP connection from a chosen loopback source address."""

    def __init__(self, host, port, source, **kw):
        super().__init__(host, port, source_address=(source, 0), **kw)


def fetch(burr, path: str, *, method: str = "GET", source: str | None = None,
          headers: dict | None = None):
    conn = (BoundConnection("127.0.0.1", burr.api_port, source, timeout=5) if source
            else http.client.HTTPConnection("127.0.0.1", burr.api_port, timeout=5))
    try:
        conn.request(method, path, headers={"Connection": "close", **(headers or {})})
        r = conn.getresponse()
        return r.status, r.headers, r.read().decode(errors="replace")
    finally:
        conn.close()


def status(burr, **kw) -> dict:
    code, headers, body = fetch(burr, "/api/v1/status", **kw)
    assert code == 200, (code, body)
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    return json.loads(body)


def field_names(value, inside: str = "") -> set[str]:
    """Every object key of a document, except the data keys of `responses` and
    `sticky_decisions` (status classes and reasons)."""
    names = set()
    if isinstance(value, dict):
        for key, child in value.items():
            if inside not in ("responses", "sticky_decisions"):
                names.add(key)
            names |= field_names(child, key)
    elif isinstance(value, list):
        for child in value:
            names |= field_names(child, inside)
    return names


def assert_documented(doc: dict):
    """Each field of `doc` is in docs/status-api.md, so the reference stays true."""
    reference = (REPO / "docs" / "status-api.md").read_text()
    missing = sorted(n for n in field_names(doc) if f"`{n}`" not in reference)
    assert not missing, f"fields missing from docs/status-api.md: {missing}"


def targets_by_address(doc: dict) -> dict:
    return {t["address"]: t for p in doc["pools"] for t in p["targets"]}


def test_the_document_follows_traffic_health_drains_and_changes(elb, burr, targets):
    # Classic instances share one instance port (which the health check probes), so each
    # target is a loopback address of its own on one port.
    a = targets("a")
    b = targets("b", host=f"{burr.subnet}.254", port=a.port)
    c = targets("c", host=f"{burr.subnet}.253", port=a.port)
    host = create_lb(elb, "web", listener(8080, a.port))
    elb.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": t.host} for t in (a, b, c)]
    )
    elb.configure_health_check(
        LoadBalancerName="web",
        HealthCheck={"Target": f"HTTP:{a.port}/health", "Interval": 5, "Timeout": 2,
                     "UnhealthyThreshold": 2, "HealthyThreshold": 2},
    )
    elb.modify_load_balancer_attributes(
        LoadBalancerName="web",
        LoadBalancerAttributes={"ConnectionDraining": {"Enabled": True, "Timeout": 300}},
    )
    for _ in range(20):
        assert http_get(host, 8080).status == 200

    doc = status(burr)
    assert doc["schema_version"] == 1
    assert RFC3339.match(doc["generated_at"]), doc["generated_at"]
    assert isinstance(doc["burr_version"], str) and doc["burr_version"]
    assert isinstance(doc["config_generation"], int) and doc["config_generation"] >= 4
    assert doc["uptime_seconds"] >= 0
    [balancer] = doc["balancers"]
    assert balancer["name"] == "web"
    [lst] = balancer["listeners"]
    assert (lst["port"], lst["protocol"]) == (8080, "http")
    assert lst["requests_total"] == 20 and lst["responses"]["2xx"] == 20, lst
    assert set(lst["responses"]) == {"1xx", "2xx", "3xx", "4xx", "5xx"}
    assert lst["connections_total"] >= 20
    assert isinstance(lst["requests_per_second"], float)
    [pool] = doc["pools"]
    assert lst["default_pools"] == [pool["name"]]
    assert pool["health_check"]["interval_seconds"] == 5
    assert sorted(targets_by_address(doc)) == sorted(f"{t.host}:{a.port}" for t in (a, b, c))
    assert sum(t["selections_total"] for t in pool["targets"]) == 20
    assert doc["totals"]["requests_total"] == 20 and doc["totals"]["targets"] == 3

    # Latency quantiles from the histograms, over the sampler's window: the 20 requests above.
    def listener_latency():
        return status(burr)["balancers"][0]["listeners"][0].get("latency") or {}
    wait_until(lambda: listener_latency().get("count") == 20, WAIT, what="20 requests timed")
    latency = listener_latency()
    assert 0 < latency["p50_seconds"] <= latency["p90_seconds"] <= latency["p99_seconds"] < 10
    target_counts = [(t.get("latency") or {}).get("count", 0)
                     for t in status(burr)["pools"][0]["targets"]]
    assert sum(target_counts) == 20, target_counts

    # Health: all healthy, then a stopped target unhealthy with its reason.
    wait_until(lambda: {t["state"] for t in targets_by_address(status(burr)).values()}
               == {"healthy"}, WAIT, what="three healthy targets")
    b.close()
    b_address = f"{b.host}:{a.port}"
    wait_until(lambda: targets_by_address(status(burr))[b_address]["state"] == "unhealthy",
               WAIT, what="the stopped target unhealthy")
    stopped = targets_by_address(status(burr))[b_address]
    assert stopped["failure_reason"] == "connection_failed", stopped
    assert stopped["available"] is False
    assert status(burr)["totals"]["targets_unhealthy"] == 1

    # A deregistered target drains until its deadline (300 s from now).
    elb.deregister_instances_from_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": c.host}]
    )
    doc = status(burr)
    draining = targets_by_address(doc)[f"{c.host}:{a.port}"]
    assert draining["state"] == "draining", draining
    assert RFC3339.match(draining["drain_deadline"]), draining
    assert 290 <= draining["drain_seconds_left"] <= 300, draining

    # The API changes are listed newest first, by action name.
    changes = doc["recent_changes"]
    assert changes[0]["source"] == "api"
    assert changes[0]["what"] == "DeregisterInstancesFromLoadBalancer"
    assert changes[0]["result"] == "applied"
    assert changes[0]["generation"] == doc["config_generation"]
    assert RFC3339.match(changes[0]["at"])
    whats = [c["what"] for c in changes]
    for action in ("ModifyLoadBalancerAttributes", "ConfigureHealthCheck",
                   "RegisterInstancesWithLoadBalancer", "CreateLoadBalancer"):
        assert action in whats, whats
    assert changes[-1]["source"] == "start"
    assert_documented(doc)

    # A refused change is listed too, with the client's error as its reason.
    with pytest.raises(ClientError, match="LoadBalancerNotFound"):
        elb.register_instances_with_load_balancer(
            LoadBalancerName="nope", Instances=[{"InstanceId": a.host}]
        )
    refused = status(burr)["recent_changes"][0]
    assert refused["what"] == "RegisterInstancesWithLoadBalancer"
    assert refused["result"] == "refused"
    assert "LoadBalancerNotFound" in refused["reason"] and "'nope'" in refused["reason"], refused
    assert refused["generation"] == doc["config_generation"]
    assert_documented(status(burr))


def test_a_peer_outside_the_allow_list_gets_403_revealing_nothing(burr_factory):
    burr = burr_factory(extra_args=["--console-allow", "127.0.0.2/32"])
    for path in ("/api/v1/status", "/ui", "/ui/app.js", "/api/v9/x"):
        code, headers, body = fetch(burr, path, source="127.0.0.3")
        assert code == 403, (path, code)
        assert body == "forbidden\n", body
        assert "schema" not in body and "burr" not in body
    assert status(burr, source="127.0.0.2")["schema_version"] == 1
    code, _, _ = fetch(burr, "/ui", source="127.0.0.2")
    assert code == 200
    # The rest of the endpoint is not the console's: /healthz answers everyone.
    assert fetch(burr, "/healthz", source="127.0.0.3")[0] == 200


def test_without_credentials_the_console_answers_only_to_its_address_or_localhost(burr):
    """DNS rebinding: a page that points a name of its own at 127.0.0.1 reaches the console
    from a loopback peer; only the Host it sends gives it away."""
    for host in ("attacker.example", "attacker.example:8780", "127.0.0.1.nip.io"):
        for path in ("/api/v1/status", "/ui"):
            code, _, body = fetch(burr, path, headers={"Host": host})
            assert (code, body) == (403, "forbidden\n"), (host, path, code)
    for host in ("localhost", f"127.0.0.1:{burr.api_port}"):
        assert status(burr, headers={"Host": host})["schema_version"] == 1, host


def test_basic_auth_asks_for_the_api_key_pair(burr_factory):
    burr = burr_factory(extra_args=["--console-auth", "basic"])

    def basic(user: str, password: str) -> dict:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    for headers in ({}, basic(ACCESS_KEY_ID, SECRET_ACCESS_KEY + "x"),
                    basic("someone", SECRET_ACCESS_KEY), {"Authorization": "Basic !!"}):
        code, answer, body = fetch(burr, "/api/v1/status", headers=headers)
        assert code == 401, (headers, code)
        assert answer["WWW-Authenticate"] == 'Basic realm="burr console"'
        assert body == "unauthorized\n"
    good = basic(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    assert status(burr, headers=good)["schema_version"] == 1
    code, answer, body = fetch(burr, "/ui", headers=good)
    assert code == 200 and "<title>burr console</title>" in body
    assert answer["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'"
    assert answer["X-Content-Type-Options"] == "nosniff"


def test_unknown_console_paths_are_404_and_never_reach_the_api(burr, burr_factory):
    for path in ("/api/v9/x", "/ui/nope", "/api/v1/nope", "/api/", "/ui/../metrics"):
        code, headers, body = fetch(burr, path)
        assert code == 404, (path, code, body)
        assert body == "not found\n"
        assert "xml" not in headers.get("Content-Type", "")
    assert fetch(burr, "/api/v1/status", method="POST")[0] == 405
    for path, kind in (("/ui", "text/html"), ("/ui/app.js", "text/javascript"),
                       ("/ui/app.css", "text/css")):
        code, headers, _ = fetch(burr, path)
        assert code == 200 and headers["Content-Type"].startswith(kind), (path, headers)
    # Turned off, the console does not exist.
    off = burr_factory("off", extra_args=["--console", "off"])
    for path in ("/ui", "/api/v1/status"):
        assert fetch(off, path)[0] == 404, path


def test_slow_readers_of_the_status_do_not_stall_traffic(elb, burr, targets):
    a = targets("a")
    host = create_lb(elb, "web", listener(8080, a.port))
    elb.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": a.host}]
    )
    # Readers that ask for the document again and again and never read an answer: the
    # endpoint's writes stall on full socket buffers.
    request = f"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:{burr.api_port}\r\n\r\n".encode()
    readers = []
    try:
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", burr.api_port), timeout=5)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.setblocking(False)
            try:
                s.send(request * 200)
            except BlockingIOError:
                pass
            readers.append(s)
        started = time.monotonic()
        slowest = 0.0
        for _ in range(100):
            r = http_get(host, 8080, timeout=5)
            assert r.status == 200 and r.target == "a"
            slowest = max(slowest, r.elapsed)
        assert slowest < 1.0, f"a request took {slowest:.3f} s while readers stalled"
        assert time.monotonic() - started < 10
        # A fresh reader is still answered.
        assert status(burr)["balancers"][0]["listeners"][0]["requests_total"] == 100
    finally:
        for s in readers:
            s.close()


def test_header_sessions_are_counted_by_the_sampler(burr_factory, targets, tmp_path):
    # Header sessions live in a table the request path locks: the document shows the count the
    # one sampler made (within a second), not one made per viewer.
    a, b = targets("a"), targets("b")
    port = free_port()
    config = tmp_path / "burr.toml"
    config.write_text(f"""
[[balancer]]
name = "web"
address = "127.0.0.1"

[[balancer.listener]]
port = {port}
protocol = "http"
pool = "app"

[[pool]]
name = "app"
targets = [{{ address = "{a.address}" }}, {{ address = "{b.address}" }}]

[pool.stickiness]
type = "header"
header_name = "X-User"
""")
    burr = burr_factory(config=config)
    for user in ("ann", "bob", "cy", "dee", "ed"):
        for _ in range(2):
            assert http_get("127.0.0.1", port, headers={"X-User": user}).status == 200

    def sessions():
        [pool] = status(burr)["pools"]
        assert pool["stickiness"]["type"] == "header"
        return sum(t["sticky_sessions"] for t in pool["targets"])

    wait_until(lambda: sessions() == 5, 5, interval=0.2, what="5 header sessions counted")
    doc = status(burr)
    assert_documented(doc)
    [pool] = doc["pools"]
    assert pool["sticky_decisions"]["new"] == 5 and pool["sticky_decisions"]["hit"] == 5, pool
