"""The accession page's pedigree drawing: a :class:`~germplasm.queries_dashboard.PedigreeTree` laid out by Graphviz ``dot``.

The graph is written with the ``graphviz`` package (which quotes every
label) and laid out by the ``dot`` program found on ``PATH``, parents above
children, the accession itself highlighted; every node links to its
accession page, and a parent the pedigree records as unknown is drawn as an
``unknown`` node. ``dot`` runs as a subprocess with a time limit (the
package's ``pipe()`` has none): when it is missing, fails or overruns,
:func:`pedigree_svg` returns None and the page shows :func:`pedigree_rows`
as a table instead.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

import graphviz
from markupsafe import Markup

from breedhub.germplasm.queries_dashboard import PedigreeNode, PedigreeTree

__all__ = ["DOT_TIMEOUT_S", "PedigreeRow", "pedigree_rows", "pedigree_svg"]

log = logging.getLogger(__name__)

#: Seconds ``dot`` may take before the page falls back to the table.
DOT_TIMEOUT_S = 5.0
_ROOT_FILL, _NODE_FILL, _LINE = "#2f6f3e", "#eef3ef", "#4a5a4f"


def _label(node: PedigreeNode) -> str:
    return f"{node.accenumb}\n{node.name}" if node.name else node.accenumb


def _graph(tree: PedigreeTree, link: Callable[[int], str], unknown: str) -> graphviz.Digraph:
    g = graphviz.Digraph(
        "pedigree",
        graph_attr={"rankdir": "TB", "bgcolor": "transparent", "nodesep": "0.25",
                    "ranksep": "0.45", "fontname": "Helvetica", "nslimit": "20", "mclimit": "2"},
        node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": _NODE_FILL,
                   "color": _LINE, "fontname": "Helvetica", "fontsize": "10", "target": "_top"},
        edge_attr={"color": _LINE, "arrowsize": "0.6"},
    )  # fmt: skip
    for node in sorted(tree.nodes.values(), key=lambda n: (n.depth, n.accenumb)):
        extra = {"fillcolor": _ROOT_FILL, "fontcolor": "white"} if node.id == tree.root else {}
        title = f"{node.accenumb} {node.name}".strip()
        g.node(f"a{node.id}", _label(node), URL=link(node.id), tooltip=title, **extra)
    for i, (parent, child, role) in enumerate(tree.edges):
        if child not in tree.nodes:
            continue
        style = {"style": "dashed"} if role == "male" else {}
        if parent is None:
            g.node(f"u{i}", unknown, shape="ellipse", style="dashed", fillcolor="white",
                   fontcolor="#777777", tooltip=f"{unknown} ({role})")  # fmt: skip
            g.edge(f"u{i}", f"a{child}", tooltip=role, **style)
        elif parent in tree.nodes:
            g.edge(f"a{parent}", f"a{child}", tooltip=role, **style)
    return g


def pedigree_svg(
    tree: PedigreeTree,
    *,
    link: Callable[[int], str],
    unknown: str = "unknown",
    timeout: float = DOT_TIMEOUT_S,
) -> Markup | None:
    """The pedigree as inline SVG, or None when Graphviz could not draw it.

    Parameters
    ----------
    tree
        What to draw (see :func:`germplasm.queries_dashboard.pedigree_tree`).
    link
        Accession id -> the URL of its page.
    unknown
        The label of an unknown parent (in the page's language).
    timeout
        Seconds ``dot`` may run.

    Returns
    -------
    Markup or None
        The ``<svg>`` element (no XML prolog); links carry both ``href`` and
        ``xlink:href``. None when ``dot`` is not on ``PATH``, fails or times out.
    """
    source = _graph(tree, link, unknown).source
    dot = shutil.which("dot")
    if dot is None:
        log.warning("Graphviz dot is not on PATH: pedigree shown as a table")
        return None
    try:
        proc = subprocess.run(
            [dot, "-Tsvg"], input=source.encode("utf-8"), capture_output=True,
            timeout=timeout, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("Graphviz dot failed (%s): pedigree shown as a table", exc)
        return None
    svg = proc.stdout.decode("utf-8", errors="replace")
    start = svg.find("<svg")
    if start < 0:
        return None
    svg = svg[start:]
    svg = svg.replace("<svg ", '<svg class="pedigree-chart" role="img" aria-label="Pedigree" ', 1)
    # SVG 2 reads href; older agents xlink:href: give both
    svg = re.sub(r'<a xlink:href="([^"]*)"', r'<a href="\1" xlink:href="\1"', svg)
    return Markup(svg)


@dataclass(frozen=True)
class PedigreeRow:
    """One accession of the fallback table, with its parents (None: unknown or not drawn)."""

    node: PedigreeNode
    female: PedigreeNode | None
    male: PedigreeNode | None
    female_unknown: bool
    male_unknown: bool


def pedigree_rows(tree: PedigreeTree) -> list[PedigreeRow]:
    """The tree as rows: every accession with parents in the tree, oldest ancestors last.

    Parameters
    ----------
    tree
        The pedigree.

    Returns
    -------
    list of PedigreeRow
        Progeny first, then the accession, then its ancestors by generation.
    """
    parents: dict[int, dict[str, int | None]] = {}
    for parent, child, role in tree.edges:
        parents.setdefault(child, {})[role] = parent
    rows = []
    for node in sorted(tree.nodes.values(), key=lambda n: (-n.depth, n.accenumb)):
        ps = parents.get(node.id)
        if ps is None:
            continue
        f, m = ps.get("female"), ps.get("male")
        rows.append(
            PedigreeRow(
                node,
                tree.nodes.get(f) if f is not None else None,
                tree.nodes.get(m) if m is not None else None,
                "female" in ps and f is None,
                "male" in ps and m is None,
            )
        )
    return rows
