"""`burr export` prints what the API made as a TOML configuration, while burr runs and after it
stopped; it only reads: a data directory that holds no store is an error, not an empty one."""

import subprocess
import tomllib

from burr_e2e import BURR_BIN, accepts, create_lb, http_get, listener, wait_until


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


def test_export_of_an_application_load_balancer_checks_and_serves_from_the_file(
        burr, elbv2, targets, tmp_path, burr_factory):
    """An ALB made with elbv2 (target groups with stickiness, a weighted forward with group
    stickiness, a path rule with a fixed response) exports as TOML that `burr check` accepts
    and that a burr started from the file serves the same way."""
    t = targets("t")
    lb = elbv2.create_load_balancer(Name="web", Subnets=["subnet-a"])["LoadBalancers"][0]
    groups = []
    for name in ("blue", "green"):
        arn = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=t.port, VpcId="vpc-1",
                                        TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1"}])
        groups.append(arn)
    elbv2.modify_target_group_attributes(TargetGroupArn=groups[0], Attributes=[
        {"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "app_cookie"},
        {"Key": "stickiness.app_cookie.cookie_name", "Value": "SESSION"}])
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8080,
        DefaultActions=[{"Type": "forward", "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": groups[0], "Weight": 1},
                             {"TargetGroupArn": groups[1], "Weight": 3}],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600}}}],
    )["Listeners"][0]
    elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=5,
                      Conditions=[{"Field": "path-pattern", "Values": ["/down/*"]}],
                      Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
                          "StatusCode": "503", "ContentType": "text/plain",
                          "MessageBody": "maintenance"}}])

    exported = burr.run("export")
    assert exported.returncode == 0, exported.stderr
    config = tomllib.loads(exported.stdout)
    pools = {p["name"]: p for p in config["pool"]}
    assert pools["blue"]["stickiness"]["type"] == "app_cookie"
    assert pools["blue"]["target_group"]["protocol"] == "HTTP"
    [balancer] = config["balancer"]
    [l] = balancer["listener"]
    assert [r["priority"] for r in l["rule"]] == [5]
    assert [p["weight"] for p in l["default_action"]["forward"]["pools"]] == [1, 3]

    path = tmp_path / "exported.toml"
    path.write_text(exported.stdout)
    checked = subprocess.run([BURR_BIN, "check", "--config", str(path)], capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # A burr started from the file serves the rule (the balancer keeps its address).
    burr.stop()
    again = burr_factory("from-file", config=path)
    host = balancer["address"]
    wait_until(lambda: accepts(host, 8080), 10, what="the exported listener")
    r = http_get(host, 8080, "/down/x")
    assert (r.status, r.body) == (503, "maintenance")
    assert http_get(host, 8080, "/").target == "t"
    # Declared in the file, it is still an application load balancer to the API.
    [described] = again.client(service="elbv2").describe_load_balancers()["LoadBalancers"]
    assert (described["LoadBalancerName"], described["Type"]) == ("web", "application")
