"""The worker's collector settings (app/collector.py), applied in a fresh interpreter each time:
they freeze and retune the whole process."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHURN = """
from gevent import monkey; monkey.patch_all()
import gc, gevent
{tune}
gevent.sleep(0.01)  # the hub and its loop exist before counting starts
class Item: pass
held = [Item() for _ in range(5000)]
gc.collect()
for index in range(len(held)):  # each new object replaces one that dies: the allocation count stays flat
    held[index] = Item()
young_before = len(gc.get_objects(0))
gevent.sleep(0.3)
print(young_before, len(gc.get_objects(0)), len(gc.get_objects(1)))
"""


def generations(tune: str) -> tuple[int, int, int]:
    """(young before, young after 0.3 s, middle after 0.3 s) of 5,000 objects that replaced 5,000 others."""
    done = subprocess.run([sys.executable, "-c", CHURN.format(tune=tune)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return tuple(map(int, done.stdout.split()))


def test_the_young_generation_is_collected_on_a_timer_when_allocations_balance_out():
    before, after, middle = generations("")
    assert before >= 5000 and after >= 5000  # CPython alone: no collection while the count is flat
    # The timer's collections move the survivors on, through the middle generation too.
    before, after, middle = generations("from app.collector import tune_worker; tune_worker()")
    assert before >= 5000 and after < 100 and middle < 100


def test_greenlets_do_not_record_their_spawning_stack():
    script = ("from gevent import monkey; monkey.patch_all()\nimport gevent\n"
              "from app.collector import tune_worker; tune_worker()\n"
              "print(gevent.spawn(lambda: None).spawning_stack)")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "None", done.stderr
