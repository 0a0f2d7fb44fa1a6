"""Make README.md from nbs/index.ipynb without quarto.

`nbdev-readme` renders the index notebook with quarto, which is not installed everywhere. This does the
same job with nbdev's own processing of a notebook for the docs (hidden cells dropped, directives
stripped, front matter made) and nbconvert's markdown exporter. With `--check` it writes nothing and
fails when README.md is out of date, which CI runs.
"""
import argparse, posixpath, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_text(index: Path = ROOT / 'nbs' / 'index.ipynb') -> str:
    "README.md's text: the processed index notebook as markdown, its front matter as title and summary."
    import nbformat
    from fastcore.xtras import working_directory
    from nbconvert import MarkdownExporter
    from nbdev.frontmatter import nb_frontmatter
    from nbdev.processors import FilterDefaults
    from fastcore.nbio import read_nb, nb2dict

    with working_directory(index.parent):
        nb = read_nb(index)
        FilterDefaults()(nb)
    meta = nb_frontmatter(nb)
    cells = [c for c in nb2dict(nb)['cells'] if c['cell_type'] != 'raw']  # the raw cell is quarto's front matter
    for c in cells:
        c.pop('idx_', None); c.pop('directives_', None); c['metadata'] = {}
        if isinstance(c['source'], list): c['source'] = ''.join(c['source'])
        for o in c.get('outputs', []):
            for k, v in o.get('data', {}).items():
                if isinstance(v, list): o['data'][k] = ''.join(v)
            if isinstance(o.get('text'), list): o['text'] = ''.join(o['text'])
    notebook = nbformat.from_dict(dict(nbformat=4, nbformat_minor=5, metadata={'language_info': {'name': 'python'}}, cells=cells))
    body, _ = MarkdownExporter().from_notebook_node(notebook)
    head = f"# {meta['title']}\n\n> {meta['description']}\n" if 'title' in meta else ''
    text = head + '\n' + from_root(body.strip(), index.parent.relative_to(ROOT)) + '\n'
    return '\n'.join(line.rstrip() for line in text.splitlines()) + '\n'


def from_root(markdown: str, folder: Path) -> str:
    """Relative links of a notebook in `folder` as README.md at the root needs them: `00_data.ipynb` -> `nbs/00_data.ipynb`.

    The index notebook links to chapters by their notebooks; quarto turns those links into the site's pages
    (`data.html`), the offline book into its pages, and here they lead to the notebooks in a clone."""
    def fix(m):
        target = m[2]
        if re.match(r'^([a-zA-Z][a-zA-Z0-9+.-]*:|#|/)', target): return m[0]
        return f"{m[1]}{posixpath.normpath(posixpath.join(folder.as_posix(), target))}{m[3]}"
    return re.sub(r'(\]\()([^)\s]+)(\))', fix, markdown)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='fail if README.md differs from the index notebook')
    args = parser.parse_args()
    text, readme = readme_text(), ROOT / 'README.md'
    if args.check:
        if not readme.exists() or readme.read_text() != text:
            sys.exit('README.md is out of date with nbs/index.ipynb: run `make readme` and commit it')
        print('README.md agrees with nbs/index.ipynb')
    else:
        readme.write_text(text)
        print(f'wrote {readme}')


if __name__ == '__main__':
    main()
