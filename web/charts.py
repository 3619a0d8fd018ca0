"""Small server-generated SVG charts (no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape


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
