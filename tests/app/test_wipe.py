"""The wipe component is one self-contained document: nothing is loaded from elsewhere."""

import re

from app.components.wipe import wipe_html


def test_the_wipe_document_loads_nothing_from_outside_and_carries_both_images():
    html = wipe_html(b"\x89PNG-A", b"\x89PNG-B", "sr-plain <a>", "sr-ra", side=300)
    assert not re.search(r"(src|href)=\"(https?:)?//", html)          # no CDN, no remote file
    assert "<script src" not in html
    assert html.count("data:image/png;base64,") == 2
    assert "sr-plain &lt;a&gt;" in html                                 # labels are escaped
    assert 'id="wipe" type="range"' in html and "width:300px" in html
