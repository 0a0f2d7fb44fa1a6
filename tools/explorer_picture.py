"""Make nbs/images/explorer.png: the explorer widget as a user sees it in JupyterLab, after clicking an image.

Widgets do not render in static pages, so the explorer's chapter shows this picture instead. The script
starts JupyterLab on this machine only (127.0.0.1, a random token, fresh settings), opens a notebook that
shows `Explorer(run)`, runs it in headless Chromium, clicks the first thumbnail's button and photographs
the cell's output: the controls, the grid and the detail pane. Rerun it whenever the widget changes:

    python tools/explorer_picture.py                 # a small run of its own (about a minute on 2 cores)
    python tools/explorer_picture.py --run sslmem-run   # the folder `make demo` wrote
"""
import argparse, json, os, secrets, socket, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import Browser, BrowserError  # noqa: E402

BIN = Path(sys.executable).parent
PICTURE = ROOT / 'nbs' / 'images' / 'explorer.png'
# a small run whose grid and scores look like a real one: 400 digits, 20 epochs, 8 views
SMALL_RUN = ['--limit', '400', '--epochs', '20', '--n-views', '8', '--width', '16', '--seed', '0']
# JupyterLab asks nothing and fetches nothing: no news, no update checks, the notebook's kernel started without a question
SETTINGS = {'@jupyterlab/apputils-extension/notification.jupyterlab-settings': {'fetchNews': 'false', 'checkForUpdates': False},
            '@jupyterlab/notebook-extension/tracker.jupyterlab-settings': {'autoStartDefaultKernel': True}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def small_run(out: Path) -> Path:
    "Write a small run with `sslmem run` into `out`."
    subprocess.run([str(BIN / 'sslmem'), 'run', '--out', str(out), *SMALL_RUN, '--no-progress'], check=True,
                   env=dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1')))
    return out


def notebook(run: Path, page_size: int) -> dict:
    "A one-cell notebook that shows the explorer on `run`, as a user would type it."
    code = f"from sslmem.explore import Explorer\nExplorer({str(run)!r}, page_size={page_size})"
    return dict(nbformat=4, nbformat_minor=5, metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python')),
                cells=[dict(cell_type='code', id='explorer', metadata={}, source=code, execution_count=None, outputs=[])])


def start_lab(root: Path, home: Path, port: int, token: str) -> subprocess.Popen:
    "JupyterLab serving `root` on 127.0.0.1 only, with its settings and workspaces in `home`."
    for name, value in SETTINGS.items():
        (home / 'settings' / name).parent.mkdir(parents=True, exist_ok=True)
        (home / 'settings' / name).write_text(json.dumps(value))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(home / 'settings'), JUPYTERLAB_WORKSPACES_DIR=str(home / 'workspaces'),
               JUPYTER_CONFIG_DIR=str(home / 'config'), JUPYTER_RUNTIME_DIR=str(home / 'runtime'),
               OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    options = ['--no-browser', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}', '--ServerApp.port_retries=0',
               f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', '--LabApp.news_url=None',
               '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.extension_manager=readonly']
    if os.geteuid() == 0: options.append('--allow-root')  # containers and CI run as root
    with open(home / 'lab.log', 'w') as log:
        return subprocess.Popen([str(BIN / 'jupyter'), 'lab', *options], env=env, stdout=subprocess.DEVNULL, stderr=log)


def wait_for_lab(lab: subprocess.Popen, port: int, token: str, timeout: float = 180):
    "Return once JupyterLab answers on `port`."
    import urllib.error, urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.poll() is not None: raise RuntimeError('JupyterLab stopped before it served a page')
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=5): return
        except (urllib.error.URLError, ConnectionError): time.sleep(0.5)
    raise TimeoutError(f'JupyterLab did not answer within {timeout:.0f} s')


OUTPUT = "document.querySelector('.jp-Cell-outputArea')"
IMAGES_LOADED = f"""(() => {{ const o = {OUTPUT}; if (!o) return false;
  const grid = [...o.querySelectorAll('.widget-gridbox img')];
  return grid.length > 0 && grid.every(i => i.complete && i.naturalWidth > 0) ? grid.length : false; }})()"""
DETAIL_LOADED = f"""(() => {{ const i = {OUTPUT}.querySelector('.widget-output img');
  return !!i && i.complete && i.naturalWidth > 0; }})()"""


PROMPT = "document.querySelector('.jp-Notebook .jp-Cell .jp-InputPrompt').textContent.trim()"


def run_cell(b: Browser, tries: int = 6):
    "Select the notebook's first cell and press the toolbar's run button until the cell runs (the kernel may still be starting)."
    for _ in range(tries):
        if b.evaluate("!!document.querySelector('.jp-Dialog')"):  # a question about the kernel: take JupyterLab's proposal
            b.click("document.querySelector('.jp-Dialog .jp-mod-accept')"); time.sleep(2)
        b.click("document.querySelector('.jp-Notebook .jp-Cell .jp-InputPrompt')")
        b.click("document.querySelector('.jp-NotebookPanel-toolbar [data-command=\"notebook:run-cell-and-select-next\"]')")
        try: return b.wait_until(f"/\\[[*0-9]+\\]/.test({PROMPT})", timeout=15)
        except BrowserError: continue
    raise BrowserError(f'the cell did not run after {tries} presses of the run button')


def photograph(url: str, picture: Path, page_size: int, width: int = 1240, height: int = 1500):
    "Open the notebook at `url`, run its cell, click the first thumbnail's button and save the output area as a PNG."
    with Browser(width, height, timeout=120) as b:
        b.open(url)
        b.wait_until("document.querySelector('.jp-Notebook .jp-Cell') && "
                     "[...document.querySelectorAll('.jp-Notebook-ExecutionIndicator, .jp-KernelStatus')].some(e => /idle/i.test(e.getAttribute('data-status') || e.textContent))",
                     timeout=180)
        run_cell(b)
        shown = b.wait_until(IMAGES_LOADED, timeout=300)
        if shown != page_size: raise BrowserError(f'the grid shows {shown} images, not {page_size}')
        b.click(f"{OUTPUT}.querySelector('.widget-gridbox button')")
        b.wait_until(DETAIL_LOADED, timeout=300)
        b.evaluate("document.activeElement && document.activeElement.blur(); true")  # no focus ring on the clicked button,
        b.call('Input.dispatchMouseEvent', session=True, type='mouseMoved', x=1, y=1)  # and no hover shadow
        time.sleep(1)  # let the layout settle after the picture arrives
        box = b.evaluate(f"(() => {{ const r = {OUTPUT}.getBoundingClientRect(); return [r.x, r.y + window.scrollY, r.width, r.height]; }})()")
        b.screenshot(picture, clip=dict(x=box[0], y=box[1], width=box[2], height=box[3]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--run', type=Path, help='a folder written by `sslmem run` (default: make a small run)')
    parser.add_argument('--out', type=Path, default=PICTURE, help='where to write the PNG')
    parser.add_argument('--page-size', type=int, default=16, help='thumbnails in the grid')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='explorer-picture-') as tmp:
        tmp = Path(tmp)
        run = args.run.resolve() if args.run else small_run(tmp / 'run')
        (tmp / 'lab').mkdir()
        (tmp / 'lab' / 'explorer.ipynb').write_text(json.dumps(notebook(run, args.page_size)))
        port, token = free_port(), secrets.token_hex(16)
        lab = start_lab(tmp / 'lab', tmp, port, token)
        try:
            wait_for_lab(lab, port, token)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            photograph(f'http://127.0.0.1:{port}/lab/tree/explorer.ipynb?token={token}', args.out, args.page_size)
        except (BrowserError, RuntimeError, TimeoutError):
            print((tmp / 'lab.log').read_text()[-3000:], file=sys.stderr); raise
        finally:
            lab.terminate(); lab.wait(timeout=30)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
