"""Terraform for the end-to-end suite: finding `terraform` and the offline provider mirror (and
the rule for when they are missing: a failure when CI=true, a skip with the reason elsewhere),
writing a module into a directory of its own, and running init / apply / plan / import / destroy
with bounded time and captured output that the failure message carries.

Nothing here needs the network: the hashicorp/aws provider comes from a filesystem mirror (which
`terraform init` links, not copies), every AWS endpoint the provider may call points at burr, and
Terraform's version check is off.

Set BURR_TF_LOG=DEBUG (or TRACE) to have Terraform write its log (with the provider's request and
response bodies) to `terraform-N.log` in the module directory; the failure message names the
file.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from burr_e2e import ACCESS_KEY_ID, SECRET_ACCESS_KEY, boto_config

TERRAFORM = os.environ.get("BURR_TERRAFORM") or shutil.which("terraform") or ""
PLUGINS = Path(os.environ.get("BURR_TF_PLUGINS", "/opt/tf-plugins"))
PROVIDER_VERSION = os.environ.get("BURR_TF_AWS_VERSION", "5.100.0")
PROVIDER_DIR = (
    PLUGINS / "registry.terraform.io" / "hashicorp" / "aws" / PROVIDER_VERSION / "linux_amd64"
)

# Bounds of each Terraform command. The provider is a 675 MB binary: starting it takes seconds.
INIT_TIMEOUT = 120
COMMAND_TIMEOUT = 180

CLI_CONFIG = f"""\
provider_installation {{
  filesystem_mirror {{
    path    = "{PLUGINS}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }}
  direct {{
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }}
}}
"""

REQUIRED_PROVIDERS = f"""\
terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{PROVIDER_VERSION}"
    }}
  }}
}}
"""

# Every service endpoint the provider may call for the resources under test, with the AWS SDK's
# environment variable for it. EC2 and STS are pointed at burr too so that nothing leaves the
# machine: `aws_elb` deletion looks up the balancer's network interfaces in EC2 and only logs a
# failure.
ENDPOINT_SERVICES = {
    "elb": "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING",
    "elbv2": "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
    "acm": "AWS_ENDPOINT_URL_ACM",
    "iam": "AWS_ENDPOINT_URL_IAM",
    "sts": "AWS_ENDPOINT_URL_STS",
    "ec2": "AWS_ENDPOINT_URL_EC2",
    "cloudfront": "AWS_ENDPOINT_URL_CLOUDFRONT",
}


def missing() -> str | None:
    """Why the Terraform tests cannot run here, or None when they can."""
    if not TERRAFORM:
        return "terraform is not installed (not on PATH, and BURR_TERRAFORM is not set)"
    if not os.access(TERRAFORM, os.X_OK):
        return f"terraform is not installed: {TERRAFORM} (BURR_TERRAFORM) is not an executable"
    if not any(PROVIDER_DIR.glob("terraform-provider-aws_*")):
        return (
            f"the hashicorp/aws {PROVIDER_VERSION} provider is not in the filesystem mirror "
            f"{PLUGINS} (expected {PROVIDER_DIR}/terraform-provider-aws_v{PROVIDER_VERSION}_x5; "
            "set BURR_TF_PLUGINS to another mirror)"
        )
    return None


def require():
    """Skips the calling test (printing why) when terraform or the provider is missing, and
    fails it instead when CI=true: the standard machine has both."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and the Terraform tests cannot run: {reason}", pytrace=False)
    print(f"\nTerraform tests skipped: {reason}")
    pytest.skip(reason)


def provider_block(endpoint: str | None, *, region: str = "us-east-1",
                   alias: str | None = None) -> str:
    """An `aws` provider block for burr. With `endpoint`, an `endpoints` block points every
    service under test at it (the form users write); without, the endpoints come from the AWS
    SDK's AWS_ENDPOINT_URL_<SERVICE> variables (Module.endpoint): the provider takes seconds of
    CPU to validate an `endpoints` block, on every command, which the suite cannot afford in
    every test."""
    endpoints = "\n".join(f'    {s} = "{endpoint}"' for s in ENDPOINT_SERVICES)
    endpoints_block = f"\n  endpoints {{\n{endpoints}\n  }}\n" if endpoint else ""
    alias_line = f'  alias  = "{alias}"\n' if alias else ""
    return f"""\
provider "aws" {{
{alias_line}  region     = "{region}"
  access_key = "{ACCESS_KEY_ID}"
  secret_key = "{SECRET_ACCESS_KEY}"

  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
{endpoints_block}}}
"""


class TerraformError(AssertionError):
    pass


class Terraform:
    """Runs terraform commands for module directories. One per test session: it writes the CLI
    configuration once and initialises one template directory, whose `.terraform` (a link to
    the mirror's provider) and lock file every module directory copies instead of running
    `terraform init` again."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.cli_config = self.home / "cli.tfrc"
        self.cli_config.write_text(CLI_CONFIG)
        self.template = self.home / "template"
        self.template.mkdir(exist_ok=True)
        (self.template / "versions.tf").write_text(REQUIRED_PROVIDERS)
        self.template_ready = False
        self.timings: list[tuple[str, float]] = []

    def environment(self, log_path: Path | None, endpoint: str | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        level = os.environ.get("BURR_TF_LOG")
        if level and log_path is not None:
            env["TF_LOG"] = level
            env["TF_LOG_PATH"] = str(log_path)
        if endpoint:
            for variable in ENDPOINT_SERVICES.values():
                env[variable] = endpoint
        return env

    def run(self, cwd: Path, *args: str, ok=(0,), timeout: float = COMMAND_TIMEOUT,
            log_path: Path | None = None,
            endpoint: str | None = None) -> subprocess.CompletedProcess:
        """Runs `terraform args…` in `cwd`; a return code outside `ok` (or a timeout) raises
        with the command's whole output."""
        command = [TERRAFORM, *args]
        started = time.monotonic()
        try:
            done = subprocess.run(
                command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                env=self.environment(log_path, endpoint), stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as e:
            raise TerraformError(
                f"`{' '.join(args)}` in {cwd} did not finish within {timeout} s\n"
                f"--- stdout\n{e.stdout}\n--- stderr\n{e.stderr}" + log_note(log_path)
            ) from None
        self.timings.append((args[0], time.monotonic() - started))
        if done.returncode not in ok:
            raise TerraformError(
                f"`terraform {' '.join(args)}` in {cwd} exited {done.returncode} "
                f"(expected {' or '.join(map(str, ok))})\n"
                f"--- stdout\n{done.stdout[-12000:]}\n--- stderr\n{done.stderr[-12000:]}"
                + log_note(log_path)
            )
        return done

    def prepare_template(self):
        if not self.template_ready:
            self.run(self.template, "init", "-input=false", "-no-color", "-backend=false",
                     timeout=INIT_TIMEOUT)
            self.template_ready = True

    def module(self, directory: Path) -> "Module":
        """A module directory ready for plan/apply (the template's init copied into it)."""
        self.prepare_template()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.template / ".terraform", directory / ".terraform", symlinks=True,
                        dirs_exist_ok=True)
        shutil.copy(self.template / ".terraform.lock.hcl", directory / ".terraform.lock.hcl")
        (directory / "versions.tf").write_text(REQUIRED_PROVIDERS)
        return Module(self, directory)


def log_note(log_path: Path | None) -> str:
    if log_path is None:
        return ""
    if log_path.exists():
        return f"\n--- Terraform log (BURR_TF_LOG): {log_path}"
    return "\n(set BURR_TF_LOG=DEBUG to have Terraform log the provider's requests and answers)"


class Module:
    """One Terraform module directory: its main.tf and its local state."""

    FLAGS = ("-input=false", "-no-color")

    def __init__(self, terraform: Terraform, directory: Path):
        self.terraform = terraform
        self.dir = directory
        self.commands = 0
        # burr's API: given to the provider through AWS_ENDPOINT_URL_<SERVICE>.
        self.endpoint: str | None = None

    def provider(self, endpoint: str, *, region: str = "us-east-1", alias: str | None = None,
                 endpoints_block: bool = False) -> str:
        """A provider block for burr at `endpoint` (see provider_block)."""
        self.endpoint = endpoint
        return provider_block(endpoint if endpoints_block else None, region=region, alias=alias)

    def write(self, main_tf: str):
        (self.dir / "main.tf").write_text(main_tf)

    def _run(self, *args: str, ok=(0,)) -> subprocess.CompletedProcess:
        self.commands += 1
        log_path = self.dir / f"terraform-{self.commands}.log"
        return self.terraform.run(self.dir, *args, ok=ok, log_path=log_path,
                                  endpoint=self.endpoint)

    def apply(self) -> subprocess.CompletedProcess:
        return self._run("apply", *self.FLAGS, "-auto-approve", "-refresh=true")

    def plan_exit_code(self) -> tuple[int, str]:
        """`plan -detailed-exitcode`: 0 no changes, 2 changes (1 is an error and raises)."""
        done = self._run("plan", *self.FLAGS, "-detailed-exitcode", "-refresh=true", ok=(0, 2))
        return done.returncode, done.stdout

    def assert_no_changes(self, after: str):
        code, out = self.plan_exit_code()
        assert code == 0, f"`terraform plan -detailed-exitcode` after {after} wants changes:\n{out}"

    def import_(self, address: str, resource_id: str) -> subprocess.CompletedProcess:
        return self._run("import", *self.FLAGS, address, resource_id)

    def forget(self, address: str):
        """Drops the managed resource `address` (`type.name`, root module) from the local state,
        as `terraform state rm` does, without starting terraform (which loads every schema of
        the provider: seconds per call)."""
        path = self.dir / "terraform.tfstate"
        state = json.loads(path.read_text())
        kind, name = address.split(".", 1)
        kept = [r for r in state["resources"]
                if not (r.get("mode") == "managed" and r["type"] == kind and r["name"] == name
                        and "module" not in r)]
        assert len(kept) == len(state["resources"]) - 1, f"{address} is not in {path}"
        state["resources"] = kept
        state["serial"] += 1
        path.write_text(json.dumps(state, indent=2))

    def destroy(self) -> subprocess.CompletedProcess:
        """Destroys everything in the state. With a refresh, which also records each resource's
        dependencies from the configuration: an imported resource has none in the state, and
        without them Terraform deletes a certificate and the balancer using it in parallel."""
        return self._run("destroy", *self.FLAGS, "-auto-approve", "-refresh=true")

    def outputs(self) -> dict:
        """The root module's outputs, read from the local state (what `terraform output -json`
        prints, without starting terraform)."""
        state = json.loads((self.dir / "terraform.tfstate").read_text())
        return {k: v["value"] for k, v in state.get("outputs", {}).items()}


# ---- what a client sees ----


class ProxyProtocolTarget:
    """A TCP target on loopback that answers each connection's first HTTP request with its name
    and the PROXY protocol v1 line it was sent before the request, if any (`X-Proxy-Line`)."""

    def __init__(self, name: str, host: str, ports: list[int]):
        self.name = name
        self.host = host
        self.closed = threading.Event()
        self.socks = []
        for port in ports:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(64)
            sock.settimeout(0.2)
            self.socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket):
        while not self.closed.is_set():
            try:
                conn, _ = sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket):
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
            except OSError:
                return
            proxy_line = ""
            if data.startswith(b"PROXY "):
                proxy_line = data.split(b"\r\n", 1)[0].decode(errors="replace")
            body = f"{self.name}\n".encode()
            head = (
                "HTTP/1.1 200 OK\r\n"
                f"X-Target: {self.name}\r\n"
                f"X-Proxy-Line: {proxy_line or '-'}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            try:
                conn.sendall(head + body)
            except OSError:
                pass

    def close(self):
        self.closed.set()
        for sock in self.socks:
            sock.close()


def peer_certificate(host: str, port: int, server_name: str = "www.example.test") -> bytes:
    """The DER certificate an HTTPS listener presents (not verified: burr's local CA or a
    self-signed test certificate)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.getpeercert(binary_form=True)


def https_get(host: str, port: int, path: str = "/",
              cookie: str | None = None) -> tuple[int, dict, str]:
    """One GET over TLS (certificate not verified): (status, headers, body)."""
    import http.client

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(host, port, timeout=5, context=context)
    try:
        headers = {"Connection": "close"}
        if cookie:
            headers["Cookie"] = cookie
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, r.headers, r.read().decode(errors="replace")
    finally:
        conn.close()


def self_signed(common_name: str) -> tuple[str, str, bytes]:
    """A fresh self-signed EC P-256 certificate for `common_name`, valid for 30 days:
    (certificate PEM, PKCS#8 private key PEM, certificate DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return (cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem,
            cert.public_bytes(serialization.Encoding.DER))


def hcl_string(text: str) -> str:
    """`text` as an HCL heredoc (PEM blocks keep their newlines)."""
    return "<<-EOT\n" + text.rstrip("\n") + "\nEOT"


# ---- ELBv2 ----


def elbv2_client(burr):
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name="us-east-1",
    )
    return session.client("elbv2", endpoint_url=burr.endpoint, config=boto_config())


def target_group_block(name: str, port: int, *, protocol: str = "HTTP", stickiness: str = "",
                       health: str = "", extra: str = "") -> str:
    return f"""
resource "aws_lb_target_group" "{name}" {{
  name        = "{name}"
  port        = {port}
  protocol    = "{protocol}"
  vpc_id      = "vpc-0burr"
  target_type = "ip"
{extra}{health}{stickiness}}}
"""
