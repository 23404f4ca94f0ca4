"""A headless Chromium driven over the Chrome DevTools Protocol, with the network cut off.

``Browser`` starts Debian's ``chromium`` (``TKPK_CHROMIUM`` or the first of chromium /
chromium-browser / google-chrome on PATH) headless with its own profile, resolves no host
(``--host-resolver-rules``), goes through a proxy to nowhere, and intercepts every request
(``Fetch.enable``): anything that is not ``file:``/``data:``/``blob:``/``about:`` is failed and
recorded in ``page.blocked``. Console errors, uncaught exceptions and failed loads are recorded in
``page.errors``. Only the ``websockets`` package is needed (no browser download).

    with Browser() as browser:
        page = browser.open(path)               # waits for the load event
        page.wait_for("document.querySelectorAll('tr').length > 3")
        page.evaluate("document.title")
        page.screenshot(tmp_path / "page.png")
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

#: URL schemes a page may load; everything else is blocked and recorded.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome-error:", "devtools:")


def chromium_path() -> str | None:
    """The browser to run: ``TKPK_CHROMIUM`` or the distribution's chromium on PATH."""
    if os.environ.get("TKPK_CHROMIUM"):
        return os.environ["TKPK_CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    """The browser did not start or did not answer in time."""


class Page:
    """One tab, attached with a flat session."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.loaded = False

    def send(self, method: str, **params: Any) -> dict:
        """A command to this tab; returns its result."""
        return self.browser.send(method, params, session=self.session)

    def handle(self, method: str, params: dict) -> None:
        """Events of this tab: interception, console, exceptions, failed loads, load event."""
        if method == "Fetch.requestPaused":
            url = params["request"]["url"]
            if url.startswith(LOCAL_SCHEMES):
                self.browser.post("Fetch.continueRequest", {"requestId": params["requestId"]},
                                  session=self.session)  # fmt: skip
            else:
                self.blocked.append(url)
                self.browser.post(
                    "Fetch.failRequest",
                    {"requestId": params["requestId"], "errorReason": "BlockedByClient"},
                    session=self.session,
                )
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            texts = [str(a.get("value", a.get("description", ""))) for a in params.get("args", [])]
            self.errors.append("console: " + " ".join(texts))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exception = details.get("exception", {})
            self.errors.append(
                "exception: " + str(exception.get("description") or details.get("text"))
            )
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            self.errors.append(f"load failed: {params.get('errorText')}")
        elif method == "Page.loadEventFired":
            self.loaded = True

    def navigate(self, url: str, timeout: float = 60) -> None:
        """Go to ``url`` and wait for its load event."""
        self.loaded = False
        self.send("Page.navigate", url=url)
        self.browser.pump(lambda: self.loaded, timeout, f"load of {url}")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression}")
            self.browser.pump(lambda: False, 0.1, "", quiet=True)

    def screenshot(self, path: Path, width: int = 1280) -> Path:
        """A full-page PNG of the rendered page."""
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)") or 800)
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=min(height, 16000),
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path


class Browser:
    """A headless Chromium process and its DevTools websocket."""

    def __init__(self, executable: str | None = None, timeout: float = 60) -> None:
        self.executable = executable or chromium_path()
        if not self.executable:
            raise BrowserError("no chromium on PATH (apt-get install chromium)")
        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix="tkpk-chromium-"))
        self.process: subprocess.Popen | None = None
        self.socket = None
        self.next_id = 0
        self.pages: dict[str, Page] = {}
        self.replies: dict[int, dict] = {}

    # -- process and socket ---------------------------------------------------------------------
    def __enter__(self) -> Browser:
        args = [
            self.executable,
            "--headless=new",
            "--no-sandbox",  # CI containers run as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--metrics-recording-only",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=http://127.0.0.1:9",
            "--allow-file-access-from-files",
            "--hide-scrollbars",
            "--font-render-hinting=none",
            f"--user-data-dir={self.profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                error = self.process.stderr.read().decode(errors="replace")[-2000:] if (
                    self.process.poll() is not None) else "timeout"  # fmt: skip
                self.close()
                raise BrowserError(f"chromium did not start: {error}")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.socket = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket, stop the browser, remove its profile."""
        if self.socket is not None:
            with contextlib.suppress(Exception):  # closing anyway
                self.send("Browser.close", {})
            self.socket.close()
            self.socket = None
        if self.process is not None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol -------------------------------------------------------------------------------
    def post(self, method: str, params: dict, session: str | None = None) -> int:
        """Send a command without waiting; returns its id."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        return self.next_id

    def send(self, method: str, params: dict, session: str | None = None) -> dict:
        """Send a command and wait for its reply (handling events meanwhile)."""
        ident = self.post(method, params, session)
        self.pump(lambda: ident in self.replies, self.timeout, method)
        reply = self.replies.pop(ident)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def pump(self, done, timeout: float, what: str, quiet: bool = False) -> None:  # noqa: ANN001
        """Read messages until ``done()`` or ``timeout`` seconds (an error unless ``quiet``)."""
        deadline = time.monotonic() + timeout
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if quiet:
                    return
                raise BrowserError(f"timed out: {what}")
            try:
                raw = self.socket.recv(timeout=remaining)
            except TimeoutError:
                continue
            message = json.loads(raw)
            if "id" in message:
                self.replies[message["id"]] = message
            elif message.get("sessionId") in self.pages:
                self.pages[message["sessionId"]].handle(message["method"], message["params"])

    def open(self, path: Path | str, width: int = 1280, height: int = 900) -> Page:
        """A new tab with interception and logging on, navigated to ``path`` (a file or URL)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, session)
        self.pages[session] = page
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            page.send(method)
        page.send("Fetch.enable", patterns=[{"urlPattern": "*"}])
        page.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        url = path if isinstance(path, str) else Path(path).resolve().as_uri()
        page.navigate(url)
        return page
