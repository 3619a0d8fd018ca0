"""``breedhub predict``: cross-validate, fit and apply genomic-prediction models."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from breedhub.cli.common import emit_json, json_option, species_ploidy, user_errors
from breedhub.predict.methods import method_names

if TYPE_CHECKING:
    from breedhub.pipelines.inputs import TrainingData


@click.group()
def predict() -> None:
    """Genomic prediction: relationship matrices, models, validation."""


def _params(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: use NAME=VALUE (e.g. n_iter=2000)")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
        if isinstance(out[key], list):
            out[key] = tuple(out[key]) if key in ("bandwidths", "hidden", "channels") else out[key]
    return out


def _ploidy(species: str | None, ploidy: int | None) -> int | None:
    """The ploidy asked for; None leaves it to the genotype file (which must then state it)."""
    return species_ploidy(species, ploidy)[0]


def _load(
    genotypes: str,
    phenotypes: str | None,
    trait: str | None,
    *,
    id_column: str | None,
    impute: str | None,
    ploidy: int | None,
    allow_unmatched: bool = False,
) -> TrainingData:
    from breedhub.pipelines.inputs import load_training_data

    return load_training_data(
        genotypes,
        phenotypes,
        trait,
        ploidy=ploidy,
        id_column=id_column,
        missing="mean" if impute == "mean" else "error",
        allow_unmatched=allow_unmatched,
    )


geno_opt = click.option("--genotypes", required=True, type=click.Path(dir_okay=False),
                        help=".h5, .vcf(.gz), .bcf, .bed, .csv or .npz")  # fmt: skip
pheno_opt = click.option("--phenotypes", required=True, type=click.Path(dir_okay=False),
                         help="CSV/TSV with a sample id column")  # fmt: skip
trait_opt = click.option("--trait", required=True, help="Column of the phenotype file.")
method_opt = click.option(
    "--method", type=click.Choice(method_names()), default="gblup", show_default=True
)
species_opt = click.option(
    "--species", help="Species key or name from the registry (gives the ploidy the file lacks)."
)
ploidy_opt = click.option(
    "--ploidy",
    type=int,
    help="Ploidy of the dosages (when the file does not say; overrides --species).",
)
common = [
    species_opt,
    ploidy_opt,
    click.option(
        "--id-column", help="Sample id column of the phenotypes (default: sample_id or the first)."
    ),
    click.option(
        "--impute", type=click.Choice(["mean"]), help="Fill missing genotypes with marker means."
    ),
    click.option(
        "--allow-unmatched", is_flag=True, help="Drop phenotyped samples that have no genotypes."
    ),
    click.option("--param", "params", multiple=True, help="Method option NAME=VALUE (repeatable)."),
]


def _common(f):  # type: ignore[no-untyped-def]
    for opt in reversed(common):
        f = opt(f)
    return f


@predict.command()
@geno_opt
@pheno_opt
@trait_opt
@method_opt
@click.option("--folds", default=5, show_default=True, help="Number of folds.")
@click.option("--repeats", default=1, show_default=True, help="Repeats with new random folds.")
@click.option(
    "--fold-column",
    help="Phenotype column with fixed fold labels (then --folds/--repeats are ignored).",
)
@click.option("--seed", default=0, show_default=True)
@_common
@json_option
@user_errors
def cv(genotypes, phenotypes, trait, method, folds, repeats, fold_column, seed, species, ploidy, id_column,
       impute, allow_unmatched, params, as_json) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    """Cross-validate a method: per-fold and mean Pearson r, RMSE and top-10% overlap."""
    import numpy as np

    from breedhub.predict.cv import cross_validate
    from breedhub.predict.exceptions import InputError

    data = _load(genotypes, phenotypes, trait, id_column=id_column, impute=impute,
                 ploidy=_ploidy(species, ploidy), allow_unmatched=allow_unmatched)  # fmt: skip
    pheno, sample_id = data.phenotypes, data.sample_id
    assert pheno is not None
    fold_ids = None
    if fold_column:
        if fold_column not in pheno.columns:
            raise InputError(f"{phenotypes}: no fold column {fold_column!r}")
        labels = dict(zip(pheno["sample_id"].to_list(), pheno[fold_column].to_list(), strict=True))
        fold_ids = np.array([labels.get(s) or "-1" for s in sample_id], dtype=object)
        _, fold_ids = np.unique(fold_ids.astype(str), return_inverse=True)
        missing = np.array([labels.get(s) in (None, "") for s in sample_id])
        fold_ids[missing] = -1
    say = (lambda m: None) if as_json else (lambda m: click.echo(m, err=True))
    res = cross_validate(data.dosages, data.y, method=method, ploidy=data.ploidy, folds=folds, repeats=repeats, fold_ids=fold_ids,
                         seed=seed, params=_params(params), trait=trait, progress=say)  # fmt: skip
    if as_json:
        emit_json(res.to_dict())
        return
    click.echo(f"{method} on {trait}: n = {res.n}, {len(res.folds)} folds")
    click.echo(f"  mean r = {res.mean_r:.3f} (sd {res.sd_r:.3f}), RMSE = {res.mean_rmse:.3f}, "
               f"top-10% overlap = {res.mean_top_overlap:.2f}, {res.seconds:.1f} s")  # fmt: skip


@predict.command()
@geno_opt
@pheno_opt
@trait_opt
@method_opt
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Model file (.npz).")
@_common
@json_option
@user_errors
def fit(genotypes, phenotypes, trait, method, out, species, ploidy, id_column, impute, allow_unmatched,
        params, as_json) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    """Fit a method on all phenotyped samples and save the model.

    The same fit as the predict workflow and the portal's jobs
    (:func:`breedhub.pipelines.publish.fit_trait`): GBLUP and rrBLUP centre G
    on every genotyped sample, so the model predicts the unphenotyped ones as
    they would be published.
    """
    from breedhub.pipelines.publish import fit_trait, save_fit

    data = _load(genotypes, phenotypes, trait, id_column=id_column, impute=impute,
                 ploidy=_ploidy(species, ploidy), allow_unmatched=allow_unmatched)  # fmt: skip
    assert data.y is not None  # --phenotypes is required
    result = fit_trait(data.dosages, data.y, ploidy=data.ploidy, sample_id=data.sample_id,
                       trait=trait, method=method, params=_params(params))  # fmt: skip
    save_fit(result, out, command="breedhub predict fit", inputs=[genotypes, phenotypes],
             marker_ids=data.variant_id, dosages=data.dosages)  # fmt: skip
    if as_json:
        emit_json({"model": out, "method": method, "trait": trait, **result.info})
    else:
        click.echo(f"{method} model of {trait} on {result.info['n_train']} samples saved to {out}")


@predict.command()
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False))
@geno_opt
@click.option("--out", type=click.Path(dir_okay=False), help="Write sample_id,gebv CSV here.")
@species_opt
@ploidy_opt
@click.option(
    "--impute", type=click.Choice(["mean"]), help="Fill missing genotypes with marker means."
)
@json_option
@user_errors
def apply(model_path, genotypes, out, species, ploidy, impute, as_json) -> None:  # type: ignore[no-untyped-def]
    """Predict GEBVs of new genotypes with a saved model."""
    import polars as pl

    from breedhub.predict.exceptions import InputError
    from breedhub.predict.persist import load_model

    model = load_model(model_path)
    asked = _ploidy(species, ploidy)
    data = _load(genotypes, None, None, id_column=None, impute=impute,
                 ploidy=model.ploidy if asked is None else asked)  # fmt: skip
    record = model.info_.get("provenance", {})
    trained = record.get("extra", record).get("marker_ids")
    if trained and trained != data.variant_id:
        raise InputError(f"{genotypes}: markers differ from those the model was fitted on "
                         f"({len(data.variant_id)} vs {len(trained)}; first difference shown by order)")  # fmt: skip
    gebv = model.predict(data.dosages)
    df = pl.DataFrame({"sample_id": data.sample_id, "gebv": gebv})
    if out:
        df.write_csv(out)
    if as_json:
        emit_json({"model": model_path, "n": len(gebv), "results": df.to_dicts()})
    elif not out:
        click.echo(df.write_csv())
    else:
        click.echo(f"{len(gebv)} GEBVs written to {out}")
