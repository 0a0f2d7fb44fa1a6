"""Drive headless Chromium (Debian's `chromium` package) over the DevTools protocol, with nothing but the standard library.

One browser serves many pages: `--remote-debugging-pipe` gives the protocol on file descriptors 3 (commands in)
and 4 (replies and events out), as JSON messages ended by a NUL byte. The docs test loads every page of the
offline book in it; tools/explorer_picture.py drives JupyterLab in it.

    with Browser() as b:
        b.open('file:///.../index.html')
        b.evaluate('document.title')
"""
import base64, fcntl, json, os, select, shutil, tempfile, time

CHROMIUM = next((shutil.which(n) for n in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(n)), None)
# headless, offline: no background networking, a fresh profile, no sandbox (tests may run as root)
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--hide-scrollbars', '--mute-audio']


class BrowserError(RuntimeError): pass


class Browser:
    "A headless Chromium with one tab, driven over a pipe."
    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 60):
        if CHROMIUM is None: raise BrowserError('chromium is not installed (Debian: apt-get install chromium)')
        self.timeout, self.size, self._id, self._events, self._buffer = timeout, (width, height), 0, [], b''
        self._profile = tempfile.TemporaryDirectory(prefix='chromium-')
        to_browser, self._send_fd = os.pipe()
        self._recv_fd, from_browser = os.pipe()
        null = os.open(os.devnull, os.O_WRONLY)
        # the child's ends move above 3 and 4 first, so that placing one cannot overwrite the other
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser, from_browser, null)]
        actions = [(os.POSIX_SPAWN_DUP2, high[0], 3), (os.POSIX_SPAWN_DUP2, high[1], 4),
                   (os.POSIX_SPAWN_DUP2, high[2], 1), (os.POSIX_SPAWN_DUP2, high[2], 2)]
        try:
            self._pid = os.posix_spawn(CHROMIUM, [CHROMIUM, *FLAGS, '--remote-debugging-pipe', f'--user-data-dir={self._profile.name}',
                                                  f'--window-size={width},{height}', 'about:blank'], os.environ, file_actions=actions)
        finally:
            for fd in (to_browser, from_browser, null, *high): os.close(fd)
        target = self.call('Target.createTarget', url='about:blank')['targetId']
        self._session = self.call('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
        for domain in ('Page', 'Runtime'): self.call(f'{domain}.enable', session=True)
        self.call('Emulation.setDeviceMetricsOverride', session=True, width=width, height=height, deviceScaleFactor=1, mobile=False)

    def __enter__(self): return self
    def __exit__(self, *exc): self.close()

    def close(self):
        if self._pid is None: return
        try: self.call('Browser.close')
        except (BrowserError, OSError): os.kill(self._pid, 9)
        os.waitpid(self._pid, 0); self._pid = None
        os.close(self._send_fd); os.close(self._recv_fd); self._profile.cleanup()

    def _read(self, deadline: float) -> dict:
        while b'\0' not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._recv_fd], [], [], left)[0]: raise BrowserError('chromium did not answer in time')
            chunk = os.read(self._recv_fd, 1 << 20)
            if not chunk: raise BrowserError('chromium closed the connection')
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(message)

    def call(self, method: str, session: bool = False, **params) -> dict:
        "Send one DevTools command (to the tab when `session`) and return its result."
        self._id += 1
        message = dict(id=self._id, method=method, params=params, **(dict(sessionId=self._session) if session else {}))
        os.write(self._send_fd, json.dumps(message).encode() + b'\0')
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get('id') == self._id:
                if 'error' in reply: raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get('result', {})
            if 'method' in reply: self._events.append(reply)

    def wait_for(self, event: str, timeout: float | None = None) -> dict:
        "The next event of this name (e.g. 'Page.loadEventFired')."
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, e in enumerate(self._events):
                if e['method'] == event: return self._events.pop(i)
            self._events.append(self._read(deadline))

    def open(self, url: str) -> None:
        "Load `url` in the tab and wait for its load event; BrowserError when it does not load."
        self._events.clear()
        result = self.call('Page.navigate', session=True, url=url)
        if result.get('errorText'): raise BrowserError(f"{url}: {result['errorText']}")
        self.wait_for('Page.loadEventFired')

    def evaluate(self, expression: str, timeout: float | None = None):
        "The value of a JavaScript expression in the page (promises are awaited)."
        result = self.call('Runtime.evaluate', session=True, expression=expression, returnByValue=True, awaitPromise=True,
                           **(dict(timeout=timeout * 1000) if timeout else {}))
        if 'exceptionDetails' in result: raise BrowserError(f"{expression[:80]}: {result['exceptionDetails'].get('text')} "
                                                            f"{result['exceptionDetails'].get('exception', {}).get('description', '')}")
        return result['result'].get('value')

    def wait_until(self, expression: str, timeout: float = 60, every: float = 0.25):
        "Evaluate `expression` until it is truthy; its value."
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value: return value
            if time.monotonic() > deadline: raise BrowserError(f'timed out waiting for: {expression[:120]}')
            time.sleep(every)

    def click(self, element: str) -> None:
        "Click the middle of the element that the JavaScript expression `element` finds, with the mouse, as a user does."
        x, y = self.evaluate(f"(() => {{ const e = {element}; e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();"
                             " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ('mouseMoved', 'mousePressed', 'mouseReleased'):
            self.call('Input.dispatchMouseEvent', session=True, type=kind, x=x, y=y, button='left' if kind != 'mouseMoved' else 'none',
                      clickCount=1 if kind != 'mouseMoved' else 0)

    def screenshot(self, path, clip: dict | None = None) -> None:
        "A PNG of the viewport, or of `clip` (x, y, width, height in CSS pixels of the page)."
        params = dict(format='png', captureBeyondViewport=clip is not None)
        if clip: params['clip'] = dict(clip, scale=1)
        data = self.call('Page.captureScreenshot', session=True, **params)['data']
        with open(path, 'wb') as f: f.write(base64.b64decode(data))
