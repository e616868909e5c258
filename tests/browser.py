"""Open an HTML file in headless Chromium over the DevTools protocol: console errors, a screenshot,
the page's width and every figure's data attributes as the browser laid them out.

Chromium is Debian's `chromium` package, installed by `make chromium` (a prerequisite of `make test`).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1")

# Collected in the page after load: the widest element edge, and each figure mark's data attributes.
MEASURE = """JSON.stringify({
  scrollWidth: document.documentElement.scrollWidth,
  tables: [...document.querySelectorAll('table')].map(t => Math.ceil(t.getBoundingClientRect().right)),
  marks: [...document.querySelectorAll('[data-value]')].map(e => ({
    tag: e.tagName.toLowerCase(), figure: (e.closest('figure') || {}).dataset?.metric || null,
    data: {...e.dataset}, visible: e.getBoundingClientRect().width > 0 || e.getBoundingClientRect().height > 0})),
  figures: [...document.querySelectorAll('figure')].map(f => ({metric: f.dataset.metric || null,
    width: f.getBoundingClientRect().width, height: f.getBoundingClientRect().height}))
})"""


@dataclass
class Rendered:
    """What the browser saw."""

    errors: list[str]
    scroll_width: int
    table_right_edges: list[int]
    marks: list[dict[str, Any]]
    figures: list[dict[str, Any]]
    screenshot: Path
    messages: list[str] = field(default_factory=list)


def available() -> bool:
    return Path(CHROMIUM).is_file()


def render(page: Path, screenshot: Path, width: int = 1400, height: int = 1000) -> Rendered:
    """Load ``page`` in a ``width`` x ``height`` window; errors are console errors and uncaught exceptions."""
    import websocket  # the dev extra's websocket-client

    profile = Path(tempfile.mkdtemp(prefix="custseg-chromium-"))
    process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                                "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        socket = websocket.create_connection(_page_socket(profile), timeout=60, suppress_origin=True)
        try:
            return _drive(_Session(socket), page, screenshot, width, height)
        finally:
            socket.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)


def _page_socket(profile: Path) -> str:
    """The DevTools websocket of the first page, once Chromium wrote its port (DevToolsActivePort)."""
    port_file = profile / "DevToolsActivePort"
    for _ in range(300):
        if port_file.is_file() and port_file.read_text().strip():
            port = port_file.read_text().split()[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                pages = [t for t in json.load(answer) if t["type"] == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        time.sleep(0.1)
    raise RuntimeError(f"chromium wrote no DevToolsActivePort in {profile}")


class _Session:
    def __init__(self, socket: Any) -> None:
        self.socket, self.next_id, self.events = socket, 0, []  # type: list[dict[str, Any]]

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, method: str) -> None:
        while not any(e.get("method") == method for e in self.events):
            self.events.append(json.loads(self.socket.recv()))


def _drive(session: _Session, page: Path, screenshot: Path, width: int, height: int) -> Rendered:
    for domain in ("Page", "Runtime", "Log"):
        session.call(f"{domain}.enable")
    session.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
    session.call("Page.navigate", url=page.resolve().as_uri())
    session.wait_for("Page.loadEventFired")
    measured = json.loads(session.call("Runtime.evaluate", expression=MEASURE, returnByValue=True)["result"]["value"])
    shot = session.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    errors, messages = [], []
    for event in session.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("exception", {}).get("description", "exception"))
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            (errors if params.get("type") in ("error", "assert") else messages).append(text)
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    return Rendered(errors, int(measured["scrollWidth"]), measured["tables"], measured["marks"], measured["figures"],
                    screenshot, messages)
