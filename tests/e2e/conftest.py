"""Fixtures of the end-to-end suite: a fresh burr per test (its own data directory, API port and
address pool), boto3 `elb` clients, and HTTP targets on loopback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import collections
import itertools

from burr_e2e import BURR_BIN, Burr, Target, free_port, next_subnet
from terraform_harness import ProxyProtocolTarget, Terraform, require

# Nothing from the developer's own AWS set-up may leak into the suite.
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL",
             "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING"):
    os.environ.pop(_var, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def pytest_configure(config):
    if not Path(BURR_BIN).is_file():
        raise pytest.UsageError(
            f"burr binary not found at {BURR_BIN}: run `cargo build --bin burr` or set BURR_BIN"
        )


@pytest.fixture
def burr_factory(tmp_path):
    """Starts burr processes (each on a data directory of its own unless given one) and stops
    every one of them after the test."""
    started: list[Burr] = []

    def make(name: str = "burr", *, data_dir: Path | None = None, start: bool = True,
             **options) -> Burr:
        b = Burr(data_dir or tmp_path / name, **options)
        started.append(b)
        return b.start() if start else b

    yield make
    for b in started:
        b.stop()


@pytest.fixture
def burr(burr_factory) -> Burr:
    """A fresh burr with credentials from the environment."""
    return burr_factory()


@pytest.fixture
def elb(burr):
    """A boto3 `elb` client for `burr`."""
    return burr.client()


@pytest.fixture
def raw_elb(burr):
    """A boto3 `elb` client without botocore's own parameter validation."""
    return burr.unvalidated_client()


@pytest.fixture
def elbv2(burr):
    """A boto3 `elbv2` client for `burr`."""
    return burr.client(service="elbv2")


@pytest.fixture
def raw_elbv2(burr):
    """A boto3 `elbv2` client without botocore's own parameter validation."""
    return burr.client(service="elbv2", parameter_validation=False)


@pytest.fixture
def cf(burr):
    """A boto3 `cloudfront` client for `burr`."""
    return burr.client(service="cloudfront")


@pytest.fixture
def raw_cf(burr):
    """A boto3 `cloudfront` client without botocore's own parameter validation."""
    return burr.client(service="cloudfront", parameter_validation=False)


@pytest.fixture
def targets():
    """Makes HTTP targets on loopback; closes them after the test."""
    made: list[Target] = []

    def make(name: str, **options) -> Target:
        t = Target(name, **options)
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()


# ---- Terraform (test_terraform*.py) ----


@pytest.fixture(scope="session")
def terraform(tmp_path_factory):
    """terraform with the offline provider, one template init per session (skips, or fails
    when CI=true, without them)."""
    require()
    tf = Terraform(tmp_path_factory.mktemp("terraform"))
    yield tf
    total = collections.defaultdict(float)
    for command, seconds in tf.timings:
        total[command] += seconds
    print("\nterraform time by command: "
          + ", ".join(f"{c} {s:.1f} s" for c, s in sorted(total.items())))


@pytest.fixture
def module(terraform, tmp_path):
    return terraform.module(tmp_path / "module")


class Backends:
    """Targets the AWS way: each on a loopback address of its own (its instance id), all on
    one port (the listeners' instance port, which the health check probes)."""

    def __init__(self, targets):
        self.subnet = next_subnet()
        self.port = free_port()
        self.second_port = free_port()
        self._hosts = itertools.count(10)
        self._targets = targets
        self._proxy_targets: list[ProxyProtocolTarget] = []

    def http(self, name: str, **options):
        return self._targets(name, host=f"{self.subnet}.{next(self._hosts)}", port=self.port,
                             **options)

    def proxy(self, name: str) -> ProxyProtocolTarget:
        """A target telling the PROXY line it got, on both `port` and `second_port`."""
        t = ProxyProtocolTarget(name, f"{self.subnet}.{next(self._hosts)}",
                                [self.port, self.second_port])
        self._proxy_targets.append(t)
        return t

    def close(self):
        for t in self._proxy_targets:
            t.close()


@pytest.fixture
def backends(targets):
    made = Backends(targets)
    yield made
    made.close()
