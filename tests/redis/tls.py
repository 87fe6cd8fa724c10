"""A throwaway certificate authority and a TLS + ACL redis-server signed by it.

The certificates are made with the ``openssl`` command (no Python crypto package is a
dependency): an EC CA, and a server certificate for ``127.0.0.1``/``localhost``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.redis_server import RedisProcess

__all__ = ["ACL_PASSWORD", "ACL_USER", "Certificates", "TlsRedis", "make_certificates"]

ACL_USER = "threadcast-bot"
ACL_PASSWORD = "tls-acl-s3cret"
_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path) -> Certificates:
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    names = directory / "san.cnf"
    names.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for command in (
        ["req", "-x509", *_EC_KEY, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=threadcast test CA"],
        ["req", *_EC_KEY, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", names],
    ):  # fmt: skip
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True, timeout=30)
    key.chmod(0o600)
    return Certificates(ca=ca, cert=cert, key=key)


class TlsRedis(RedisProcess):
    """redis-server with TLS only (no plain port) and one ACL user, limited to the test
    namespaces' keys and to the non-dangerous commands; ``default`` is off."""

    def __init__(self, directory: Path, certificates: Certificates, binary: str) -> None:
        self.certificates = certificates
        ping: dict[str, Any] = {
            "ssl": True,
            "ssl_ca_certs": str(certificates.ca),
            "username": ACL_USER,
            "password": ACL_PASSWORD,
        }
        acl = [
            "--user", "default", "off",
            # What deploy/README suggests (its namespace; here the tests' namespaces).
            "--user", ACL_USER, "on", f">{ACL_PASSWORD}", "~tc-test-*", "+@all", "-@dangerous",
        ]  # fmt: skip
        super().__init__(directory, binary=binary, args=acl, ping_kwargs=ping)

    def listen_args(self) -> list[str]:
        files = self.certificates
        return [
            "--port", "0",
            "--tls-port", str(self.port),
            "--tls-cert-file", str(files.cert),
            "--tls-key-file", str(files.key),
            "--tls-ca-cert-file", str(files.ca),
            "--tls-auth-clients", "no",
        ]  # fmt: skip

    def url(self, *, user: str = ACL_USER, password: str = ACL_PASSWORD) -> str:
        return f"rediss://{user}:{password}@127.0.0.1:{self.port}/0"
