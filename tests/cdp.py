"""A minimal Chrome DevTools Protocol driver for headless Chromium (Debian's ``chromium``).

Just enough to open a page, wait for it to load, evaluate JavaScript, take a
screenshot and see every request the page makes (with the network blocked if
asked): the report check needs a real browser, not an HTML parser.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--allow-file-access-from-files", "--window-size=1280,2000",
]
OFFLINE_FLAGS = ["--host-resolver-rules=MAP * ~NOTFOUND"]  # no host name resolves: nothing leaves the machine
BLOCKED_URLS = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]  # and the page may not even try


class Browser:
    """One headless Chromium with one page; ``offline`` blocks every request that would leave the machine."""

    def __init__(self, executable: str | None = None, timeout: float = 30.0, offline: bool = False):
        executable = executable or shutil.which("chromium") or shutil.which("chromium-browser")
        if not executable:
            raise RuntimeError("headless Chromium is needed (Debian: apt-get install chromium; .ci/run installs it)")
        self._profile = tempfile.mkdtemp(prefix="report-browser-")
        self._process = subprocess.Popen(
            [executable, *FLAGS, *(OFFLINE_FLAGS if offline else []), f"--user-data-dir={self._profile}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self._ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout)
        self._ids = itertools.count(1)
        self.events: list[dict] = []  # every DevTools event received, in order
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Network.enable")
        if offline:
            self.call("Network.setBlockedURLs", urls=BLOCKED_URLS)

    def call(self, method: str, **params):
        """Send one DevTools command and return its result (events in between are kept in ``events``)."""
        message_id = next(self._ids)
        self._ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if "method" in message:
                self.events.append(message)
            elif message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def open(self, url: str, timeout: float = 30.0) -> None:
        """Navigate and wait until the document and its images have loaded."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.evaluate("document.readyState + '|' + location.href")
            if state.startswith("complete|") and state.split("|", 1)[1].rstrip("/") == url.rstrip("/"):
                return
            time.sleep(0.05)
        raise TimeoutError(f"{url} did not finish loading")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def requested_urls(self) -> list[str]:
        """Every URL the pages opened so far asked for (documents, scripts, styles, images, fonts)."""
        self.evaluate("0")  # collect the events sent so far
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self._ws.close()
        except Exception:
            pass
        self._process.kill()
        self._process.wait(timeout=10)
        shutil.rmtree(self._profile, ignore_errors=True)
