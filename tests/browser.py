"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol on a pipe.

`--remote-debugging-pipe`: Chromium reads NUL-terminated JSON commands on fd 3 and writes
replies and events on fd 4, so the tests need no WebSocket client and no browser download.
"""
import base64
import fcntl
import itertools
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    return next(filter(None, (shutil.which(name) for name in CHROMIUM_NAMES)), None)


def _above_four(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class BrowserError(AssertionError):
    pass


class Chromium:
    def __init__(self, executable: str, download_dir: Path):
        self._profile = tempfile.mkdtemp(prefix="cortex-chromium-")
        self.download_dir = download_dir
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # Above 4 first: redirecting onto 3 and 4 must not overwrite one of the two ends.
        to_browser_read, from_browser_write = (_above_four(to_browser_read), _above_four(from_browser_write))
        flags = ["--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-dev-shm-usage", "--disable-extensions", "--disable-background-networking",
                 "--window-size=1280,1000", f"--user-data-dir={self._profile}", "about:blank"]
        # bash (dash takes fds 0-9 only) puts the pipe ends on fds 3 and 4 in the child, without a preexec_fn.
        script = f'exec "$0" "$@" 3<&{to_browser_read} 4>&{from_browser_write}'
        self.process = subprocess.Popen(["bash", "-c", script, executable, *flags],
                                        pass_fds=(to_browser_read, from_browser_write),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._ids = itertools.count(1)
        self._replies: dict[int, queue.Queue] = {}
        self._events: list[dict] = []
        self._events_changed = threading.Condition()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(download_dir), eventsEnabled=True)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.call(f"{domain}.enable", session=True)

    def _read(self):
        buffer = b""
        while True:
            data = os.read(self._from_browser, 65536)
            if not data:
                return
            buffer += data
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        waiting = self._replies.get(message["id"])
                    if waiting is not None:
                        waiting.put(message)
                else:
                    with self._events_changed:
                        self._events.append(message)
                        self._events_changed.notify_all()

    def call(self, method: str, session: bool = False, timeout: float = 30.0, **params) -> dict:
        message_id = next(self._ids)
        message = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        waiting = queue.Queue()
        with self._lock:
            self._replies[message_id] = waiting
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        try:
            reply = waiting.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"{method}: no reply in {timeout}s") from None
        finally:
            with self._lock:
                del self._replies[message_id]
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, since: int, timeout: float = 30.0, match=lambda params: True) -> dict:
        """The first `method` event at or after position `since` of the event log."""
        deadline = time.monotonic() + timeout
        with self._events_changed:
            while True:
                for event in self._events[since:]:
                    if event.get("method") == method and match(event.get("params", {})):
                        return event["params"]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BrowserError(f"no {method} event in {timeout}s")
                self._events_changed.wait(remaining)

    @property
    def event_count(self) -> int:
        with self._events_changed:
            return len(self._events)

    def goto(self, url: str) -> None:
        since = self.event_count
        self.call("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired", since)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", session=True, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0):
        """The value of `expression` once it is truthy (pages load their data after the load event)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError:  # the page is navigating: its context went away mid-evaluation
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"still false after {timeout}s: {expression}")
            time.sleep(0.1)

    def submit(self, form_selector: str, fields: dict | None = None) -> None:
        """Fill a form's inputs and submit it as a user would, then wait for the page it leads to."""
        since = self.event_count
        assignments = "".join(f"form.elements.namedItem({json.dumps(name)}).value = {json.dumps(value)};"
                              for name, value in (fields or {}).items())
        self.evaluate(f"(() => {{ const form = document.querySelector({json.dumps(form_selector)});"
                      f"{assignments} form.requestSubmit(); }})()")
        self.wait_event("Page.loadEventFired", since)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def cookies(self) -> list[dict]:
        return self.call("Network.getCookies", session=True)["cookies"]

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except (BrowserError, OSError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        shutil.rmtree(self._profile, ignore_errors=True)
