"""``breedhub predict``: cross-validate, fit and apply genomic-prediction models."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from breedhub.cli.common import emit_json, json_option, species_ploidy, user_errors
from breedhub.predict.methods import METHODS, method_names

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


def _methods_help() -> str:
    """Every method's options and defaults, from the registry (``--help``'s epilog)."""
    from breedhub.predict import methods as registry

    lines = ["\b", "Methods and their options (--param NAME=VALUE; default shown):"]
    helper = getattr(registry, "parameter_help", None)
    for m in METHODS:
        if callable(helper):
            lines.append(f"  {m.name}: {m.label}")
            lines += [f"    {line}" for line in helper(m.name)]
            continue
        described = getattr(m, "params", None) or getattr(m, "parameters", None)
        opts = []
        for key, default in m.defaults.items():
            what = ""
            if isinstance(described, dict) and isinstance(described.get(key), dict):
                what = f" ({described[key].get('what') or described[key].get('description') or ''})"
            opts.append(
                f"{key}={json.dumps(list(default) if isinstance(default, tuple) else default)}{what}"
            )
        lines.append(f"  {m.name}: {m.label}; " + (", ".join(opts) if opts else "no options"))
    lines.append("  auto: nested cross-validation over the methods above picks one per trait "
                 "(--budget, --inner-folds, --candidates)")  # fmt: skip
    return "\n".join(lines)


method_opt = click.option(
    "--method", type=click.Choice([*method_names(), "auto"]), default="gblup", show_default=True,
    help="A method, or auto: chosen per trait by nested cross-validation.",
)  # fmt: skip
auto_opts = [
    click.option("--budget", help="Time budget of --method auto: 90s, 10m, 1h (default: none)."),
    click.option(
        "--inner-folds", default=5, show_default=True, help="Inner folds of --method auto."
    ),
    click.option(
        "--candidates",
        help="Methods --method auto compares, comma-separated "
        "(default: every method worth its time here).",
    ),  # fmt: skip
]


def _auto_options(f):  # type: ignore[no-untyped-def]
    for opt in reversed(auto_opts):
        f = opt(f)
    return f


def _stderr(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)
    sys.stderr.flush()


def _print_warnings(warnings: list[dict[str, Any]]) -> None:
    from breedhub.predict.cv import format_warning

    for w in warnings:
        click.echo(f"warning: {format_warning(w)}", err=True)


def _fold_ids(data: TrainingData, column: str | None, source: str) -> list[Any] | None:
    """The fold column's labels per genotyped sample, as the file gives them (None: no label)."""
    from breedhub.predict.exceptions import InputError

    if not column:
        return None
    pheno = data.phenotypes
    assert pheno is not None
    if column not in pheno.columns:
        raise InputError(f"{source}: no fold column {column!r}")
    labels = dict(zip(pheno["sample_id"].to_list(), pheno[column].to_list(), strict=True))
    return [labels.get(s) for s in data.sample_id]


def _auto_setup(method: str, budget: str | None, candidates: str | None, params: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """Budget seconds and candidates of --method auto (checked before any data is read)."""
    from breedhub.predict.auto import candidates_named, default_candidates, parse_budget
    from breedhub.predict.exceptions import InputError

    if method != "auto":
        if budget or candidates:
            raise InputError("--budget and --candidates go with --method auto")
        return None, None
    if params:
        raise InputError("--param sets one method's options; with --method auto the candidates "
                         "run with their defaults")  # fmt: skip
    seconds = parse_budget(budget) if budget else None
    names = [c.strip() for c in candidates.split(",") if c.strip()] if candidates else None
    return seconds, candidates_named(names) if names else default_candidates()


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


@predict.command(epilog=_methods_help())
@geno_opt
@pheno_opt
@trait_opt
@method_opt
@click.option("--folds", default=5, show_default=True, help="Number of folds.")
@click.option("--repeats", default=1, show_default=True, help="Repeats with new random folds.")
@click.option(
    "--fold-column",
    help="Phenotype column with fixed fold labels, kept as given (then --folds/--repeats are ignored).",
)
@click.option("--seed", default=0, show_default=True)
@_auto_options
@_common
@json_option
@user_errors
def cv(genotypes, phenotypes, trait, method, folds, repeats, fold_column, seed, budget, inner_folds,
       candidates, species, ploidy, id_column, impute, allow_unmatched, params, as_json) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    """Cross-validate a method: per-fold (under the fold labels given) and mean Pearson r with its SD, bias, RMSE, top-10% overlap.

    With --method auto, nested cross-validation: inside each outer training
    set an inner CV picks the method, so the outer r is the accuracy of the
    whole procedure. Progress goes to stderr, also with --json.
    """
    from breedhub.predict.cv import cross_validate

    budget_s, cands = _auto_setup(method, budget, candidates, params)
    options = _params(params)
    data = _load(genotypes, phenotypes, trait, id_column=id_column, impute=impute,
                 ploidy=_ploidy(species, ploidy), allow_unmatched=allow_unmatched)  # fmt: skip
    fold_ids = _fold_ids(data, fold_column, phenotypes)
    if method == "auto":
        from breedhub.predict.auto import nested_cv

        if repeats != 1:
            raise click.BadParameter("--repeats is not available with --method auto")
        res = nested_cv(data.dosages, data.y, ploidy=data.ploidy, candidates=cands, folds=folds,
                        fold_ids=fold_ids, inner_folds=inner_folds, budget_s=budget_s, seed=seed,
                        trait=trait, progress=_stderr)  # fmt: skip
    else:
        res = cross_validate(data.dosages, data.y, method=method, ploidy=data.ploidy, folds=folds,
                             repeats=repeats, fold_ids=fold_ids, seed=seed, params=options,
                             trait=trait, progress=_stderr)  # type: ignore[assignment]  # fmt: skip
    _print_warnings(res.warnings)
    if as_json:
        emit_json(res.to_dict())
        return
    click.echo(f"{method} on {trait}: n = {res.n}, {len(res.folds)} folds")
    click.echo(f"  mean r = {res.mean_r:.3f} (sd {res.sd_r:.3f}), bias (slope) = {res.bias:.3f}, "
               f"RMSE = {res.mean_rmse:.3f}, top-10% overlap = {res.mean_top_overlap:.2f}, "
               f"{res.seconds:.1f} s")  # fmt: skip
    click.echo("  per fold: " + ", ".join(f"{k}: {v:.3f}" for k, v in res.fold_r.items()))
    if method == "auto":
        _echo_auto(res)  # type: ignore[arg-type]


def _echo_auto(res: Any) -> None:
    chosen = ", ".join(f"{f.fold}: {f.chosen}" for f in res.folds)
    click.echo(f"  chosen per outer fold: {chosen}")
    click.echo(f"  final model: {res.final['name']} (chosen by inner CV on all data)")
    for name, t in res.inner.items():
        r = "-" if t["mean_inner_r"] is None else f"{t['mean_inner_r']:.3f}"
        click.echo(f"    {name:<10} mean inner r {r}, chosen {t['chosen']}, complete {t['complete']}, "
                   f"dropped {t['dropped']}, skipped/stopped {t['skipped'] + t['stopped']}")  # fmt: skip
    for note in res.notes:
        click.echo(f"  note: {note}")


@predict.command(epilog=_methods_help())
@geno_opt
@pheno_opt
@trait_opt
@method_opt
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Model file (.npz).")
@click.option("--folds", default=5, show_default=True, help="Outer folds of --method auto.")
@click.option("--fold-column", help="Phenotype column with the outer folds of --method auto.")
@click.option("--seed", default=0, show_default=True, help="Seed of the folds of --method auto.")
@_auto_options
@_common
@json_option
@user_errors
def fit(genotypes, phenotypes, trait, method, out, folds, fold_column, seed, budget, inner_folds, candidates,
        species, ploidy, id_column, impute, allow_unmatched, params, as_json) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    """Fit a method on all phenotyped samples and save the model.

    The same fit as the predict workflow and the portal's jobs
    (:func:`breedhub.pipelines.publish.fit_trait`): GBLUP and rrBLUP centre G
    on every genotyped sample, so the model predicts the unphenotyped ones as
    they would be published. With --method auto, nested cross-validation
    measures the procedure (outer r), an inner CV on all data chooses the
    method, and the model file keeps the choice, the inner scores and the
    outer accuracy (``info.selection``).
    """
    from breedhub.pipelines.publish import fit_trait, save_fit

    budget_s, cands = _auto_setup(method, budget, candidates, params)
    data = _load(genotypes, phenotypes, trait, id_column=id_column, impute=impute,
                 ploidy=_ploidy(species, ploidy), allow_unmatched=allow_unmatched)  # fmt: skip
    assert data.y is not None  # --phenotypes is required
    selection = None
    chosen, options = method, _params(params)
    if method == "auto":
        from breedhub.predict.auto import nested_cv

        res = nested_cv(data.dosages, data.y, ploidy=data.ploidy, candidates=cands, folds=folds,
                        fold_ids=_fold_ids(data, fold_column, phenotypes), inner_folds=inner_folds,
                        budget_s=budget_s, seed=seed, trait=trait, progress=_stderr)  # fmt: skip
        _print_warnings(res.warnings)
        chosen, options = res.final["method"], dict(res.final["params"])
        selection = _selection(res)
    result = fit_trait(data.dosages, data.y, ploidy=data.ploidy, sample_id=data.sample_id,
                       trait=trait, method=chosen, params=options)  # fmt: skip
    if selection is not None:
        result.model.info_["selection"] = selection
    save_fit(result, out, command="breedhub predict fit", inputs=[genotypes, phenotypes],
             marker_ids=data.variant_id, dosages=data.dosages)  # fmt: skip
    if as_json:
        extra = {"selection": selection} if selection else {}
        emit_json({"model": out, "method": chosen, "trait": trait, **result.info, **extra})
    else:
        how = (
            f" (chosen by nested CV; outer r {selection['outer_mean_r']:.3f})" if selection else ""
        )
        click.echo(
            f"{chosen} model of {trait} on {result.info['n_train']} samples saved to {out}{how}"
        )


def _selection(res: Any) -> dict[str, Any]:
    """What a model file keeps of an auto choice: the choice, inner scores, outer accuracy."""
    return {
        "selected_by": "nested cross-validation (breedhub.predict.auto)",
        "chosen": res.final["name"], "method": res.final["method"], "params": res.final["params"],
        "effective_params": res.final["effective_params"],
        "final_search": res.final["search"], "inner": res.inner,
        "outer_mean_r": res.mean_r, "outer_sd_r": res.sd_r, "outer_bias": res.bias,
        "outer_fold_r": res.fold_r, "chosen_per_fold": {str(f.fold): f.chosen for f in res.folds},
        "inner_folds": res.inner_folds, "budget_s": res.budget_s, "notes": res.notes,
        "seconds": round(res.seconds, 3),
    }  # fmt: skip


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


def _environments(data: TrainingData, environments: str | None, trait: str | None,
                  env_column: str | None, source: str) -> tuple[Any, list[str]]:  # fmt: skip
    """(lines x environments) values from wide columns or a long table with an environment column."""
    import numpy as np

    from breedhub.pipelines.inputs import trait_vector
    from breedhub.predict.exceptions import InputError

    pheno = data.phenotypes
    assert pheno is not None
    if environments and (trait or env_column):
        raise InputError("give --environments (one column per environment) or --trait with "
                         "--env-column (one row per line and environment), not both")  # fmt: skip
    if environments:
        names = [c.strip() for c in environments.split(",") if c.strip()]
        cols = [trait_vector(pheno, c, data.sample_id, source=source) for c in names]
        return np.column_stack(cols), names
    if not (trait and env_column):
        raise InputError("give --environments, or --trait and --env-column")
    if env_column not in pheno.columns:
        raise InputError(f"{source}: no environment column {env_column!r}")
    names = list(dict.fromkeys(str(v) for v in pheno[env_column].to_list() if v not in (None, "")))
    cols = [
        trait_vector(pheno.filter(pheno[env_column] == e), trait, data.sample_id,
                     source=f"{source} ({env_column} {e})")
        for e in names
    ]  # fmt: skip
    return np.column_stack(cols), names


@predict.command("gxe-cv")
@geno_opt
@pheno_opt
@click.option(
    "--environments", help="Phenotype columns, one per environment (wide table), comma-separated."
)
@click.option("--trait", help="The trait's column (long table: one row per line and environment).")
@click.option("--env-column", help="The environment column of a long table.")
@click.option("--scheme", type=click.Choice(["cv1", "cv2", "both"]), default="both", show_default=True,
              help="cv1: new lines (a line's records all in one fold); cv2: tested lines, predicting "
                   "an environment where the line is missing.")  # fmt: skip
@click.option("--folds", default=5, show_default=True, help="Number of line folds.")
@click.option("--fold-column", help="Phenotype column with the lines' fold labels, kept as given.")
@click.option("--seed", default=0, show_default=True)
@species_opt
@ploidy_opt
@click.option(
    "--id-column", help="Sample id column of the phenotypes (default: sample_id or the first)."
)
@click.option(
    "--impute", type=click.Choice(["mean"]), help="Fill missing genotypes with marker means."
)
@json_option
@user_errors
def gxe_cv(genotypes, phenotypes, environments, trait, env_column, scheme, folds, fold_column, seed,
           species, ploidy, id_column, impute, as_json) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    """Cross-validate the G×E GBLUP (main effect + environment-specific deviations) against single-environment GBLUP.

    Per environment: mean and SD of r over folds, per-fold r under the fold
    labels given, bias; single-environment GBLUP on the same test records.
    Progress goes to stderr, also with --json.
    """
    from breedhub.pipelines.inputs import TrainingData, read_phenotypes
    from breedhub.predict.gxe import gxe_cv as run_gxe

    geno = _load(
        genotypes, None, None, id_column=None, impute=impute, ploidy=_ploidy(species, ploidy)
    )
    data = TrainingData(
        geno.genotypes, geno.dosages, read_phenotypes(phenotypes, id_column=id_column), None
    )
    Y, names = _environments(data, environments, trait, env_column, str(phenotypes))
    fold_ids = _fold_ids(data, fold_column, phenotypes)
    out = {}
    for sch in ("cv1", "cv2") if scheme == "both" else (scheme,):
        res = run_gxe(data.dosages, Y, ploidy=data.ploidy, environments=names, scheme=sch, folds=folds,
                      fold_ids=fold_ids, seed=seed, progress=_stderr)  # fmt: skip
        _print_warnings(res.warnings)
        out[sch] = res.to_dict()
        if not as_json:
            click.echo(f"G×E GBLUP, {sch.upper()}: {res.n_lines} lines, {res.n_records} records, "
                       f"{len(res.folds)} folds, {res.seconds:.1f} s")  # fmt: skip
            for name, e in res.env.items():
                click.echo(f"  {name:<12} r = {e['mean_r']:.3f} (sd {e['sd_r']:.3f}), bias {e['bias']:.3f}; "
                           f"single-environment GBLUP {e['single_mean_r']:.3f}")  # fmt: skip
            click.echo(f"  mean over environments: {res.mean_r:.3f} vs {res.single_mean_r:.3f}")
    if as_json:
        emit_json(out)
