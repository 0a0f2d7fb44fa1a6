"""Sphinx configuration of the offline book that tools/make_book.py builds from the processed notebooks."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))

project = 'sslmem'
author = 'sslmem developers'
html_title = 'sslmem'

extensions = ['myst_nb']
root_doc = 'index'
exclude_patterns = ['**.ipynb_checkpoints']

# the committed outputs are the book: nothing is executed
nb_execution_mode = 'off'
# show_doc's markdown (and any markdown output) is parsed with the same MyST extensions as the prose
nb_render_markdown_format = 'myst'
# no widget scripts from a CDN: the book is read offline, and committed notebooks keep no widget state
nb_ipywidgets_js = {}
nb_merge_streams = True
myst_enable_extensions = ['attrs_inline', 'attrs_block', 'colon_fence', 'dollarmath', 'strikethrough', 'tasklist']
myst_heading_anchors = 6
# headings get the identifiers quarto (pandoc) and nbdev's links give them: `data.html#imagedata.subset` works in both
myst_heading_slug_func = 'make_book.heading_id'

html_theme = 'sphinx_book_theme'
html_theme_options = {
    'home_page_in_toc': True,
    'show_toc_level': 2,
    'navigation_with_keys': False,
    'repository_url': 'https://github.com/sslmem/sslmem',
    'use_repository_button': False,
    'use_download_button': False,  # the book's pages are made from the notebooks; nbs/ holds the sources
}
html_static_path = ['_static']
html_css_files = ['book.css']
html_show_sourcelink = False
html_copy_source = False
