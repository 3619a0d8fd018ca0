"""How accession names are normalised for search."""

from __future__ import annotations

import re
import unicodedata

_DROP = re.compile(r"[\W_]+", re.UNICODE)


def search_key(name: str) -> str:
    """Normalise a name for search: case-folded, accents and punctuation removed.

    Examples
    --------
    >>> search_key("IR 64"), search_key("ir-64"), search_key("Zhongshuang No.11")
    ('ir64', 'ir64', 'zhongshuangno11')
    >>> search_key("龙井43号")
    '龙井43号'
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _DROP.sub("", text.casefold())


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix``.

    Used as ``key >= prefix AND key < bound``: an index range on any engine
    whose collation is byte order (SQLite's BINARY, PostgreSQL's "C").
    """
    return prefix + "\U0010ffff"
