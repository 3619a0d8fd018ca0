"""``breedhub germplasm``: import, export, search and show germplasm."""

from __future__ import annotations

import click

from breedhub.cli.common import emit_json, engine, json_option, user_errors
from breedhub.germplasm.mcpd import SAMPSTAT


@click.group()
def germplasm() -> None:
    """Accessions, passports, pedigrees and phenotypes."""


@germplasm.command()
@click.argument("what", type=click.Choice(["passport", "pedigree", "observations"]))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--species", help="Only this species (registry key).")
@click.option("--institute", help="Only this holding institute (passport).")
@click.option("--trial", help="Only this trial (observations).")
@json_option
@user_errors
def export(
    what: str,
    file: str,
    species: str | None,
    institute: str | None,
    trial: str | None,
    as_json: bool,
) -> None:
    """Export passports, pedigrees or observations to FILE (.csv, .tsv or .xlsx)."""
    from breedhub.germplasm.passport import export_passport
    from breedhub.germplasm.pedigree import export_pedigree
    from breedhub.germplasm.phenotypes import export_observations

    eng = engine()
    if what == "passport":
        n = export_passport(eng, file, species=species, institute=institute)
    elif what == "pedigree":
        n = export_pedigree(eng, file, species=species)
    else:
        n = export_observations(eng, file, species=species, trial=trial)
    if as_json:
        emit_json({"file": file, "what": what, "rows": n})
    else:
        click.echo(f"{file}: {n} {what} rows")


def _trait_range(text: str) -> tuple[str, float | None, float | None]:
    """``NAME:MIN:MAX`` with either bound empty."""
    parts = text.split(":")
    if len(parts) != 3:
        raise click.BadParameter(f"{text!r}: use VARIABLE:MIN:MAX (a bound may be empty)")
    name, lo, hi = parts
    try:
        return name, float(lo) if lo else None, float(hi) if hi else None
    except ValueError:
        raise click.BadParameter(f"{text!r}: MIN and MAX must be numbers") from None


@germplasm.command()
@click.argument("text", required=False)
@click.option("--species", help="Species key (rice, oil_tea, ...).")
@click.option("--institute", help="Holding institute's WIEWS code.")
@click.option("--origin", help="Country of origin, ISO 3166-1 alpha-3.")
@click.option(
    "--sampstat",
    type=int,
    help="MCPD biological status; 400 includes 410, 411, ... ("
    + ", ".join(f"{k} {v}" for k, v in list(SAMPSTAT.items())[:4])
    + ", ...).",
)
@click.option("--trait", "traits", multiple=True, help="VARIABLE:MIN:MAX on the accession mean.")
@click.option("--genotyped/--not-genotyped", default=None, help="With (or without) genotypes.")
@click.option("--sort", default="accenumb", show_default=True, help="Field or variable name.")
@click.option("--desc", is_flag=True, help="Sort descending.")
@click.option("--page", default=1, show_default=True, type=int, help="Page number, from 1.")
@click.option(
    "--page-size", default=25, show_default=True, type=int, help="Results per page, 1 to 1000."
)
@json_option
@user_errors
def search(
    text: str | None,
    species: str | None,
    institute: str | None,
    origin: str | None,
    sampstat: int | None,
    traits: tuple[str, ...],
    genotyped: bool | None,
    sort: str,
    desc: bool,
    page: int,
    page_size: int,
    as_json: bool,
) -> None:
    """Search accessions by name, number or synonym (a prefix) and filters.

    Counts stop at 10,000 ("10,000+ accessions") and pages reach the first
    10,000 results: narrow a broader search to see further.
    """
    from breedhub.germplasm import AccessionQuery, TraitRange, search_accessions
    from breedhub.germplasm.db import session_factory

    q = AccessionQuery(
        text=text,
        species=species,
        institute=institute,
        origin=origin,
        sampstat=sampstat,
        traits=tuple(TraitRange(*_trait_range(t)) for t in traits),
        genotyped=genotyped,
        sort=sort,
        descending=desc,
        page=page,
        page_size=page_size,
    )
    with session_factory(engine())() as session:
        result = search_accessions(session, q)
    if as_json:
        emit_json(result.to_dict())
        return
    plus = "+" if result.total_is_lower_bound else ""
    click.echo(f"{result.total:,}{plus} accessions (page {result.page:,} of {result.pages:,})")
    if not result.results:
        return
    rows = [
        (
            r["instcode"],
            r["accenumb"],
            r["name"],
            r["species"],
            r["origcty"],
            str(r["sampstat"] or ""),
        )
        for r in result.results
    ]
    header = ("INSTCODE", "ACCENUMB", "NAME", "SPECIES", "ORIGIN", "SAMPSTAT")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@germplasm.command()
@click.argument("accession")
@json_option
@user_errors
def show(accession: str, as_json: bool) -> None:
    """Show one accession: by id, PUID, INSTCODE:ACCENUMB or ACCENUMB."""
    from breedhub.germplasm import accession_detail
    from breedhub.germplasm.db import session_factory

    with session_factory(engine())() as session:
        d = accession_detail(session, accession)
    if as_json:
        emit_json(d)
        return
    click.secho(f"{d['instcode']}:{d['accenumb']}  {d['name']}", bold=True)
    click.echo(f"{d['scientific_name']} {d['subtaxa']}  ploidy {d['ploidy']}  PUID {d['puid']}")
    for code, value in d["passport"].items():
        if value:
            click.echo(f"  {code:<16}{value}")
    if d["pedigree"]:
        p = d["pedigree"]

        def ref(a):  # type: ignore[no-untyped-def]
            return f"{a['instcode']}:{a['accenumb']}" if a else "unknown"

        click.echo(
            f"pedigree: {ref(p['female_parent'])} x {ref(p['male_parent'])}"
            f" ({p['cross_type']}, {p['generation'] or '-'})"
        )
    if d["progeny"]:
        click.echo(
            "progeny: " + ", ".join(f"{c['instcode']}:{c['accenumb']}" for c in d["progeny"])
        )
    if d["traits"]:
        click.echo("traits (mean over public trials' observations):")
        for t in d["traits"]:
            click.echo(f"  {t['variable']:<28}{t['mean']:>10.3f} {t['unit']:<8} n={t['n']}")


from breedhub.cli.germplasm_audit import AUDIT_COMMANDS  # noqa: E402
from breedhub.cli.germplasm_import import import_  # noqa: E402

germplasm.add_command(import_)
for _command in AUDIT_COMMANDS:
    germplasm.add_command(_command)
