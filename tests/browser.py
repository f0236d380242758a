"""Headless Chromium driven through chromedriver's W3C WebDriver HTTP API with urllib (no selenium).

`make browser` installs Debian's chromium and chromium-driver. Chromium resolves no host name (every page must
work offline); the driver listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> tuple[str, str] | None:
    """(browser, chromedriver) paths, or None when either is missing."""
    browser = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists()
                                              else None)
    return (browser, driver) if browser and driver else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One chromedriver process and one headless session; use as a context manager."""

    def __init__(self, browser: str, driver: str, size: tuple[int, int] = (1280, 1400), timeout: float = 120):
        self.port = _free_port()
        self.proc = subprocess.Popen([driver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.session = None
        try:
            self._wait_ready(20)
            args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    f"--window-size={size[0]},{size[1]}", "--host-resolver-rules=MAP * ~NOTFOUND"]
            caps = {"browserName": "chrome", "goog:chromeOptions": {"binary": browser, "args": args},
                    "timeouts": {"script": int(timeout * 1000), "pageLoad": int(timeout * 1000)}}
            self.session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})["sessionId"]
        except Exception:
            self.close()
            raise

    def _wait_ready(self, seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromedriver exited with {self.proc.returncode}")
            try:
                if self._call("GET", "/status").get("ready"):
                    return
            except (OSError, RuntimeError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"chromedriver not ready after {seconds:.0f} s")

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            value = json.loads(e.read() or b"{}").get("value") or {}
            raise RuntimeError(f"webdriver {path}: {value.get('error')}: {value.get('message', '')[:300]}") from None

    def _s(self, path: str) -> str:
        return f"/session/{self.session}{path}"

    def get(self, url: str) -> None:
        """Navigate and wait for the load event (every <img> and script of the page loaded or failed)."""
        self._call("POST", self._s("/url"), {"url": url})

    def execute(self, script: str, *args: Any) -> Any:
        """Run a function body in the page; its `return` value comes back as JSON."""
        return self._call("POST", self._s("/execute/sync"), {"script": script, "args": list(args)})

    def execute_async(self, script: str, *args: Any) -> Any:
        """Run a function body that calls arguments[arguments.length - 1](value) when it is done."""
        return self._call("POST", self._s("/execute/async"), {"script": script, "args": list(args)})

    def screenshot(self, path: str | Path) -> Path:
        """Save the viewport as a PNG."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._call("GET", self._s("/screenshot"))))
        return path

    def close(self) -> None:
        if self.session is not None:
            try:
                self._call("DELETE", self._s(""))
            except (OSError, RuntimeError):
                pass
            self.session = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
