from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.smtp_server import SmtpServer
from tests.servers.base import TlsFiles, make_tls_files


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> TlsFiles:
    """A CA of the tests' own and a server certificate for localhost and 127.0.0.1 (openssl)."""
    return make_tls_files(tmp_path_factory.mktemp("smtp-tls"))
