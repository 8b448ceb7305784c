"""A small W3C WebDriver client (the standard library only) driving Debian's
headless Chromium through Debian's chromedriver: enough for the page tests
to load a page, type, click, read the DOM and take a screenshot.

Chromium runs with a fresh profile in the test's directory, no sandbox (root),
no GPU, nothing in the background (no component updates, sync, first-run,
prefetching), and a proxy that does not exist for anything but loopback, so
it cannot send a packet off the machine. Every wait is bounded; close()
ends the session and stops chromedriver (and Chromium with it)."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def available():
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class WebDriverError(Exception):
    pass


class Browser:
    def __init__(self, workdir, width=1400, height=1000, timeout=30):
        self.dir = workdir
        self.port = _free_port()
        self.log = open(workdir / "chromedriver.log", "wb")
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)   # its own group: Chromium goes with it
        self.session = None
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._call("GET", "/status", timeout=2).get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-default-apps",
                "--disable-domain-reliability", "--dns-prefetch-disable",
                "--disable-dev-shm-usage", "--hide-scrollbars",
                "--proxy-server=127.0.0.1:9",   # loopback bypasses it
                f"--user-data-dir={workdir / 'chromium-profile'}",
                f"--window-size={width},{height}"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
        try:
            v = self._call("POST", "/session", caps, timeout=timeout)
        except Exception:
            self.close()
            raise
        self.session = v["sessionId"]

    # ---- the protocol

    def _call(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                out = json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise WebDriverError(f"{method} {path}: {e.code} {e.read()[:500]!r}")
        return out.get("value", out)

    def _s(self, method, path, body=None, timeout=30):
        return self._call(method, f"/session/{self.session}{path}", body, timeout)

    # ---- what a test does

    def get(self, url):
        self._s("POST", "/url", {"url": url}, timeout=60)

    def find(self, css):
        return self._s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in
                self._s("POST", "/elements", {"using": "css selector", "value": css})]

    def wait_for(self, css, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            found = self.find_all(css)
            if found:
                return found
            if time.monotonic() > deadline:
                raise WebDriverError(f"no element {css!r} after {timeout} s")
            time.sleep(0.1)

    def text(self, el):
        return self._s("GET", f"/element/{el}/text")

    def attr(self, el, name):
        return self._s("GET", f"/element/{el}/attribute/{name}")

    def click(self, el):
        self._s("POST", f"/element/{el}/click", {}, timeout=60)

    def clear(self, el):
        self._s("POST", f"/element/{el}/clear", {})

    def type(self, el, text):
        self._s("POST", f"/element/{el}/value", {"text": text})

    def script(self, js, *args):
        return self._s("POST", "/execute/sync", {"script": js, "args": list(args)})

    def url(self):
        return self._s("GET", "/url")

    def resize(self, width, height):
        self._s("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path, full=True):
        """A PNG of the page; full: the window grown to the whole page first."""
        if full:
            self.resize(1400, 600)
            w, hgt = self.script("return [Math.max(document.documentElement.scrollWidth, 1200),"
                                 " document.documentElement.scrollHeight];")
            self.resize(int(w), int(min(hgt + 120, 6000)))
        png = base64.b64decode(self._s("GET", "/screenshot"))
        path.write_bytes(png)
        return png

    def close(self):
        if self.session is not None:
            try:
                self._s("DELETE", "", timeout=20)
            except Exception:
                pass
            self.session = None
        # chromedriver and whatever Chromium it left: its process group
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
            if sig == signal.SIGTERM:
                try:   # stragglers of the group
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            break
        self.log.close()
