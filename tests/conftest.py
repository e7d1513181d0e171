"""Shared fixtures: the loopback mock upstream and a real Cortex under gunicorn."""
import pytest

from tests.cortex_server import CortexServer, base_config
from tests.mocks import MockUpstream


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
def cortex(mock, tmp_path_factory):
    """Cortex with 2 gevent workers in front of the mock, shared by a test module."""
    workdir = tmp_path_factory.mktemp("cortex")
    server = CortexServer(base_config(mock.url, workdir / "cortex.db"), workdir).start()
    yield server
    server.stop()
