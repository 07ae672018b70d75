"""Changes made at the same time (as Terraform makes them): every acknowledged change is both
stored and in service, whatever order the calls finish in."""

from concurrent.futures import ThreadPoolExecutor

from burr_e2e import create_lb, describe, http_get, listener


def test_parallel_registrations_and_listeners_all_take_effect(burr, elb, targets):
    ts = [targets(f"t{i}") for i in range(8)]
    host = create_lb(elb, "web", listener(8080, 80))

    def register(t):
        # One client per thread: boto3 clients are not meant to be shared across threads.
        burr.client().register_instances_with_load_balancer(
            LoadBalancerName="web", Instances=[{"InstanceId": t.address}])

    def add_listener(port):
        burr.client().create_load_balancer_listeners(
            LoadBalancerName="web", Listeners=[listener(port, 80)])

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(register, t) for t in ts]
        futures += [pool.submit(add_listener, 8081 + i) for i in range(4)]
        for f in futures:
            f.result()  # every call succeeded

    d = describe(elb, "web")
    assert sorted(i["InstanceId"] for i in d["Instances"]) == sorted(t.address for t in ts)
    ports = sorted(l["Listener"]["LoadBalancerPort"] for l in d["ListenerDescriptions"])
    assert ports == [8080, 8081, 8082, 8083, 8084]
    # In service, not only stored: every listener answers and, between them, reach all eight
    # targets (round robin per listener, so 8 requests on one listener visit each target once).
    for port in ports:
        seen = {http_get(host, port).target for _ in range(8)}
        assert seen == {t.name for t in ts}, port
