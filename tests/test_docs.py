"""The docs as a reader gets them without quarto: the offline book that `make docs` builds (tools/make_book.py),
opened page by page in headless Chromium (Debian's package): every page loads, every image is loaded, every
internal link leads to a page and heading that exist, nothing is fetched from the network, and the sidebar
holds every chapter and report in reading order."""
import json
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import make_book  # noqa: E402
from browser import CHROMIUM, Browser  # noqa: E402

# what a page shows a reader: its title, its images (loaded or not), its links, its ids and the book's sidebar
PAGE = '''(() => ({
  title: document.title,
  images: [...document.images].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  sidebar: [...document.querySelectorAll('nav.bd-links a.reference')].map(a => a.href),
  captions: [...document.querySelectorAll('nav.bd-links p.caption')].map(p => p.textContent.trim()),
  external: [...document.querySelectorAll('script[src], link[rel=stylesheet][href], img[src], iframe[src]')]
              .map(e => e.src || e.href).filter(u => !u.startsWith('file:') && !u.startsWith('data:')),
}))()'''


def needs_chromium():
    if CHROMIUM is None:
        if os.environ.get('CI'): pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip('needs Chromium (Debian: apt-get install chromium)')


@pytest.fixture(scope='module')
def proc():
    "nbdev's processing of every notebook for the docs, in _proc/ (as `make docs` does it)."
    make_book.process_notebooks()
    return ROOT / '_proc'


@pytest.fixture(scope='module')
def book(proc, tmp_path_factory):
    needs_chromium()
    return make_book.build(tmp_path_factory.mktemp('docs') / 'book').parent


def visit(book: Path) -> dict:
    "{page path in the book: what the browser shows of it} for every HTML page of the book."
    pages = sorted(p for p in book.rglob('*.html') if not p.relative_to(book).parts[0].startswith('_'))
    with Browser() as browser:
        seen = {}
        for p in pages:
            browser.open(p.as_uri())
            seen[p.relative_to(book).as_posix()] = browser.evaluate(PAGE)
    return seen


def in_book(url: str, book: Path) -> tuple:
    "(path relative to the book, anchor) of a file:// link, or None for a link that leaves the book."
    parts = urlsplit(url)
    if parts.scheme != 'file': return None
    path = Path(unquote(parts.path))
    try: return path.relative_to(book).as_posix(), unquote(parts.fragment)
    except ValueError: return path.as_posix(), unquote(parts.fragment)  # a file link outside the book: broken


def broken_links(seen: dict, book: Path) -> list:
    "'page -> link' for each internal link whose file, or whose heading in that page, is not there."
    broken = []
    for page, shown in seen.items():
        for url in shown['links']:
            target = in_book(url, book)
            if target is None: continue
            path, anchor = target
            if path.endswith('/'): path += 'index.html'
            if not (book / path).is_file() or Path(path).is_absolute(): broken.append(f'{page} -> {url}')
            elif anchor and path.endswith('.html') and anchor not in seen.get(path, {}).get('ids', [anchor]): broken.append(f'{page} -> {url}')
    return broken


def reading_order(nbs: Path) -> list:
    "The book's pages in reading order, from the notebooks themselves: index, the numbered chapters, then the reports."
    from nbdev.config import nbpath2html
    chapters = sorted(p.name for p in nbs.glob('*.ipynb') if p.name != 'index.ipynb' and not p.name.startswith(('_', '.')))
    reports = sorted(f'reports/{p.name}' for p in (nbs / 'reports').glob('*.ipynb')) if (nbs / 'reports').is_dir() else []
    return [nbpath2html(n).as_posix() for n in ['index.ipynb'] + chapters + reports]


def sidebar_problems(shown: dict, book: Path, expected: list) -> list:
    "How the sidebar of a page differs from the expected pages in reading order."
    listed = [in_book(url, book)[0] for url in shown['sidebar']]
    problems = [f'{page} is missing from the sidebar' for page in expected if page not in listed]
    problems += [f'{page} is in the sidebar but is no chapter or report' for page in listed if page not in expected]
    if not problems and listed != expected: problems.append(f'the sidebar is out of reading order: {listed}')
    if any(p.startswith('reports/') for p in expected) and 'Reports' not in shown['captions']: problems.append('no Reports heading in the sidebar')
    return problems


def test_processed_notebooks(proc):
    nbs = ROOT / 'nbs'
    notebooks = sorted(p.relative_to(nbs).as_posix() for p in nbs.rglob('*.ipynb') if not make_book._skipped(p.relative_to(nbs)))
    processed = sorted(p.relative_to(proc).as_posix() for p in proc.rglob('*.ipynb'))
    assert set(notebooks) <= set(processed)
    for name in notebooks:
        page = json.loads((proc / name).read_text())
        front = ''.join(page['cells'][0]['source'])
        assert page['cells'][0]['cell_type'] == 'raw' and 'title:' in front and 'description:' in front, name
        sources = [''.join(c['source']) for c in page['cells'] if c['cell_type'] == 'code']
        assert not any(s.lstrip().startswith('#| hide') for s in sources), f'{name}: hidden cells reach the docs'


@pytest.fixture(scope='module')
def seen(book): return visit(book)


def test_every_page_loads_with_its_images(book, seen):
    pages = {p for p in seen if not p.startswith(('genindex', 'search'))}
    assert pages == set(reading_order(ROOT / 'nbs'))  # one page per notebook, named as on the site
    for page, shown in seen.items():
        assert shown['title'].endswith('sslmem'), page
        assert all(loaded for _, loaded in shown['images']), (page, [src for src, loaded in shown['images'] if not loaded])
        assert shown['external'] == [], (page, shown['external'])  # the book reads offline
    images = sum(len(s['images']) for s in seen.values())
    assert images >= 40 and seen['data.html']['images']  # the notebooks' figures are in the book
    assert any(src.endswith('explorer.png') for src, _ in seen['explore.html']['images'])  # and pictures the prose shows


def test_every_internal_link_resolves(book, seen):
    assert broken_links(seen, book) == []
    # links between notebooks and into the API docs arrive at their heading
    links = {in_book(u, book) for u in seen['memorization.html']['links']} - {None}
    assert any(page == 'data.html' and anchor for page, anchor in links)


def test_sidebar_holds_every_chapter_in_order(book, seen):
    expected = reading_order(ROOT / 'nbs')
    for page in ('index.html', expected[-1]):
        assert sidebar_problems(seen[page], book, expected) == []


def test_api_docs_in_the_book(book, seen):
    data = seen['data.html']
    assert {'imagedata', 'imagedata.subset', 'make_splits'} <= set(data['ids'])  # show_doc's entries, with quarto's anchors
    assert any('github.com/sslmem/sslmem/blob/main/sslmem/data.py' in u for u in data['links'])  # and their source links


def small_nbs(tmp_path, proc, sidebar: list) -> tuple:
    "(nbs, proc) folders for a three-page book with one report, whose sidebar lists `sidebar` and the reports."
    nbs, small = tmp_path / 'nbs', tmp_path / 'proc'
    for name in ('index.ipynb', '00_data.ipynb', '01_augment.ipynb'):
        for d, src in ((nbs, ROOT / 'nbs'), (small, proc)):
            d.mkdir(exist_ok=True); shutil.copy(src / name, d / name)
    shutil.copy(ROOT / 'nbs' / 'nbdev.yml', nbs / 'nbdev.yml')
    report = dict(nbformat=4, nbformat_minor=5, metadata={}, cells=[
        dict(cell_type='raw', id='a', metadata={}, source='---\ntitle: A seed sweep\ndescription: One question, ten seeds.\noutput-file: sweep.html\n---\n'),
        dict(cell_type='markdown', id='b', metadata={}, source='The split is [the data chapter\'s](../00_data.ipynb#make_splits).')])
    for d in (nbs, small):
        (d / 'reports').mkdir(); (d / 'reports' / '01_sweep.ipynb').write_text(json.dumps(report))
    (nbs / 'sidebar.yml').write_text('website:\n  sidebar:\n    contents:\n' + ''.join(f'      - {n}\n' for n in sidebar)
                                     + '      - section: Reports\n        contents: reports/*.ipynb\n')
    return nbs, small


def test_a_chapter_missing_from_the_sidebar_fails(tmp_path, proc):
    needs_chromium()
    nbs, small = small_nbs(tmp_path, proc, ['index.ipynb', '00_data.ipynb'])  # 01_augment.ipynb left out
    with pytest.raises(SystemExit, match='01_augment.ipynb not in'):
        make_book.build(tmp_path / 'book', proc=small, nbs=nbs)
    # built all the same, the book's sidebar lacks the chapter, and the browser check says so
    book = make_book.build(tmp_path / 'book', proc=small, nbs=nbs, check=False).parent
    seen = visit(book)
    expected = reading_order(nbs)
    assert expected == ['index.html', 'data.html', 'augment.html', 'reports/sweep.html']
    assert sidebar_problems(seen['index.html'], book, expected) == ['augment.html is missing from the sidebar']
    # the report has its own heading, and its link to a chapter's heading works
    assert 'Reports' in seen['index.html']['captions']
    report_links = [in_book(u, book) for u in seen['reports/sweep.html']['links']]
    assert ('data.html', 'make-splits') in report_links or ('data.html', 'make_splits') in report_links
    assert not [b for b in broken_links(seen, book) if b.startswith('reports/')]


def test_readme_links_work_in_a_clone():
    import re
    text = (ROOT / 'README.md').read_text()
    relative = [t for t in re.findall(r'\]\(([^)\s]+)\)', text) if not re.match(r'^([a-zA-Z][a-zA-Z0-9+.-]*:|#)', t)]
    assert len(relative) >= 12  # the chapters
    assert [t for t in relative if not (ROOT / t.split('#')[0]).is_file()] == []
    index = json.loads((ROOT / 'nbs' / 'index.ipynb').read_text())
    assert '](00_data.ipynb)' in ''.join(''.join(c['source']) for c in index['cells'])  # the site and the book make pages of these
