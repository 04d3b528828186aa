"""A real headless browser for tests: Debian's Chromium, driven over the DevTools protocol
on 127.0.0.1 (aiohttp's websocket client; no extra package).

    with Chromium(tmp_path) as browser:
        page = browser.open(Path("report.html"))       # waits for the load event
        page.evaluate("document.title")                # a JSON-able result
        page.errors                                    # console errors and exceptions

scripts/test.sh installs `chromium`; a missing browser is a test failure.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


class Page:
    def __init__(self, loop: asyncio.AbstractEventLoop, ws: Any):
        self._loop, self._ws, self._id = loop, ws, 0
        self.errors: list[str] = []

    def call(self, method: str, **params: Any) -> dict:
        return self._loop.run_until_complete(self._call(method, params))

    async def _call(self, method: str, params: dict, until: str | None = None) -> dict:
        self._id += 1
        await self._ws.send_json({"id": self._id, "method": method, "params": params})
        reply, waiting = None, until is not None
        while reply is None or waiting:
            msg = await asyncio.wait_for(self._ws.receive_json(), 30)
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                reply = msg["result"]
            self._event(msg)
            if msg.get("method") == until:
                waiting = False
        return reply

    def _event(self, msg: dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description")
                               or details.get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description")))
                                        for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(params["entry"].get("text", ""))

    def navigate(self, url: str) -> None:
        self._loop.run_until_complete(
            self._call("Page.navigate", {"url": url}, until="Page.loadEventFired"))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")


class Chromium:
    def __init__(self, profile: Path):
        self.profile = profile

    def __enter__(self) -> Chromium:
        binary = next((b for b in map(shutil.which, CHROMIUM) if b), None)
        if binary is None:
            pytest.fail("this test needs Chromium: bash scripts/setup.sh --test installs it "
                        "(apt-get install chromium)", pytrace=False)
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline, port = time.monotonic() + 60, None
        while port is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            port = int(found.group(1)) if found else None
        if port is None:
            self.proc.kill()
            pytest.fail("Chromium did not start its DevTools endpoint", pytrace=False)
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.session = self.loop.run_until_complete(_session())
        return self

    def open(self, path: Path) -> Page:
        targets = json.loads(urllib.request.urlopen(
            f"http://127.0.0.1:{self.port}/json/list", timeout=10).read())
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        ws = self.loop.run_until_complete(self.session.ws_connect(url, max_msg_size=0))
        page = Page(self.loop, ws)
        for domain in ("Page", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.navigate(path.resolve().as_uri())
        return page

    def __exit__(self, *exc: object) -> None:
        self.loop.run_until_complete(self.session.close())
        self.loop.close()
        self.proc.kill()
        self.proc.wait()


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()
