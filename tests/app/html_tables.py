"""Read the app's static HTML tables (app/components/tables.py) back into frames, with the
standard library's HTML parser: what the page shows, cell by cell."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def read_tables(html: str) -> list[pd.DataFrame]:
    """Every table of ``html`` as a frame of strings: the header row's names as columns and,
    where the header's first cell is empty, each row's first cell as the index."""
    parser = _Tables()
    parser.feed(html)
    frames = []
    for rows in parser.tables:
        header, body = rows[0], rows[1:]
        if header and header[0] == "":
            frames.append(pd.DataFrame([r[1:] for r in body], columns=header[1:],
                                       index=[r[0] for r in body]))
        else:
            frames.append(pd.DataFrame(body, columns=header))
    return frames


def page_tables(at) -> list[pd.DataFrame]:
    """The HTML tables of an AppTest page, in page order."""
    return [frame for element in at.get("html") for frame in read_tables(element.proto.body)]
