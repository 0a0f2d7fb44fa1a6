"""Build the documentation as an offline HTML book in _docs/, for machines without quarto.

The Quarto site (`nbdev-docs`) and this book read the same things: the notebooks as nbdev processes them
for the docs (`_proc/`: hidden cells dropped, `show_doc` cells rendered to markdown, front matter made)
and the sidebar in nbs/sidebar.yml. Sphinx with MyST-NB renders each processed notebook from its committed
outputs (nothing is executed) into a page named as on the site (`00_data.ipynb` -> `data.html`), with the
book theme's sidebar in the order of nbs/sidebar.yml: the chapters, then each section of it (the reports).
Links between notebooks (`05_memorization.ipynb#anchor`) and links into the published site
(`https://.../data.html#imagedata`) become links between the book's pages.

    python tools/make_book.py            # process the notebooks, build _docs/, print its index page
    python tools/make_book.py --out DIR  # build elsewhere
"""
import argparse, json, posixpath, re, shutil, sys, tempfile, warnings
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, PROC, CONF = ROOT / 'nbs', ROOT / '_proc', ROOT / 'book'
# quarto cell options that decide what a reader sees, as MyST-NB cell tags
TAGS = {('echo', 'false'): 'remove-input', ('output', 'false'): 'remove-output', ('include', 'false'): 'remove-cell'}
IMAGES = {'.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp'}
LINK = re.compile(r'(\]\()(<?)([^)\s>]+)(>?(?:\s+"[^"]*")?\))')


def sidebar_entries(sidebar: Path) -> list:
    "[(section title or None, [notebook path or glob relative to nbs/])] in the order of nbs/sidebar.yml."
    import yaml
    contents = yaml.safe_load(sidebar.read_text())['website']['sidebar']['contents']
    entries, top = [], []
    for item in contents:
        if isinstance(item, str): top.append(item)
        elif isinstance(item, dict) and 'section' in item:
            items = item.get('contents', [])
            entries.append((item['section'], [items] if isinstance(items, str) else list(items)))
        else: sys.exit(f'{sidebar}: a sidebar entry must be a file name or a section, not {item!r}')
    return [(None, top)] + entries


def sidebar_pages(sidebar: Path, nbs: Path) -> list:
    "[(section title or None, [notebook path relative to nbs/])]: the globs of nbs/sidebar.yml expanded, in sorted order."
    found = sorted(p.relative_to(nbs).as_posix() for p in nbs.rglob('*.ipynb') if not _skipped(p.relative_to(nbs)))
    pages = []
    for section, items in sidebar_entries(sidebar):
        names = []
        for item in items:
            matches = [f for f in found if fnmatch(f, item)] if any(c in item for c in '*?[') else [item]
            names += [m for m in matches if m not in names]
        pages.append((section, names))
    return pages


def _skipped(rel: Path) -> bool: return any(part.startswith(('_', '.')) for part in rel.parts)


def unlisted(pages: list, nbs: Path) -> list:
    "Notebooks in `nbs` (not in _ or . folders) that the sidebar does not list."
    listed = {name for _, names in pages for name in names}
    return sorted(p.relative_to(nbs).as_posix() for p in nbs.rglob('*.ipynb')
                  if not _skipped(p.relative_to(nbs)) and p.relative_to(nbs).as_posix() not in listed)


def front_matter(nb: dict) -> dict:
    "The YAML front matter of a processed notebook's first (raw) cell."
    import yaml
    cell = nb['cells'][0] if nb['cells'] else {}
    text = ''.join(cell.get('source', ''))
    if cell.get('cell_type') != 'raw' or not text.startswith('---'): return {}
    return yaml.safe_load(text.strip().strip('-')) or {}


def page_name(rel: str, meta: dict) -> str:
    "A notebook's page in the book, without suffix, as on the site: `00_data.ipynb` -> `data`."
    folder = Path(rel).parent
    return (folder / Path(meta.get('output-file', Path(rel).with_suffix('.html').name)).with_suffix('')).as_posix()


def relative(target: str, source: str) -> str:
    "The path of page `target` seen from page `source` (both relative to the book's root)."
    return posixpath.relpath(target, posixpath.dirname(source) or '.')


def link_target(url: str, here: str, names: dict, site: str):
    "(page, anchor) that a link in notebook `here` means, for links to notebooks, to pages of the site or to site pages by name."
    path, _, anchor = url.partition('#')
    if site and (path + '/').startswith(site + '/'): path, here = path[len(site):].lstrip('/') or 'index.html', ''
    elif re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', path) or not path.endswith(('.ipynb', '.html', '/')): return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(here), path + ('index.html' if path.endswith('/') else '')))
    if path.endswith('.ipynb'): name = names.get(path)
    else: name = {v + '.html': v for v in names.values()}.get(path)
    return None if name is None else (name, anchor)


def rewrite_links(text: str, page: str, here: str, names: dict, anchors: dict, site: str, dropped: list) -> str:
    """Point the markdown links of notebook `here` at notebooks (`05_memorization.ipynb#x`) and at pages of the
    published site (`{site}/data.html#x`) to the book's page for them (`memorization.ipynb#x`, seen from `page`).
    An anchor that no heading of the page has is dropped (the link leads to the page) and noted in `dropped`."""
    def swap(m):
        found = link_target(m[3], here, names, site)
        if found is None: return m[0]
        name, anchor = found
        if anchor and anchor not in anchors[name]: dropped.append(f'{here} -> {name}.html#{anchor}'); anchor = ''
        return f"{m[1]}{m[2]}{relative(name, page)}.ipynb{'#' + anchor if anchor else ''}{m[4]}"
    return LINK.sub(swap, text)


def cell_options(source: str) -> tuple:
    "({option: value} of a code cell's `#| key: value` lines, the source without them)."
    options, kept = {}, []
    for line in source.splitlines(keepends=True):
        m = re.match(r'^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$', line)
        if m: options[m[1]] = m[2].lower()
        elif not line.startswith('#|'): kept.append(line)
    return options, ''.join(kept).strip('\n')


def asis_markdown(cell: dict) -> str:
    """The markdown a cell with `#| output: asis` puts into the page, as quarto splices it in: for `show_doc`, a
    heading, the signature and the docstring (nbdev's leading rule dropped: a heading already separates entries)."""
    text = '\n\n'.join(''.join(o['data']['text/markdown']) for o in cell.get('outputs', []) if 'text/markdown' in o.get('data', {}))
    text = re.sub(r'\A\s*---\s*\n', '', text)
    return re.sub(r'^(\[source\]\([^)]*\))\{[^}]*\}', r'\1{.source-link target="_blank"}', text, flags=re.M)  # styled by book.css


def heading_id(title: str) -> str:
    "A heading's identifier as quarto (pandoc) and nbdev's links spell it: `ImageData.subset` -> `imagedata.subset`."
    return re.sub(r'[^\w\-. ]', '', title.strip().lower()).replace(' ', '-')


def heading_ids(markdown: str) -> list:
    "The identifiers of the headings in `markdown`, as MyST makes them with `heading_id` (text and code of the title)."
    from markdown_it import MarkdownIt
    tokens = MarkdownIt('commonmark').parse(markdown)
    return [heading_id(''.join(c.content for c in (inline.children or []) if c.type in ('text', 'code_inline')))
            for opening, inline in zip(tokens, tokens[1:]) if opening.type == 'heading_open']


def book_cells(nb: dict, page: str) -> list:
    "A processed notebook's cells as MyST-NB reads them: title and summary first, cell options as tags, asis output as markdown."
    meta = front_matter(nb)
    head = [f"# {meta.get('title', Path(page).name)}"] + ([f"{{.description}}\n{meta['description']}"] if meta.get('description') else [])
    cells = [_markdown('\n\n'.join(head), 'title')]
    for i, cell in enumerate(nb['cells'][1:] if meta else nb['cells']):
        source = ''.join(cell['source'])
        if cell['cell_type'] == 'markdown': cells.append(_markdown(source, cell.get('id', f'md{i}'), cell.get('attachments')))
        elif cell['cell_type'] == 'code':
            options, code = cell_options(source)
            asis = options.get('output') == 'asis'
            tags = [t for (k, v), t in TAGS.items() if options.get(k) == v]
            if not (asis and 'remove-input' in tags):
                cells.append(dict(cell_type='code', id=cell.get('id', f'code{i}'), metadata=dict(tags=tags) if tags else {},
                                  source=code, execution_count=cell.get('execution_count'), outputs=[] if asis else cell.get('outputs', [])))
            if asis and 'remove-output' not in tags and 'remove-cell' not in tags:
                cells.append(_markdown(asis_markdown(cell), cell.get('id', f'code{i}') + '-asis'))
    return cells  # raw cells are quarto's; the book has no use for them


def _markdown(source: str, id: str, attachments=None) -> dict:
    return dict(cell_type='markdown', id=id, metadata={}, source=source, **(dict(attachments=attachments) if attachments else {}))


def book_notebook(nb: dict, page: str) -> dict:
    "A processed notebook as the book's page `page` (links not yet rewritten)."
    book = dict(nbformat=4, nbformat_minor=5, cells=book_cells(nb, page),
                metadata={'kernelspec': nb['metadata'].get('kernelspec', dict(name='python3', display_name='Python 3', language='python')),
                          'language_info': nb['metadata'].get('language_info', dict(name='python'))})  # and no widget state
    return book


def toctrees(pages: list, names: dict) -> str:
    "The index page's hidden toctrees: the book theme's sidebar, one caption per sidebar section."
    blocks = []
    for section, rels in pages:
        docs = [names[r] for r in rels if names.get(r) not in (None, 'index')]
        if docs: blocks.append('```{toctree}\n:hidden:\n:caption: ' + (section or 'Chapters') + '\n\n' + '\n'.join(docs) + '\n```')
    return '\n\n'.join(blocks)


def book_source(proc: Path, pages: list, src: Path, site: str) -> dict:
    "Write the book's sources into `src` from the processed notebooks in `proc`; {notebook: page}."
    rels = [r for _, names in pages for r in names]
    missing = [r for r in rels if not (proc / r).exists()]
    if missing: sys.exit(f'nbs/sidebar.yml lists notebooks that are not there: {", ".join(missing)}')
    nbs = {r: json.loads((proc / r).read_text()) for r in rels}
    names = {r: page_name(r, front_matter(nb)) for r, nb in nbs.items()}
    if 'index' not in names.values(): sys.exit('nbs/sidebar.yml must list index.ipynb, the book\'s first page')
    books = {r: book_notebook(nb, names[r]) for r, nb in nbs.items()}
    anchors = {names[r]: set(heading_ids('\n\n'.join(c['source'] for c in b['cells'] if c['cell_type'] == 'markdown'))) for r, b in books.items()}
    dropped = []
    for r, book in books.items():
        for cell in book['cells']:
            if cell['cell_type'] == 'markdown': cell['source'] = rewrite_links(cell['source'], names[r], r, names, anchors, site, dropped)
        if names[r] == 'index': book['cells'].append(_markdown(toctrees(pages, names), 'sidebar'))
        dest = src / (names[r] + '.ipynb')
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(book))
    if dropped: print('links to a heading that is not there (they lead to the top of the page):\n  ' + '\n  '.join(dropped))
    for f in proc.rglob('*'):  # pictures the prose shows (`![...](images/x.png)`), at the same place beside the pages
        if f.suffix.lower() in IMAGES and not _skipped(f.relative_to(proc)):
            (src / f.relative_to(proc)).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, src / f.relative_to(proc))
    return names


def process_notebooks(nbs: Path = NBS, n_workers: int = 0):
    "nbdev's processing of the notebooks for the docs into _proc/ (what `nbdev-proc-nbs` does, less its quarto install)."
    from nbdev.serve import proc_nbs
    return proc_nbs(str(nbs), n_workers=n_workers)


def site_url(nbs: Path = NBS) -> str:
    import yaml
    return (yaml.safe_load((nbs / 'nbdev.yml').read_text()).get('website', {}).get('site-url') or '').rstrip('/')


def _replace(out: Path, html: Path):
    "Put the built book at `out`, replacing an earlier build of the docs there (and nothing else)."
    if out.exists():
        if not (out.is_dir() and (not any(out.iterdir()) or (out / '.buildinfo').exists() or (out / 'site_libs').exists())):
            sys.exit(f'{out} exists and is not a build of the docs: choose another --out')
        shutil.rmtree(out)
    shutil.move(str(html), str(out))


def build(out: Path, proc: Path = PROC, nbs: Path = NBS, sidebar: Path | None = None, check: bool = True, quiet: bool = True) -> Path:
    "Build the book from the processed notebooks in `proc` into `out`; the path of its index page."
    from sphinx.cmd.build import build_main
    sidebar = sidebar or nbs / 'sidebar.yml'
    pages = sidebar_pages(sidebar, nbs)
    if check and (extra := unlisted(pages, nbs)):
        sys.exit(f'{", ".join(extra)} not in {sidebar}: add each to the sidebar, where the site and the book take their order')
    with tempfile.TemporaryDirectory() as tmp:
        src, html = Path(tmp) / 'src', Path(tmp) / 'html'  # MyST-NB writes images beside the output folder: keep them in tmp
        book_source(proc, pages, src, site_url(nbs))
        args = ['-b', 'html', '-c', str(CONF), '-d', str(Path(tmp) / 'doctrees'), '-j', '1'] + (['-q'] if quiet else [])
        with warnings.catch_warnings():  # the renderers' notices to each other about coming Sphinx versions
            warnings.simplefilter('ignore', DeprecationWarning); warnings.simplefilter('ignore', PendingDeprecationWarning)
            if build_main(args + [str(src), str(html)]) != 0: sys.exit('the book did not build: see the errors above')
        _replace(out, html)
    return out / 'index.html'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=ROOT / '_docs', help='folder to write the book into')
    parser.add_argument('--no-proc', action='store_true', help='use _proc/ as it is, without processing the notebooks again')
    parser.add_argument('--workers', type=int, default=0, help='processes for nbdev\'s processing of the notebooks (0: this one)')
    args = parser.parse_args()
    if not args.no_proc: process_notebooks(n_workers=args.workers)
    index = build(args.out.resolve())
    print(f'the offline book is at {index}')


if __name__ == '__main__':
    main()
