"""Check the built documentation site as a person would see it, in headless Chromium.

    python tools/check_docs_render.py [--site docs/_build/html] [--out DIR]

Serves the built site over http on 127.0.0.1 (a free port) and opens, in headless
Chromium (Debian's package, ``chromium``), the index page and one gallery page. Each
fails the check (exit status 1, one line per failure) if:

- its main content shows no text, or no title (a blank page), or
- one of its images is missing or broken (``naturalWidth == 0`` once loaded), or it
  has none (the index shows the gallery's thumbnails, a gallery page its figures).

The page is inspected from a checker page served beside the site: it loads the page in
a same-origin iframe, waits for its images and writes a JSON verdict into its own DOM,
which ``chromium --headless --dump-dom`` prints. Then a screenshot of the gallery page
(``--out``/gallery.png, beside index.png) must look like a page with a figure: enough
non-white pixels, and a block of coloured ones, which the theme alone does not draw.
"""

import argparse
import functools
import html
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

import numpy as np
from matplotlib.image import imread

PAGES = {  # page -> the fewest images it must show
    "index.html": 1,
    "auto_examples/plot_lecture_three_points.html": 1,
}
SCREENSHOT = {"index": "index.html",
              "gallery": "auto_examples/plot_lecture_three_points.html"}
CHECKED_SCREENSHOT = "gallery"
MIN_TEXT = 200          # characters of visible text in the page's main content
MIN_INK = 0.03          # share of the screenshot's pixels that are not white
MIN_FIGURE = 200        # a figure: this many rows of this many coloured pixels
WINDOW = (1280, 2400)   # the browser window, CSS pixels
CHECKER = "__render_check__.html"
CHECKER_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>render check</title>
<iframe id="page" width="%d" height="%d"></iframe>
<pre id="verdict"></pre>
<script>
const page = new URLSearchParams(location.search).get("page");
const frame = document.getElementById("page");
const report = (verdict) => {
  document.getElementById("verdict").textContent = JSON.stringify(verdict);
};
const settled = (img) => img.complete ? Promise.resolve() : new Promise((done) => {
  img.addEventListener("load", done);
  img.addEventListener("error", done);
});
frame.addEventListener("load", async () => {
  const doc = frame.contentDocument;
  const images = Array.from(doc.images);
  images.forEach((img) => { img.loading = "eager"; });  // none waits to be scrolled to
  const timeout = new Promise((done) => setTimeout(done, 10000));
  await Promise.race([Promise.all(images.map(settled)), timeout]);
  // text counts where a person could see it: laid out, not hidden, not transparent
  const seen = (el) => el && el.getClientRects().length > 0
    && el.checkVisibility({visibilityProperty: true, opacityProperty: true});
  const walker = doc.createTreeWalker(doc.querySelector("main") || doc.body,
                                      NodeFilter.SHOW_TEXT);
  let text = 0;
  while (walker.nextNode()) {
    const words = walker.currentNode.textContent.trim();
    if (words && seen(walker.currentNode.parentElement)) text += words.length;
  }
  const title = doc.querySelector("h1");
  report({
    page: page,
    title: seen(title) ? title.innerText.trim() : "",
    text: text,
    images: images.length,
    broken: images.filter((img) => !img.complete || img.naturalWidth === 0)
                  .map((img) => img.getAttribute("src")),
  });
});
frame.src = page;
</script>
""" % WINDOW


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """The site's files, and the checker page at /__render_check__.html."""

    def do_GET(self):
        if urllib.parse.urlsplit(self.path).path == "/" + CHECKER:
            body = CHECKER_PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            super().do_GET()

    def log_message(self, format, *args):
        pass


def serve(site):
    """An http server of ``site`` on 127.0.0.1, on a free port, in a thread."""
    handler = functools.partial(SiteHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def chromium(browser, profile, *args):
    """Run headless Chromium; its stdout. Chromium's own stderr chatter is dropped
    unless it fails."""
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--virtual-time-budget=20000",
               f"--window-size={WINDOW[0]},{WINDOW[1]}", *args]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {run.returncode}:\n"
                           f"{run.stderr[-2000:]}")
    return run.stdout


def check_page(browser, profile, base, page, min_images):
    """The failures of ``page`` seen through the checker page (empty if none)."""
    url = f"{base}/{CHECKER}?page=/{urllib.parse.quote(page)}"
    dom = chromium(browser, profile, "--dump-dom", url)
    start, end = dom.find('<pre id="verdict">'), dom.find("</pre>")
    text = dom[start + len('<pre id="verdict">'):end] if start >= 0 else ""
    if not text.strip():
        return [f"{page}: no verdict from the checker page (did it load?)"]
    verdict = json.loads(html.unescape(text))
    print(f"{page}: title {verdict['title']!r}, {verdict['text']} characters of text, "
          f"{verdict['images']} images, {len(verdict['broken'])} broken")
    failures = []
    if not verdict["title"] or verdict["text"] < MIN_TEXT:
        failures.append(f"{page}: blank: title {verdict['title']!r}, "
                        f"{verdict['text']} characters of text (at least {MIN_TEXT})")
    if verdict["broken"]:
        failures.append(f"{page}: images missing or broken: {verdict['broken']}")
    if verdict["images"] < min_images:
        failures.append(f"{page}: {verdict['images']} images, at least {min_images} "
                        "expected")
    return failures


def check_screenshot(path):
    """The failures of the screenshot at ``path``: blank, or without a figure.

    A figure is a block of colour: at least ``MIN_FIGURE`` pixel rows with that many
    coloured pixels each. The theme's coloured parts (links, code, the download
    buttons) are thin: the gallery page with its figure's file deleted has 95 such
    rows, with the figure 376."""
    pixels = imread(path)[..., :3]
    ink = float(np.mean(pixels.min(axis=2) < 0.9))
    coloured = pixels.max(axis=2) - pixels.min(axis=2) > 0.25
    rows = int(np.sum(coloured.sum(axis=1) >= MIN_FIGURE))
    print(f"{path}: {pixels.shape[1]}x{pixels.shape[0]}, {ink:.1%} of its pixels "
          f"not white, {rows} rows with {MIN_FIGURE} coloured pixels or more")
    failures = []
    if ink < MIN_INK:
        failures.append(f"{path}: blank: {ink:.1%} of the pixels are not white "
                        f"(at least {MIN_INK:.0%})")
    if rows < MIN_FIGURE:
        failures.append(f"{path}: no figure: {rows} rows with {MIN_FIGURE} coloured "
                        f"pixels or more (at least {MIN_FIGURE})")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=Path("docs/_build/html"),
                        help="the built site (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("docs/_build/render-check"),
                        help="where the screenshots go (default: %(default)s)")
    parser.add_argument("--chromium", default="chromium",
                        help="the browser to run (default: %(default)s)")
    args = parser.parse_args(argv)

    browser = shutil.which(args.chromium)
    if browser is None:
        sys.exit(f"{args.chromium} not found; on Debian: apt-get install -y chromium")
    missing = [page for page in PAGES if not (args.site / page).is_file()]
    if missing:
        sys.exit(f"not built: {', '.join(str(args.site / page) for page in missing)}")
    args.out.mkdir(parents=True, exist_ok=True)

    server = serve(args.site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    failures = []
    try:
        with tempfile.TemporaryDirectory() as profile:
            for page, min_images in PAGES.items():
                failures += check_page(browser, profile, base, page, min_images)
            for name, page in SCREENSHOT.items():
                path = (args.out / f"{name}.png").resolve()
                chromium(browser, profile, f"--screenshot={path}", f"{base}/{page}")
                if name == CHECKED_SCREENSHOT:
                    failures += check_screenshot(path)
                else:
                    print(f"{path}: written")
    finally:
        server.shutdown()
    if failures:
        print("the site does not render as it should:\n  " + "\n  ".join(failures),
              file=sys.stderr)
        return 1
    print("the site renders: text and every image on each page, a figure in the "
          "screenshot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
