"""The static site (`make html`): offline pages, checked as files and in headless Chromium (tests/browser.py)."""

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from browser import Browser, find_chromium

from e3dlib.site import MATHJAX_URL, SiteError, build_site, main, readme_entries

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "browser"
CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("E3D_REQUIRE_CHROMIUM"):  # make test installs it first (make browser)
    raise RuntimeError("E3D_REQUIRE_CHROMIUM is set but chromium/chromedriver are not on PATH: run make browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium and chromedriver not found (make browser "
                                    "installs Debian's chromium and chromium-driver)")

# Attributes through which a page loads something (an <a href> is a link a reader may follow, not a load).
LOADS = {"script": "src", "img": "src", "link": "href", "iframe": "src", "source": "src", "video": "src",
         "audio": "src", "embed": "src", "object": "data", "image": "href"}
REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\[A-Za-z]{2,}|\\\(|\\\[")


class Tags(HTMLParser):
    """Every start tag as (name, attrs), the text of <style> blocks, and the text of each <li>."""

    def __init__(self, text: str):
        super().__init__()
        self.tags, self.styles, self.items, self._in = [], [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)
        if tag == "li":
            self.items.append("")

    def handle_endtag(self, tag):
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag):]

    def handle_data(self, data):
        if self._in and self._in[-1] == "style":
            self.styles.append(data)
        if "li" in self._in:
            self.items[-1] += data


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    build_site(ROOT, out)
    return out


def rendered():
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_index_lists_every_rendered_notebook_in_order_with_the_readme_descriptions(site):
    entries = {e.path: e for e in readme_entries(ROOT / "README.md")}
    index = Tags((site / "index.html").read_text())
    links = [a["href"] for t, a in index.tags if t == "a"]
    assert links == [f"{nb.stem}.html" for nb in rendered()] and len(links) >= 7
    assert all((site / href).is_file() for href in links)
    for item, nb in zip(index.items, rendered(), strict=True):
        e = entries[f"notebooks/{nb.name}"]
        plain = re.sub(r"[*`]", "", f"{e.title} — {e.description}")
        assert " ".join(item.split()) == " ".join(plain.split())


def test_pages_load_nothing_from_another_machine_and_embed_their_figures(site):
    for page in [site / "index.html", *(site / f"{nb.stem}.html" for nb in rendered())]:
        text = page.read_text()
        tags = Tags(text)
        loads = [a.get(LOADS[t]) or "" for t, a in tags.tags if t in LOADS]
        assert not [u for u in loads if REMOTE.match(u)], page.name
        assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//|@import\s+['\"]?(https?:)?//", " ".join(tags.styles))
        assert "cdnjs" not in text and "unpkg" not in text, page.name
        scripts = [a["src"] for t, a in tags.tags if t == "script" and "src" in a]
        assert MATHJAX_URL in scripts and (site / MATHJAX_URL.split("?")[0]).is_file()
        if page.name != "index.html":
            nb = nbformat.read(ROOT / "notebooks" / page.with_suffix(".ipynb").name, as_version=4)
            figures = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
            imgs = [a.get("src", "") for t, a in tags.tags if t == "img"]
            assert figures > 0 and len(imgs) == figures and all(s.startswith("data:image/png;base64,") for s in imgs)


def _tiny_root(tmp_path, readme_items):
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Tiny\n\nInline $x^2$.")])
    nbformat.write(nb, tmp_path / "notebooks" / "01_tiny.ipynb")
    (tmp_path / "README.md").write_text("# x\n\n## Notebooks\n\nIntro.\n\n" + readme_items + "\n\n## Next\n\n3. no\n")
    return tmp_path


def test_readme_list_is_parsed_and_its_problems_are_one_line_naming_the_fix(tmp_path, capsys):
    root = _tiny_root(tmp_path, "1. [01 · Tiny](notebooks/01_tiny.ipynb) — one *tiny*\n   notebook `x`.")
    (e,) = readme_entries(root / "README.md")
    assert (e.title, e.path, e.description) == ("01 · Tiny", "notebooks/01_tiny.ipynb", "one *tiny* notebook `x`.")
    pages = build_site(root, root / "out")
    assert [p.name for p in pages] == ["index.html", "01_tiny.html"]
    assert "<em>tiny</em>" in pages[0].read_text() and "Inline $x^2$" in pages[1].read_text()
    cases = {
        "Intro only.": "no notebook",
        "1. [01 · Tiny](notebooks/01_tiny.ipynb) without a dash": "must read 'N. [NN · title]",
        "1. [02 · Other](notebooks/02_other.ipynb) — gone": "notebooks/01_tiny.ipynb is not in the 'Notebooks' list",
    }
    for items, message in cases.items():
        (root / "README.md").write_text(f"## Notebooks\n\n{items}\n")
        with pytest.raises(SiteError, match=re.escape(message)):
            build_site(root, root / "out")
    (root / "README.md").write_text("## Notebooks\n\n1. [01 · Tiny](notebooks/01_tiny.ipynb) — a\n"
                                    "2. [02 · Other](notebooks/02_other.ipynb) — gone\n")
    with pytest.raises(SiteError, match="links notebooks/02_other.ipynb, which does not exist"):
        build_site(root, root / "out")
    (root / "README.md").write_text("# no list\n")
    assert main(["--root", str(root), "--out", str(root / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "README.md: no '## Notebooks' section" in err[0]


# --- in the browser ------------------------------------------------------------------------------------------

WAIT_FOR_MATHJAX = """const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.Hub) { done("MathJax did not load"); return; }
(function wait() {
  if (MathJax.isReady) MathJax.Hub.Queue(() => done("typeset")); else setTimeout(wait, 50);
})();"""

REPORT = """const skip = new Set(["SCRIPT", "STYLE", "PRE", "CODE", "TEXTAREA", "NOSCRIPT"]);
const isMath = e => [...e.classList].some(c => c.startsWith("MathJax") || c.startsWith("MJX"));
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode(n) {
  for (let e = n.parentElement; e; e = e.parentElement) if (skip.has(e.tagName) || isMath(e)) return 2;
  return 1;
}});
let text = "";
while (walker.nextNode()) text += walker.currentNode.data + "\\n";
const jax = window.MathJax && MathJax.Hub ? MathJax.Hub.getAllJax() : [];
return {
  math: document.querySelectorAll(".MathJax, .MathJax_Display").length,
  jax: jax.length,
  tex_errors: jax.filter(j => j.root && j.root.texError).map(j => j.originalText),
  text: text,
  images: [...document.images].map(i => [i.src.slice(0, 40), i.complete && i.naturalWidth]),
  fonts: [...document.fonts].filter(f => f.status === "error").map(f => f.family),
  links: [...document.querySelectorAll("a[href]")].map(a => a.getAttribute("href")),
};"""


def open_page(browser: Browser, page: Path, screenshot: str | None = None) -> dict:
    """Load `page`, wait until MathJax has typeset everything, and report what a reader sees."""
    browser.get(page.as_uri())
    status = browser.execute_async(WAIT_FOR_MATHJAX)
    report = {"status": status, **browser.execute(REPORT)}
    if screenshot:
        browser.execute("const m = document.querySelectorAll('.MathJax_Display'); if (m.length) "
                        "m[Math.min(2, m.length - 1)].scrollIntoView({block: 'center'});")
        browser.screenshot(SCREENSHOTS / screenshot)
    return report


@pytest.fixture(scope="module")
def browser():
    with Browser(*CHROMIUM) as b:
        yield b


def _untypeset(text: str) -> list[str]:
    return RAW_TEX.findall(text)


def math_in_markdown(ipynb: Path) -> int:
    """How many $...$ and $$...$$ formulas the markdown cells hold (code spans left out)."""
    nb = nbformat.read(ipynb, as_version=4)
    src = re.sub(r"`[^`]*`", "", "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))
    display = re.findall(r"\$\$.+?\$\$", src, re.S)
    return len(display) + len(re.findall(r"\$[^$]+\$", re.sub(r"\$\$.+?\$\$", "", src, flags=re.S)))


@needs_chromium
def test_notebook_page_typesets_its_math_offline_and_loads_every_figure(site, browser):
    page = site / "01_derive_entropy_bound.html"
    r = open_page(browser, page, screenshot="01_derive_entropy_bound.png")
    assert r["status"] == "typeset"
    assert r["jax"] == math_in_markdown(ROOT / "notebooks" / page.with_suffix(".ipynb").name) >= 30
    assert r["math"] >= r["jax"] and r["tex_errors"] == []
    assert _untypeset(r["text"]) == [] and "Theorem 1" in r["text"]
    assert len(r["images"]) >= 4 and all(w and w > 0 for _, w in r["images"]), r["images"]
    # Only the TeX fonts of the visually hidden MathML for screen readers are not shipped (and MathJax's
    # deliberately blank probe font); the STIX-Web fonts the visible math is drawn with all loaded.
    assert all(f.startswith("MathJax_") for f in r["fonts"]), r["fonts"]
    assert "index.html" in r["links"] and (SCREENSHOTS / "01_derive_entropy_bound.png").stat().st_size > 10_000


@needs_chromium
def test_index_page_links_every_notebook(site, browser):
    r = open_page(browser, site / "index.html", screenshot="index.png")
    assert r["status"] == "typeset" and _untypeset(r["text"]) == []
    assert r["links"] == [f"{nb.stem}.html" for nb in rendered()]
    assert "Deriving the entropy bound" in r["text"]


@needs_chromium
def test_the_checks_see_a_page_whose_math_needs_the_network(tmp_path, browser):
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(r"Inline $\log D^2(x)$ and $$\sum_l K_l$$")])
    page = tmp_path / "cdn.html"
    page.write_text(HTMLExporter().from_notebook_node(nb)[0])  # nbconvert's default: MathJax from a CDN
    r = open_page(browser, page)
    assert r["status"] == "MathJax did not load" and r["math"] == 0
    assert "$\\log D^2(x)$" in _untypeset(r["text"])
