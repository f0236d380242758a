"""The rendered notebooks as a static site that reads offline: `make html`, or

    python -m e3dlib.site [--out build/html] [--root .]

Every committed `notebooks/NN_*.ipynb` becomes `NN_*.html` (nbconvert's lab template; figures are data URIs
already), and `index.html` lists them in order with the titles and descriptions of README.md's "Notebooks" list.
Math is typeset by a local MathJax 2 copied into `<out>/mathjax/` (HTML-CSS output with its STIX-Web fonts, which
browsers load from file:// too), so no page loads anything from another machine; hyperlinks in the prose stay as
written.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
# MathJax 2.7.9 as the PyPI package jupyter-server-mathjax ships it (`make mathjax`, which `make html` and `make test`
# run, installs it without its server dependencies): one combined configuration and the STIX-Web fonts only, which
# the page has to ask for.
MATHJAX_PACKAGE = "jupyter_server_mathjax"
MATHJAX_COMBINED = "TeX-AMS-MML_HTMLorMML-full"
MATHJAX_URL = f"mathjax/MathJax.js?config={MATHJAX_COMBINED},Safe"
# Read before MathJax.js starts (it collects these blocks at start-up); nbconvert's own block adds tex2jax's
# $...$ / $$...$$ delimiters and queues the typesetting.
MATHJAX_CONFIG = """MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
  "fast-preview": {disabled: true},
  messageStyle: "none"
});"""

TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
""" + MATHJAX_CONFIG + """
</script>
{{ mathjax(resources.mathjax_url) }}
{%- endblock html_head_js_mathjax -%}
{%- block body_header -%}
{{ super() }}
<nav class="e3d-nav" style="padding: 0.5em 1em; font-family: sans-serif">
{%- for label, href in resources.e3d_nav %} <a href="{{ href }}">{{ label }}</a>{% endfor %}
</nav>
{%- endblock body_header -%}
"""


class SiteError(Exception):
    """The site cannot be built (README list, a notebook or MathJax missing); the message names the fix. Exit 2."""


@dataclass(frozen=True)
class Entry:
    """One item of README's Notebooks list: `N. [title](notebooks/NN_x.ipynb) — description`."""

    title: str
    path: str
    description: str


ITEM = re.compile(r"^\d+\.\s+\[(?P<title>[^\]]+)\]\((?P<path>[^)\s]+\.ipynb)\)\s*(?:—|--)\s*(?P<desc>.*)$")


def readme_entries(readme: Path) -> list[Entry]:
    """The items of README's `## Notebooks` section, each description joined from its continuation lines."""
    if not readme.is_file():
        raise SiteError(f"{readme}: not found; the site takes each notebook's description from its 'Notebooks' list")
    lines = readme.read_text(encoding="utf-8").splitlines()
    start = next((i for i, ln in enumerate(lines) if re.match(r"##\s+Notebooks\b", ln)), None)
    if start is None:
        raise SiteError(f"{readme}: no '## Notebooks' section; add one listing '1. [01 · title](notebooks/01_x.ipynb)"
                        " — description'")
    entries: list[tuple[str, str, list[str]]] = []
    for n, ln in enumerate(lines[start + 1:], start + 2):
        if ln.startswith("#"):
            break
        if re.match(r"^\d+\.\s", ln):
            m = ITEM.match(ln)
            if m is None:
                raise SiteError(f"{readme}:{n}: a Notebooks item must read "
                                "'N. [NN · title](notebooks/NN_x.ipynb) — description'")
            entries.append((m["title"], m["path"], [m["desc"]]))
        elif ln.startswith((" ", "\t")) and ln.strip() and entries:
            entries[-1][2].append(ln.strip())
    if not entries:
        raise SiteError(f"{readme}: the 'Notebooks' section lists no notebook")
    return [Entry(t, p, " ".join(d).strip()) for t, p, d in entries]


def find_mathjax() -> Path:
    """The folder holding MathJax.js, its combined configuration and the STIX-Web fonts."""
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)  # the package's __init__ needs jupyter_server: not imported
    for p in (spec.submodule_search_locations or []) if spec else []:
        d = Path(p) / "static"
        if (d / "config" / f"{MATHJAX_COMBINED}.js").is_file() and (d / "fonts/HTML-CSS/STIX-Web/woff").is_dir():
            return d
    raise SiteError("MathJax not found: run `make mathjax` (pip install --no-deps jupyter-server-mathjax==0.2.6)")


def copy_mathjax(mathjax: Path, out: Path) -> Path:
    """Copy MathJax (without its translations, English is built in) to out/mathjax; returns that folder."""
    dest = out / "mathjax"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(mathjax, dest, ignore=shutil.ignore_patterns("localization", "*.py"))
    return dest


def _exporter():
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(extra_loaders=[jinja2.DictLoader({"e3d_site.html.j2": TEMPLATE})],
                        template_name="lab", template_file="e3d_site.html.j2", mathjax_url=MATHJAX_URL,
                        embed_images=True)


def render_notebook(ipynb: Path, out_html: Path, title: str, nav: list[tuple[str, str]]) -> None:
    """Write `ipynb` as a static page with local MathJax and `nav` links ([(label, href)]) above it."""
    import nbformat

    nb = nbformat.read(ipynb, as_version=4)
    resources = {"metadata": {"name": title, "path": str(ipynb.parent)}, "e3d_nav": nav}
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    out_html.write_text(body, encoding="utf-8")


def render_index(entries: list[tuple[Entry, str]], out_html: Path) -> None:
    """Write the index page: each (entry, page href) as a numbered link with its description."""
    from nbconvert.filters import markdown2html

    items = "\n".join(f'<li><a href="{html.escape(href)}">{html.escape(e.title)}</a> — '
                      f"{_inline(markdown2html(e.description))}</li>" for e, href in entries)
    out_html.write_text(f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>e3d-lab · notebooks</title>
<style>
body {{ font-family: sans-serif; max-width: 52em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }}
li {{ margin-bottom: 0.8em; }}
code {{ background: #f3f3f3; padding: 0 0.2em; }}
</style>
<script type="text/x-mathjax-config">
{MATHJAX_CONFIG}
MathJax.Hub.Config({{tex2jax: {{inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], processEscapes: true}}}});
</script>
<script src="{MATHJAX_URL}"></script>
</head>
<body>
<h1>e3d-lab notebooks</h1>
<p>E3D (ICLR 2023) reproduced, verified and extended; read the notebooks in order. Their outputs come from the
last <code>make reproduce</code>.</p>
<ol>
{items}
</ol>
</body>
</html>
""", encoding="utf-8")


def _inline(fragment: str) -> str:
    """A one-paragraph HTML fragment without its <p> wrapper."""
    s = fragment.strip()
    return s[3:-4].strip() if s.startswith("<p>") and s.endswith("</p>") and s.count("<p>") == 1 else s


def build_site(root: str | Path = ".", out: str | Path = "build/html") -> list[Path]:
    """Render every rendered notebook of root/notebooks and the index into `out`; returns the pages written."""
    root, out = Path(root), Path(out)
    mathjax = find_mathjax()
    readme = root / "README.md"
    by_path = {e.path: e for e in readme_entries(readme)}
    notebooks = sorted((root / "notebooks").glob(NOTEBOOK_GLOB))
    if not notebooks:
        raise SiteError(f"{root / 'notebooks'}: no rendered notebook ({NOTEBOOK_GLOB}); run make reproduce")
    rel = [nb.relative_to(root).as_posix() for nb in notebooks]
    for r in rel:
        if r not in by_path:
            raise SiteError(f"{readme}: {r} is not in the 'Notebooks' list; add "
                            f"'N. [{Path(r).name[:2]} · title]({r}) — description'")
    for p in by_path:
        if p not in rel:
            raise SiteError(f"{readme}: the 'Notebooks' list links {p}, which does not exist; render it "
                            "(make reproduce) or fix the link")
    out.mkdir(parents=True, exist_ok=True)
    copy_mathjax(mathjax, out)
    pages = [out / f"{nb.stem}.html" for nb in notebooks]
    for i, (nb, page, r) in enumerate(zip(notebooks, pages, rel, strict=True)):
        nav = [("↑ all notebooks", "index.html")]
        if i > 0:
            nav.append((f"← {by_path[rel[i - 1]].title}", pages[i - 1].name))
        if i + 1 < len(pages):
            nav.append((f"→ {by_path[rel[i + 1]].title}", pages[i + 1].name))
        render_notebook(nb, page, by_path[r].title, nav)
    render_index([(by_path[r], page.name) for r, page in zip(rel, pages, strict=True)], out / "index.html")
    return [out / "index.html", *pages]


def main(argv: list[str] | None = None) -> int:
    """`python -m e3dlib.site [--root R] [--out O]`: render the notebooks as static HTML; prints the page count and
    time; exit 0, or 2 with one line on stderr."""
    p = argparse.ArgumentParser(prog="python -m e3dlib.site",
                                description="Render the committed notebooks as static HTML with local MathJax.")
    p.add_argument("--root", default=".", help="the repository (README.md, notebooks/) (default: .)")
    p.add_argument("--out", default="build/html", help="folder to write the site into (default: build/html)")
    args = p.parse_args(argv)
    t = time.time()
    try:
        pages = build_site(args.root, args.out)
    except SiteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: cannot write {e.filename or args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"{args.out}/index.html + {len(pages) - 1} notebooks ({time.time() - t:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
