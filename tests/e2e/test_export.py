"""`burr export` prints what the API made as a TOML configuration, while burr runs and after it
stopped; it only reads: a data directory that holds no store is an error, not an empty one."""

import subprocess
import tomllib

from burr_e2e import BURR_BIN, create_lb, listener


def test_export_prints_the_balancer_and_its_pool_as_toml(burr, elb, targets):
    ts = [targets(f"t{i}") for i in range(2)]
    host = create_lb(elb, "web", listener(8080, 80), Tags=[{"Key": "env", "Value": "test"}])
    elb.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": t.address} for t in ts]
    )
    elb.create_lb_cookie_stickiness_policy(
        LoadBalancerName="web", PolicyName="sticky", CookieExpirationPeriod=60
    )
    elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="web", LoadBalancerPort=8080, PolicyNames=["sticky"]
    )

    running = burr.run("export")
    assert running.returncode == 0, running.stderr
    config = tomllib.loads(running.stdout)

    [balancer] = config["balancer"]
    assert balancer["name"] == "web"
    assert balancer["address"] == host
    [l] = balancer["listener"]
    assert (l["port"], l["protocol"], l["instance_port"]) == (8080, "http", 80)
    assert balancer["aws"]["tags"] == {"env": "test"}
    assert balancer["aws"]["policies"] == [
        {"name": "sticky", "type": "LBCookieStickinessPolicyType",
         "attributes": [["CookieExpirationPeriod", "60"]]}
    ]

    [pool] = config["pool"]
    assert pool["name"] == l["pool"]
    assert [t["address"] for t in pool["targets"]] == [t.address for t in ts]
    assert pool["stickiness"]["type"] == "lb_cookie"
    assert pool["stickiness"]["flavour"] == "classic"
    assert pool["stickiness"]["duration_secs"] == 60

    # Stopped, the data directory exports the same.
    burr.stop()
    stopped = burr.run("export")
    assert stopped.returncode == 0, stopped.stderr
    assert tomllib.loads(stopped.stdout) == config


def export(data_dir):
    return subprocess.run([BURR_BIN, "export", "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=30)


def test_export_of_a_missing_data_dir_fails_and_creates_nothing(tmp_path):
    typo = tmp_path / "typo"
    done = export(typo)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert str(typo / "burr.db") in done.stderr
    assert f"`burr serve --data-dir {typo}` creates it" in done.stderr
    assert list(tmp_path.iterdir()) == []

    # An existing directory without a store: the same, and it stays empty.
    typo.mkdir()
    done = export(typo)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert list(typo.iterdir()) == []
