"""Several workers setting up one new SQLite store at once (gunicorn boots them together)."""
import multiprocessing

from app.config import StorageConfig
from app.db import Store


def _set_up(path: str, start) -> None:
    start.wait()
    Store(StorageConfig(f"sqlite:///{path}", "", "")).close()


def test_workers_booting_together_all_set_up_a_new_sqlite_store(tmp_path):
    context = multiprocessing.get_context("fork")
    for attempt in range(15):
        start = context.Event()
        workers = [context.Process(target=_set_up, args=(str(tmp_path / f"cortex{attempt}.db"), start))
                   for _ in range(4)]
        for worker in workers:
            worker.start()
        start.set()
        for worker in workers:
            worker.join(30)
        assert [worker.exitcode for worker in workers] == [0, 0, 0, 0], f"attempt {attempt}"
