"""Traffic through listeners created with the API, honouring the policies set on them: requests
from plain HTTP clients reach the registered targets, and stickiness policies pin sessions with
burr's sealed `AWSELB` cookie."""

import base64
import collections
import socket
import struct
import time

import pytest

from burr_e2e import create_lb, http_get, listener

PORT = 8080


@pytest.fixture
def three(elb, targets):
    """A balancer "web" on port 8080 with three registered targets; returns (host, targets)."""
    ts = [targets(f"target-{i}") for i in range(3)]
    host = create_lb(elb, "web", listener(PORT, 80))
    response = elb.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": t.address} for t in ts]
    )
    assert response["Instances"] == [{"InstanceId": t.address} for t in ts]
    return host, ts


def spread(host, n, cookie=None):
    counts = collections.Counter()
    for _ in range(n):
        r = http_get(host, PORT, cookie=cookie)
        assert r.status == 200, (r.status, r.body)
        assert r.body == f"{r.target}\n"
        counts[r.target] += 1
    return counts


def test_requests_spread_over_every_target_without_a_policy(three):
    host, ts = three
    counts = spread(host, 30)
    assert set(counts) == {t.name for t in ts}, counts
    assert min(counts.values()) >= 5, counts
    # No policy: no stickiness cookie.
    assert http_get(host, PORT).cookie("AWSELB") is None


def test_listeners_added_later_serve_the_registered_instances(elb, three):
    host, ts = three
    elb.create_load_balancer_listeners(
        LoadBalancerName="web", Listeners=[listener(8081, 80), listener(8082, 80, "TCP")]
    )
    for port in (8081, 8082):  # HTTP, and TCP passing the bytes through
        seen = collections.Counter()
        for _ in range(12):
            r = http_get(host, port)
            assert r.status == 200, (port, r.status, r.body)
            seen[r.target] += 1
        assert set(seen) == {t.name for t in ts}, (port, seen)
    # Deleting one listener leaves the others serving.
    elb.delete_load_balancer_listeners(LoadBalancerName="web", LoadBalancerPorts=[8081])
    assert http_get(host, PORT).status == 200
    assert http_get(host, 8082).status == 200


def test_lb_cookie_policy_keeps_a_client_on_one_target(elb, three):
    host, ts = three
    elb.create_lb_cookie_stickiness_policy(
        LoadBalancerName="web", PolicyName="sticky", CookieExpirationPeriod=60
    )
    elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="web", LoadBalancerPort=PORT, PolicyNames=["sticky"]
    )

    first = http_get(host, PORT)
    assert first.status == 200
    [set_cookie] = [c for c in first.set_cookies() if c.startswith("AWSELB=")]
    assert "Max-Age=60" in set_cookie, set_cookie
    cookie = first.cookie("AWSELB")
    value = cookie.split("=", 1)[1]
    assert value

    # 30 requests returning the cookie: all on the first response's target.
    counts = spread(host, 30, cookie=cookie)
    assert counts == {first.target: 30}, counts

    # The cookie reveals no target: no address or port, as text or as bytes.
    secrets = ["127.0.0.1"]
    for t in ts:
        secrets += [t.address, str(t.port), f"{t.port:x}"]
    for s in secrets:
        assert s not in value, (s, value)
    raw = value.encode()
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        pass
    for t in ts:
        packed = socket.inet_aton(t.host) + struct.pack(">H", t.port)
        assert packed not in raw
        assert struct.pack(">H", t.port) + socket.inet_aton(t.host) not in raw

    # Clients without the cookie are still spread.
    assert len(spread(host, 30)) == 3


def test_app_cookie_policy_issues_awselb_only_with_the_app_cookie(elb, targets):
    ts = [targets(f"app-{i}", app_cookie="SESSIONID=s-1") for i in range(3)]
    host = create_lb(elb, "web", listener(PORT, 80))
    elb.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": t.address} for t in ts]
    )
    elb.create_app_cookie_stickiness_policy(
        LoadBalancerName="web", PolicyName="app", CookieName="SESSIONID"
    )
    elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="web", LoadBalancerPort=PORT, PolicyNames=["app"]
    )

    # The application sets no cookie on "/": neither does burr.
    for _ in range(6):
        r = http_get(host, PORT, "/")
        assert r.status == 200
        assert r.set_cookies() == [], r.set_cookies()

    # "/login" sets the application cookie: burr adds AWSELB to that response.
    login = http_get(host, PORT, "/login")
    assert login.status == 200
    assert login.cookie("SESSIONID") == "SESSIONID=s-1"
    elb_cookie = login.cookie("AWSELB")
    assert elb_cookie, login.set_cookies()

    # Both cookies back: the session stays on the target that started it, and no response
    # that does not set the application cookie carries AWSELB.
    both = f"SESSIONID=s-1; {elb_cookie}"
    for _ in range(30):
        r = http_get(host, PORT, "/", cookie=both)
        assert r.target == login.target
        assert r.cookie("AWSELB") is None


def test_policy_changes_reach_the_data_plane_before_the_next_request(elb, three):
    host, ts = three
    elb.create_lb_cookie_stickiness_policy(
        LoadBalancerName="web", PolicyName="sticky", CookieExpirationPeriod=60
    )
    assert http_get(host, PORT).cookie("AWSELB") is None

    elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="web", LoadBalancerPort=PORT, PolicyNames=["sticky"]
    )
    returned = time.monotonic()
    first = http_get(host, PORT)
    # The very next request, sent at once (not one a while later, not retried).
    assert first.started - returned < 0.05
    cookie = first.cookie("AWSELB")
    assert cookie, first.set_cookies()

    elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="web", LoadBalancerPort=PORT, PolicyNames=[]
    )
    returned = time.monotonic()
    after = http_get(host, PORT)
    assert after.started - returned < 0.05
    assert after.cookie("AWSELB") is None, after.set_cookies()
    # No stickiness any more: the old cookie pins nothing, and no response sets one.
    for _ in range(5):
        assert http_get(host, PORT).set_cookies() == []
    assert len(spread(host, 30, cookie=cookie)) == 3
