"""Small server-generated SVG charts (no JavaScript).

The accession page's trait positions are drawn by hand; the species
dashboard's PCA, histograms and accuracy bars by matplotlib's SVG backend,
inlined in the page, with text left as text and ``<title>`` tooltips.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class TraitPosition:
    """One accession's mean for a variable, and the range of means in its species."""

    variable: str
    unit: str
    value: float
    low: float
    high: float
    centre: float  # the species' mean of accession means
    n_accessions: int


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def trait_position_svg(rows: list[TraitPosition], *, width: int = 720) -> Markup:
    """A dot per trait on the species' range of accession means.

    Each row shows a grey bar from the lowest to the highest accession mean of
    the species, a tick at the species' average, and a dot at this accession.
    """
    if not rows:
        return Markup("")
    label_w, pad, row_h, top = 230, 70, 34, 8
    x0, x1 = label_w, width - pad
    height = top * 2 + row_h * len(rows)
    parts = [
        f'<svg class="trait-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Trait means of this accession within the range of its species" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, r in enumerate(rows):
        y = top + i * row_h + row_h / 2
        span = r.high - r.low

        def pos(v: float, span: float = span, r: TraitPosition = r) -> float:
            return x0 + (x1 - x0) * ((v - r.low) / span if span > 0 else 0.5)

        unit = f" {r.unit}" if r.unit else ""
        title = (
            f"{r.variable}: {_fmt(r.value)}{unit} (species range {_fmt(r.low)}–{_fmt(r.high)}, "
            f"average {_fmt(r.centre)}, {r.n_accessions} accessions)"
        )
        parts.append(f"<g><title>{escape(title)}</title>")
        parts.append(
            f'<text x="{label_w - 10}" y="{y + 4:.1f}" text-anchor="end" class="lbl">'
            f"{escape(r.variable)}</text>"
        )
        parts.append(
            f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" class="range"/>'
            f'<text x="{x0}" y="{y - 8:.1f}" class="tick" text-anchor="start">{_fmt(r.low)}</text>'
            f'<text x="{x1}" y="{y - 8:.1f}" class="tick" text-anchor="end">{_fmt(r.high)}</text>'
        )
        cx = pos(r.centre)
        parts.append(
            f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y - 7:.1f}" y2="{y + 7:.1f}" class="avg"/>'
        )
        vx = pos(r.value)
        parts.append(f'<circle cx="{vx:.1f}" cy="{y:.1f}" r="6" class="dot"/>')
        parts.append(
            f'<text x="{width - 4}" y="{y + 4:.1f}" text-anchor="end" class="val">'
            f"{escape(_fmt(r.value))}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------------------
# Charts drawn by matplotlib's SVG backend (species dashboard)

#: Colours of groups, in order (colour-blind safe, Okabe-Ito); grey for the rest.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")  # fmt: skip
OTHER_COLOUR = "#999999"
_GREEN = "#2f6f3e"


@dataclass(frozen=True)
class PcaPoint:
    """One sample on the PCA plot: its coordinates, colour group and tooltip."""

    x: float
    y: float
    group: str
    label: str


@contextmanager
def _figure(width: float, height: float, font_size: float) -> Iterator[tuple[Figure, Axes]]:
    """A bare figure and axes; text stays text in the SVG (browsers draw CJK labels),
    so matplotlib's warnings about glyphs its own font lacks are silenced."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with warnings.catch_warnings(), rc_context({"svg.fonttype": "none", "font.size": font_size}):
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig = Figure(figsize=(width, height))
        ax = fig.add_subplot()
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        yield fig, ax


def _svg(fig: Figure, *, css_class: str, label: str) -> str:
    """The figure as inline SVG markup (no XML prolog), with a class and an accessible name."""
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    head = f'<svg class="{css_class}" role="img" aria-label="{escape(label)}" '
    return svg.replace("<svg ", head, 1)


def pca_svg(
    points: Sequence[PcaPoint],
    *,
    explained: tuple[float, float] = (0.0, 0.0),
    max_groups: int = len(PALETTE),
    width: float = 7.0,
) -> Markup:
    """PC1 against PC2, a colour per group, each point with a ``<title>`` tooltip.

    Groups beyond the ``max_groups`` largest are drawn grey as ``Other``.
    """
    if not points:
        return Markup("")
    sizes: dict[str, int] = {}
    for p in points:
        sizes[p.group] = sizes.get(p.group, 0) + 1
    named = sorted(sizes, key=lambda g: (-sizes[g], g))[:max_groups]
    colour = {g: PALETTE[i] for i, g in enumerate(named)}
    groups = [*named, "Other"] if len(sizes) > len(named) else named
    by_group: dict[str, list[PcaPoint]] = {g: [] for g in groups}
    for p in points:
        by_group[p.group if p.group in colour else "Other"].append(p)
    with _figure(width, width * 0.62, 9) as (fig, ax):
        for i, g in enumerate(groups):
            pts = by_group[g]
            sc = ax.scatter(
                [p.x for p in pts], [p.y for p in pts], s=16, alpha=0.8, linewidths=0.4,
                edgecolors="white", color=colour.get(g, OTHER_COLOUR), label=f"{g} ({len(pts)})",
            )  # fmt: skip
            sc.set_gid(f"pca-g{i}")
        ax.set_xlabel(f"PC1 ({explained[0]:.1%})")
        ax.set_ylabel(f"PC2 ({explained[1]:.1%})")
        ax.legend(loc="best", fontsize=8, frameon=False)
        svg = _svg(fig, css_class="pca-chart", label="Principal components of samples")

    # matplotlib writes one <use> per point, in order, in the collection's <g id="pca-gN">
    def titled(m: re.Match[str]) -> str:
        it = iter(by_group[groups[int(m.group(1))]])

        def one(u: re.Match[str]) -> str:
            p = next(it, None)
            return (
                u.group(0) if p is None else f"{u.group(1)}><title>{escape(p.label)}</title></use>"
            )

        return re.sub(r"(<use [^>]*?)\s*/>", one, m.group(0))

    return Markup(re.sub(r'<g id="pca-g(\d+)">.*?</g>', titled, svg, flags=re.S))


def histogram_svg(
    edges: Sequence[float],
    counts: Sequence[int],
    *,
    mean: float | None = None,
    unit: str = "",
    label: str = "",
    width: float = 3.6,
) -> Markup:
    """Bars of ``counts`` between ``edges`` (one more edge than counts); a dashed line at ``mean``."""
    if not counts:
        return Markup("")
    with _figure(width, width * 0.6, 8) as (fig, ax):
        widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
        ax.bar(list(edges[:-1]), list(counts), width=widths, align="edge", color=_GREEN,
               edgecolor="white", linewidth=0.5)  # fmt: skip
        if mean is not None:
            ax.axvline(mean, color="#333333", lw=1, ls="--")
        ax.set_xlabel(unit)
        ax.set_ylabel("accessions")
        return Markup(_svg(fig, css_class="hist-chart", label=label or "Histogram"))


def accuracy_svg(
    runs: Sequence[tuple[str, dict[str, float]]],
    *,
    trait_labels: dict[str, str] | None = None,
    width: float = 7.0,
) -> Markup:
    """Cross-validated r per trait (a group of bars), one colour per model run.

    ``runs`` holds ``(run label, {trait: r})``; traits are shown by ``trait_labels``.
    """
    traits = sorted({t for _, rs in runs for t in rs})
    if not traits:
        return Markup("")
    labels = trait_labels or {}
    lowest = min(0.0, *(v for _, rs in runs for v in rs.values()))
    with _figure(width, max(2.2, 0.3 * len(traits) * len(runs) ** 0.5 + 1.2), 8) as (fig, ax):
        step = 0.8 / len(runs)
        for i, (name, rs) in enumerate(runs):
            ys = [k - 0.4 + (i + 0.5) * step for k in range(len(traits))]
            vals = [rs.get(t, float("nan")) for t in traits]
            ax.barh(ys, vals, height=step * 0.9, color=PALETTE[i % len(PALETTE)], label=name)
        ax.set_yticks(range(len(traits)), [labels.get(t, t) for t in traits])
        ax.invert_yaxis()
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_xlabel("cross-validated r")
        ax.set_xlim(lowest - 0.05, 1.0)
        ax.legend(loc="lower right", fontsize=7, frameon=False)
        return Markup(
            _svg(fig, css_class="accuracy-chart", label="Cross-validated accuracy per trait")
        )
