"""The QC report as one self-contained HTML page, with its plots inlined as PNG."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from breedhub.base.provenance import jsonable
from breedhub.genomics.qc_stats import SAMPLE_REASONS, VARIANT_REASONS, QCReport

_TITLES = {
    "qual": "Site quality (QUAL)",
    "depth": "Mean depth per variant",
    "call_rate": "Call rate per variant",
    "maf": "Minor-allele frequency",
}


# --------------------------------------------------------------------------- HTML


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(report: QCReport) -> dict[str, str]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out: dict[str, str] = {}
    for name, dist in report.distributions.items():
        fig = Figure(figsize=(6, 3))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        x = np.arange(len(dist["bins"]))
        kept = np.asarray(dist["kept"])
        gone = np.asarray(dist["all"]) - kept
        ax.bar(x, kept, color="#4c72b0", label="kept")
        ax.bar(x, gone, bottom=kept, color="#dd8452", label="removed")
        ax.set_xticks(x, dist["bins"], rotation=60, fontsize=7)
        ax.set_ylabel("variants")
        ax.set_title(_TITLES[name], fontsize=10)
        ax.legend(fontsize=8)
        out[name] = _png(fig)
    stats = report.sample_stats
    limits = {
        "missing": report.thresholds["max_sample_missing"],
        "het": report.thresholds["max_sample_het"],
    }
    titles = {"missing": "Sample missingness", "het": "Sample observed heterozygosity"}
    for key, title in titles.items():
        values = np.array([v[key] for v in stats.values()], dtype=np.float64)
        values = values[np.isfinite(values)]
        fig = Figure(figsize=(6, 3))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.hist(values, bins=20, range=(0, 1), color="#4c72b0")
        limit = limits[key]
        if limit is not None:
            ax.axvline(limit, color="#c44e52", linestyle="--", label="threshold")
            ax.legend(fontsize=8)
        ax.set_xlabel("fraction")
        ax.set_ylabel("samples")
        ax.set_title(title, fontsize=10)
        out[f"sample_{key}"] = _png(fig)
    return out


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#f0f0f0;text-align:left}td.n{text-align:right}
.plots img{max-width:32em;margin:.3em}.note{background:#fff6d6;padding:.4em .8em}
"""


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def render_html(report: QCReport) -> str:
    """A self-contained HTML page of a :class:`QCReport` (inline CSS, PNG plots inline)."""
    e = html.escape
    t = report.thresholds
    threshold_of = {
        "qual": "min_qual",
        "low_depth": "min_depth",
        "high_depth": "max_depth",
        "call_rate": "min_call_rate",
        "maf": "min_maf",
        "hwe": "hwe_p",
    }
    rows = []
    for reason, rule in VARIANT_REASONS.items():
        key = threshold_of[reason]
        applied = t[key] is not None and (reason != "hwe" or report.hwe_applied)
        count = report.variants_removed.get(reason, 0)
        pct = 100 * count / report.n_variants_in if report.n_variants_in else 0.0
        rows.append(
            f"<tr><td>{e(reason)}</td><td>{e(rule)}</td><td>{e(key)} = {e(_fmt(t[key]))}</td>"
            f"<td>{'yes' if applied else 'no'}</td><td class=n>{count}</td>"
            f"<td class=n>{pct:.1f}%</td></tr>"
        )
    total = report.variants_removed.get("total", 0)
    rows.append(
        f"<tr><th colspan=4>total (a variant failing several filters counted once)</th>"
        f"<th class=n>{total}</th><th></th></tr>"
    )
    sample_rows = []
    for name, reasons in report.samples_removed.items():
        st = report.sample_stats[name]
        why = []
        for r in reasons:
            if r == "missing":
                why.append(f"missingness {st['missing']:.3f} > {t['max_sample_missing']}")
            elif r == "het":
                why.append(f"heterozygosity {st['het']:.3f} > {t['max_sample_het']}")
            else:
                why.append(f"mean depth {_fmt(st['depth'])} < {t['min_sample_depth']}")
        sample_rows.append(
            f"<tr><td>{e(name)}</td><td>{e(', '.join(reasons))}</td><td>{e('; '.join(why))}</td></tr>"
        )
    removed_samples = (
        "<table><tr><th>sample</th><th>reasons</th><th>values</th></tr>"
        + "".join(sample_rows)
        + "</table>"
        if sample_rows
        else "<p>No sample was removed.</p>"
    )
    sample_rule_rows = "".join(
        f"<tr><td>{e(r)}</td><td>{e(rule)}</td><td class=n>"
        f"{sum(r in v for v in report.samples_removed.values())}</td></tr>"
        for r, rule in SAMPLE_REASONS.items()
    )
    all_samples = "".join(
        f"<tr><td>{e(s)}</td><td class=n>{_fmt(v['missing'])}</td><td class=n>{_fmt(v['het'])}"
        f"</td><td class=n>{_fmt(v['depth'])}</td><td>"
        f"{'removed' if s in report.samples_removed else 'kept'}</td></tr>"
        for s, v in report.sample_stats.items()
    )
    notes = "".join(f"<p class=note>{e(n)}</p>" for n in report.notes)
    plots = _plots(report)
    imgs = "".join(f'<img alt="{e(k)}" src="data:image/png;base64,{v}">' for k, v in plots.items())
    order = "".join(f"<li>{e(o)}</li>" for o in report.order)
    prov = e(json.dumps(jsonable(report.provenance), indent=2))
    n_removed_samples = len(report.samples_removed)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Genotype QC: {e(Path(report.input).name)}</title>
<style>{_CSS}</style></head><body>
<h1>Genotype quality control</h1>
<p>Input <code>{e(report.input)}</code>, output <code>{e(report.output)}</code>,
ploidy {report.ploidy}, depth from {e(report.depth_source)}.</p>
<h2>Summary</h2>
<table><tr><th></th><th>in</th><th>kept</th><th>removed</th></tr>
<tr><td>variants</td><td class=n>{report.n_variants_in}</td><td class=n>{report.n_variants_kept}</td>
<td class=n>{total}</td></tr>
<tr><td>samples</td><td class=n>{report.n_samples_in}</td><td class=n>{len(report.samples_kept)}</td>
<td class=n>{n_removed_samples}</td></tr></table>
{notes}
<h2>Order of the filters</h2><ol>{order}</ol>
<h2>Samples removed, and why</h2>
<table><tr><th>reason</th><th>rule</th><th>samples</th></tr>{sample_rule_rows}</table>
{removed_samples}
<h2>Variants removed, by reason</h2>
<table><tr><th>reason</th><th>rule</th><th>threshold</th><th>applied</th><th>variants</th>
<th>of input</th></tr>{"".join(rows)}</table>
<h2>Distributions</h2><div class=plots>{imgs}</div>
<h2>Every sample</h2>
<details><summary>{report.n_samples_in} samples</summary>
<table><tr><th>sample</th><th>missingness</th><th>heterozygosity</th><th>mean depth</th>
<th>status</th></tr>{all_samples}</table></details>
<h2>Provenance</h2><pre>{prov}</pre>
</body></html>
"""
