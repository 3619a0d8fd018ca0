"""How accession names are normalised for search.

One definition, as a polars expression, serves the bulk import (millions of
names at once) and the query side (one name), so both always agree.
"""

from __future__ import annotations

import polars as pl


def search_key_expr(expr: pl.Expr) -> pl.Expr:
    """Lower-case, accents and every non-alphanumeric character removed."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[\W_]+", "")
    )


def search_key(name: str) -> str:
    """Normalise a name for search: case-folded, accents and punctuation removed.

    Examples
    --------
    >>> search_key("IR 64"), search_key("ir-64"), search_key("Zhongshuang No.11")
    ('ir64', 'ir64', 'zhongshuangno11')
    >>> search_key("Café Noir"), search_key("龙井43号")
    ('cafenoir', '龙井43号')
    """
    return pl.select(search_key_expr(pl.lit(name, dtype=pl.String))).item()


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix``.

    Used as ``key >= prefix AND key < bound``: an index range on any engine
    whose collation is byte order (SQLite's BINARY, PostgreSQL's "C").
    """
    return prefix + "\U0010ffff"
