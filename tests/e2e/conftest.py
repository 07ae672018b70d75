"""Fixtures of the end-to-end suite: a fresh burr per test (its own data directory, API port and
address pool), boto3 `elb` clients, and HTTP targets on loopback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from burr_e2e import BURR_BIN, Burr, Target

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
