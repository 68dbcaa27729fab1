"""Checks of map pages shared by the map tests (``maps/``): what a page loads from elsewhere."""

import re
from html.parser import HTMLParser

from gridplan.maps.layers import VENDOR
from gridplan.maps.layers import _vendor_text


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        self.refs += [v for k, v in attrs if k in ("src", "href") and v is not None]


def outside_refs(html: str, tile_url: str | None = None) -> list[str]:
    """Every reference in the page to something not served by the page's own host.

    Tag ``src``/``href`` attributes must be local paths or data URIs, CSS ``url(...)`` data
    URIs or relative, and any other ``http(s)://`` or ``//host`` text the tile URL. The
    vendored libraries' own source text (licence comments) is left out of the scan.
    """
    for lib, (scripts, sheets) in VENDOR.items():
        for name in scripts + sheets:
            html = html.replace(_vendor_text(lib, name), "")
    parser = _Refs()
    parser.feed(html)
    bad = [r for r in parser.refs if not (r.startswith("/") and not r.startswith("//"))]
    bad = [r for r in bad if not r.startswith("data:")]
    for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", html):
        if u.startswith("data:") or not re.match(r"^(\w+:|//)", u):
            continue
        bad.append(u)
    for u in re.findall(r"(?:https?:)?//[\w.\-]+\.[a-z]{2,}[^\s\"'<>)]*", html):
        if tile_url is None or not u.startswith(tile_url.split("{")[0]):
            bad.append(u)
    return bad
