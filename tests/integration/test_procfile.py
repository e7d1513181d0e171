"""The Procfile's web process as a PaaS runs it: `bash -c` with the port in $PORT."""
import os
import sys

from tests.cortex_server import REPO, CortexServer, base_config


def procfile_process(name: str) -> str:
    lines = (REPO / "Procfile").read_text().splitlines()
    return next(line.split(":", 1)[1].strip() for line in lines if line.startswith(f"{name}:"))


def test_web_process_listens_on_port_from_environment(mock, tmp_path):
    config = base_config(mock.url, tmp_path / "cortex.db")  # server.port 8090: PORT must win
    server = CortexServer(config, tmp_path, workers=1, command=["bash", "-c", procfile_process("web")])
    # Only PORT names the port, as on a PaaS; the Procfile's gunicorn is this interpreter's.
    server.extra_env.update(PORT=str(server.port), CORTEX_PORT="",
                            PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]))
    try:
        server.start()
        assert server.openai().models.list().data
    finally:
        server.stop()
