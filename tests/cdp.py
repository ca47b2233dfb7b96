"""A headless Chromium driven through the DevTools protocol over ``--remote-debugging-pipe``: standard
library only (no selenium, no websocket client). Used by the browser tests of the interactive map.

Chromium reads commands from file descriptor 3 and writes replies and events to descriptor 4, each a
JSON message ended by a NUL byte (https://chromedevtools.github.io/devtools-protocol/).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_binary() -> str | None:
    """The first Chromium found (Debian: /usr/bin/chromium), or None."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless browser with one page; :meth:`evaluate` runs JavaScript in it and returns the value."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 900, timeout: float = 60.0):
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""
        self.events: list[dict[str, Any]] = []
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--remote-debugging-pipe", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "about:blank"]
        def onto_3_and_4() -> None:  # in the child: the two pipe ends where Chromium expects them
            read_end, write_end = os.dup(to_browser_read), os.dup(from_browser_write)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self._log = Path(profile) / "chromium.log"
        with open(self._log, "wb") as log:
            # close_fds=False keeps 3 and 4 open; every other descriptor of Python is not inheritable anyway
            self.process = subprocess.Popen(args, preexec_fn=onto_3_and_4, close_fds=False, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(profile)})
        os.close(to_browser_read)
        os.close(from_browser_write)
        target = self.command("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.command("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.command("Page.enable", session=True)
        self.command("Runtime.enable", session=True)
        self.command("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                     deviceScaleFactor=1, mobile=False)

    # ------------------------------------------------------------------------------------- protocol
    def _log_tail(self) -> str:
        try:
            return self._log.read_text(encoding="utf-8", errors="replace")[-1500:]
        except OSError:
            return ""

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode("utf-8") + b"\0"
        while data:
            try:
                written = os.write(self._to_browser, data)
            except BrokenPipeError as error:
                raise BrowserError(f"Chromium is gone (exit {self.process.poll()}): {self._log_tail()}") from error
            data = data[written:]

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer from Chromium in time: {self._log_tail()}")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium closed the pipe: {self._log_tail()}")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def command(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    # ------------------------------------------------------------------------------------------ page
    def open(self, url: str) -> None:
        """Load ``url`` and wait until the document is complete (the events of the previous page are dropped)."""
        self.events.clear()
        self.command("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + self.timeout
        while self.evaluate("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise BrowserError(f"{url} did not finish loading")
            time.sleep(0.05)

    def evaluate(self, expression: str) -> Any:
        result = self.command("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                              awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails'].get('text')} "
                               f"{result['exceptionDetails'].get('exception', {}).get('description', '')}")
        return result["result"].get("value")

    def mouse_move(self, x: float, y: float) -> None:
        self.command("Input.dispatchMouseEvent", session=True, type="mouseMoved", x=x, y=y)

    def tap(self, x: float, y: float) -> None:
        self.command("Input.dispatchTouchEvent", session=True, type="touchStart",
                     touchPoints=[{"x": x, "y": y}])
        self.command("Input.dispatchTouchEvent", session=True, type="touchEnd", touchPoints=[])

    def key(self, key: str, code: str, key_code: int, shift: bool = False) -> None:
        modifiers = 8 if shift else 0
        for kind in ("rawKeyDown", "keyUp"):
            self.command("Input.dispatchKeyEvent", session=True, type=kind, key=key, code=code,
                         windowsVirtualKeyCode=key_code, modifiers=modifiers)

    def exceptions(self) -> list[str]:
        """Uncaught script errors reported so far."""
        return [str(e["params"]["exceptionDetails"].get("exception", {}).get("description")
                    or e["params"]["exceptionDetails"].get("text"))
                for e in self.events if e.get("method") == "Runtime.exceptionThrown"]

    def screenshot(self, target: Path) -> Path:
        import base64

        data = self.command("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)["data"]
        target.write_bytes(base64.b64decode(data))
        return target

    def close(self) -> None:
        try:
            self.command("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
