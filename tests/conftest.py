"""Shared fixtures: the loopback mock upstream and a real Cortex under gunicorn."""
import pytest

from tests.cortex_server import CortexServer, base_config
from tests.mocks import MockUpstream
from tests.services import PostgresServer, RedisServer


@pytest.fixture(scope="session")
def mock():
    with MockUpstream() as upstream:
        yield upstream


@pytest.fixture(autouse=True)
def _fresh_mock(request):
    """Each test starts with no scripted behaviours and no recorded requests."""
    if "mock" in request.fixturenames:
        request.getfixturevalue("mock").reset()


@pytest.fixture(scope="module")
def start_cortex(mock, tmp_path_factory):
    """`start_cortex(make_config, **options)`: Cortex from `make_config(mock_url, db_path)`, stopped with the module."""
    servers = []

    def start(make_config=base_config, **options) -> CortexServer:
        workdir = tmp_path_factory.mktemp("cortex")
        servers.append(CortexServer(make_config(mock.url, workdir / "cortex.db"), workdir, **options).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def cortex(start_cortex):
    """Cortex with 2 gevent workers in front of the mock, shared by a test module."""
    return start_cortex()


@pytest.fixture(scope="session")
def redis_server():
    """A real redis-server for the session; `.fresh_url()` gives a test an empty database."""
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL cluster for the session; `.fresh_url()` creates an empty database."""
    server = PostgresServer()
    yield server
    server.stop()
