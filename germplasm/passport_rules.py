"""The re-import rules of a passport file: what each row does to the stored accessions.

Given the file's rows (typed, only the MCPD columns the file has) and the
stored accessions they name, :func:`plan_passport` decides, row by row and
without touching the database:

* **identity**: (INSTCODE, ACCENUMB) names an accession. A row whose key is
  not stored but whose PUID is the PUID of an accession held by another
  institute *moves* that accession to the new holder (and number). A PUID
  that belongs to a different accession otherwise is a conflict: PUIDs stay
  unique.
* **only the columns present are written**; an empty cell keeps the stored
  value unless ``blank_clears`` (an empty PUID always keeps it: it is an
  identifier, not data).
* a change of **species** (GENUS/SPECIES naming another species) or of
  **holding institute** (a move) is *refused* unless allowed; an allowed one
  detaches the accession's phenotypes, samples and predictions (the writer
  does that).

The plan carries the rows to insert, the rows to update with the columns to
set, every changed field with its old and new value as MCPD text (the
dry-run report and the audit trail), the refusals and the conflicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from breedhub.germplasm.exceptions import Problem
from breedhub.germplasm.mcpd import DESCRIPTORS
from breedhub.germplasm.tabular import ROW

#: Accession attributes stored from MCPD columns (INSTCODE is ``institute_id``).
ATTRS = [d.attr for d in DESCRIPTORS if d.attr != "instcode"]
#: attribute -> MCPD column code, and -> value kind.
CODE = {d.attr: d.code for d in DESCRIPTORS}
KIND = {d.attr: d.kind for d in DESCRIPTORS}
#: Attributes whose values are names an accession is searched by.
NAME_ATTRS = ("accenumb", "accename", "othernumb", "donornumb", "collnumb")
_DTYPE = {"int": pl.Int64, "code": pl.Int64, "float": pl.Float64}


def dtype_of(attr: str) -> type[pl.DataType]:
    """The polars type an attribute is stored as."""
    return _DTYPE.get(KIND[attr], pl.String)


def is_text(attr: str) -> bool:
    """Whether the attribute is stored as text (an empty cell is ``""``, else NULL)."""
    return KIND[attr] not in _DTYPE


def mcpd_text_expr(expr: pl.Expr, attr: str) -> pl.Expr:
    """Values as MCPD text as :func:`germplasm.mcpd.mcpd_text` writes them; NULL for empty."""
    kind = KIND.get(attr, "int")
    if kind == "float":
        out = (
            pl.when(expr == expr.floor())
            .then(expr.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(expr.cast(pl.String))
        )
    else:
        out = expr.cast(pl.String)
    return pl.when(out == "").then(None).otherwise(out)


def display_name(accename: pl.Expr) -> pl.Expr:
    """An accession's display name: the first of its ``;``-separated names."""
    return accename.str.split(";").list.first().str.strip_chars().fill_null("")


@dataclass
class PassportPlan:
    """What a passport file does to the database (see :func:`plan_passport`)."""

    #: Rows to insert: ``__row`` and every Accession column but ``id``, timestamps.
    new: pl.DataFrame
    #: Rows to update: ``id``, ``__row`` and the columns in :attr:`set_columns`.
    changed: pl.DataFrame
    set_columns: list[str]
    #: One row per changed field: ``__row``, ``id``, ``field`` (Accession column),
    #: ``old_value``, ``new_value`` (MCPD text, NULL for empty).
    diffs: pl.DataFrame
    #: ``__row``, ``status`` (new, changed, unchanged, refused), ``instcode``, ``accenumb``.
    status: pl.DataFrame
    #: Species or institute changes not allowed: the row, the column, the reason.
    refused: list[Problem] = field(default_factory=list)
    #: PUIDs held by another accession, one accession named twice: the file cannot be imported.
    conflicts: list[Problem] = field(default_factory=list)
    #: Accessions whose species or holding institute changes (allowed): to detach.
    detach_ids: list[int] = field(default_factory=list)
    #: Ids of updated accessions whose names must be rebuilt.
    rename_ids: list[int] = field(default_factory=list)


def _empty(attr: str) -> pl.Expr:
    c = pl.col(attr)
    return (c == "") | c.is_null() if is_text(attr) else c.is_null()


def _default(attr: str) -> pl.Expr:
    return pl.lit("" if is_text(attr) else None, dtype=dtype_of(attr))


def plan_passport(
    typed: pl.DataFrame,
    old: pl.DataFrame,
    present: set[str],
    *,
    institute_codes: dict[int, str],
    blank_clears: bool = False,
    allow_species_change: bool = False,
    allow_institute_change: bool = False,
) -> PassportPlan:
    """Decide what each row of a checked passport table does.

    Parameters
    ----------
    typed
        The file's rows: ``__row``, ``institute_id``, ``instcode``,
        ``species_id`` and ``genus_text`` (the file's GENUS), and one column
        per attribute of :data:`ATTRS` the file carries, typed.
    old
        The stored accessions the rows may name (by key or by PUID): ``id``,
        ``institute_id``, ``species_id``, ``name`` and every attribute of
        :data:`ATTRS`.
    present
        The attributes the file carries (``accenumb`` always).
    institute_codes
        institute id -> code, for the messages.
    blank_clears
        An empty cell clears the stored value (default: keeps it).
    allow_species_change, allow_institute_change
        Accept such changes (the writer detaches the accession's records)
        instead of refusing the row.

    Returns
    -------
    PassportPlan
    """
    keyed = typed.join(
        old.select(pl.col("id").alias("_id_k"), "institute_id", "accenumb"),
        on=["institute_id", "accenumb"],
        how="left",
    ).join(
        old.select(pl.col("id").alias("_id_k"), pl.col("puid").alias("_puid_k")),
        on="_id_k",
        how="left",
    )
    given = pl.col("puid") if "puid" in typed.columns else pl.lit("")
    generated = pl.concat_str(
        [pl.col("instcode"), pl.col("accenumb"), pl.col("genus_text")], separator=":"
    )
    keyed = keyed.with_columns(
        _puid=pl.when(given != "")
        .then(given)
        .when(pl.col("_id_k").is_not_null())
        .then(pl.col("_puid_k"))
        .otherwise(generated)
    )
    keyed = keyed.join(
        old.select(
            pl.col("id").alias("_id_p"),
            pl.col("institute_id").alias("_inst_p"),
            pl.col("accenumb").alias("_num_p"),
            pl.col("puid").alias("_puid"),
        ),
        on="_puid",
        how="left",
    )
    k, p = pl.col("_id_k"), pl.col("_id_p")
    other_inst = pl.col("_inst_p") != pl.col("institute_id")
    conflict = (k.is_not_null() & p.is_not_null() & (p != k)) | (
        k.is_null() & p.is_not_null() & ~other_inst
    )
    moved = k.is_null() & p.is_not_null() & other_inst
    keyed = keyed.with_columns(
        _conflict=conflict.fill_null(False),
        _moved=moved.fill_null(False),
        id=pl.when(k.is_not_null()).then(k).when(moved).then(p),
    )
    conflicts = [
        Problem(
            int(r),
            "PUID",
            puid,
            f"already the PUID of accession {institute_codes.get(i, '?')}:{n}",
        )
        for r, puid, i, n in keyed.filter("_conflict")
        .select(ROW, "_puid", "_inst_p", "_num_p")
        .iter_rows()
    ]
    twice = keyed.filter(pl.col("id").is_not_null() & ~pl.col("_conflict"))
    twice = twice.with_columns(_first=pl.col(ROW).min().over("id")).filter(
        pl.col(ROW) != pl.col("_first")
    )
    conflicts += [
        Problem(
            int(r),
            "PUID",
            puid,
            f"names the same accession as row {f} (by its PUID or its number)",
        )
        for r, puid, f in twice.select(ROW, "_puid", "_first").iter_rows()
    ]
    keyed = keyed.filter(~pl.col("_conflict"))

    is_new = pl.col("id").is_null()
    attrs = [a for a in ATTRS if a in present]
    new = _new_rows(keyed.filter(is_new), attrs)
    matched = keyed.filter(~is_new).join(
        old.rename({c: f"{c}_old" for c in old.columns if c != "id"}), on="id", how="left"
    )
    plan_cols, diff_frames, status_extra = _updates(
        matched, attrs, present, blank_clears=blank_clears
    )
    matched = matched.with_columns(plan_cols)
    species_changed = (
        (pl.col("species_id") != pl.col("species_id_old")).fill_null(False)
        if "species_id" in matched.columns
        else pl.lit(False)
    )
    matched = matched.with_columns(_species=species_changed)
    refuse = pl.lit(False)
    if not allow_species_change:
        refuse = refuse | pl.col("_species")
    if not allow_institute_change:
        refuse = refuse | pl.col("_moved")
    matched = matched.with_columns(_refused=refuse)
    refused = _refusals(matched, institute_codes, allow_species_change, allow_institute_change)

    diffs = pl.concat(diff_frames, how="vertical") if diff_frames else _empty_diffs()
    ok_rows = matched.filter(~pl.col("_refused"))
    diffs = diffs.join(ok_rows.select(ROW), on=ROW, how="semi").sort(ROW)
    changed_rows = diffs.select(ROW).unique()
    set_columns = status_extra
    changed = (
        ok_rows.join(changed_rows, on=ROW, how="semi")
        .select("id", ROW, *[pl.col(f"_new_{c}").alias(c) for c in set_columns])
        .sort(ROW)
    )
    detach_ids = (
        ok_rows.filter(pl.col("_species") | pl.col("_moved"))["id"].cast(pl.Int64).to_list()
    )
    name_changed = diffs.filter(pl.col("field").is_in(NAME_ATTRS))["id"].unique().to_list()

    status = pl.concat(
        [
            keyed.filter(is_new).select(ROW, "instcode", "accenumb", status=pl.lit("new")),
            matched.select(
                ROW,
                "instcode",
                "accenumb",
                status=pl.when(pl.col("_refused"))
                .then(pl.lit("refused"))
                .when(pl.col(ROW).is_in(changed_rows[ROW].implode()))
                .then(pl.lit("changed"))
                .otherwise(pl.lit("unchanged")),
            ),
        ]
    ).sort(ROW)
    return PassportPlan(
        new=new,
        changed=changed,
        set_columns=set_columns,
        diffs=diffs,
        status=status,
        refused=refused,
        conflicts=conflicts,
        detach_ids=detach_ids,
        rename_ids=sorted(int(i) for i in name_changed),
    )


def _empty_diffs() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            ROW: pl.Int64,
            "id": pl.Int64,
            "field": pl.String,
            "old_value": pl.String,
            "new_value": pl.String,
        }
    )


def _new_rows(rows: pl.DataFrame, attrs: list[str]) -> pl.DataFrame:
    """Inserted accessions: the file's values, defaults for empty cells and absent columns."""
    cols = []
    for a in ATTRS:
        if a == "puid":
            cols.append(pl.col("_puid").alias("puid"))
        elif a in attrs:
            c = pl.col(a)
            cols.append((c.fill_null("") if is_text(a) else c).cast(dtype_of(a)).alias(a))
        else:
            cols.append(_default(a).alias(a))
    accename = pl.col("accename") if "accename" in attrs else pl.lit("")
    return rows.select(
        ROW,
        "institute_id",
        "species_id",
        *cols,
        display_name(accename.fill_null("")).alias("name"),
    )


def _updates(
    matched: pl.DataFrame, attrs: list[str], present: set[str], *, blank_clears: bool
) -> tuple[list[pl.Expr], list[pl.DataFrame], list[str]]:
    """Effective new values (``_new_<col>``), the per-field diffs, and the columns an update sets."""
    exprs: list[pl.Expr] = []
    set_columns: list[str] = []
    diffs: list[pl.DataFrame] = []
    for a in attrs:
        old = pl.col(f"{a}_old")
        if a == "puid":
            new = pl.col("_puid")
        elif a == "accenumb":
            new = pl.col("accenumb")
        else:
            c = pl.col(a).cast(dtype_of(a))
            c = c.fill_null("") if is_text(a) else c
            new = c if blank_clears else pl.when(_empty(a)).then(old).otherwise(c)
        exprs.append(new.alias(f"_new_{a}"))
        set_columns.append(a)
    if "species_id" in matched.columns:
        exprs.append(pl.col("species_id").alias("_new_species_id"))
        set_columns.append("species_id")
    exprs.append(pl.col("institute_id").alias("_new_institute_id"))
    set_columns.append("institute_id")
    if "accename" in attrs:
        exprs.append(
            pl.when(pl.col("accename").eq_missing(pl.lit("")) & pl.lit(not blank_clears))
            .then(pl.col("name_old"))
            .otherwise(display_name(pl.col("accename").fill_null("")))
            .alias("_new_name")
        )
        set_columns.append("name")
    frame = matched.with_columns(exprs)
    for attr in set_columns:
        if attr == "name":
            continue  # derived from ACCENAME: recorded through it
        old, new = pl.col(f"{attr}_old"), pl.col(f"_new_{attr}")
        d = frame.filter(~new.eq_missing(old)).select(
            ROW,
            pl.col("id").cast(pl.Int64),
            field=pl.lit(attr),
            old_value=mcpd_text_expr(old, attr),
            new_value=mcpd_text_expr(new, attr),
        )
        if d.height:
            diffs.append(d)
    return exprs, diffs, set_columns


def _refusals(
    matched: pl.DataFrame,
    codes: dict[int, str],
    allow_species: bool,
    allow_institute: bool,
) -> list[Problem]:
    out = []
    detach = "its phenotypes, samples (with their genotype-dataset membership) and predictions"
    if not allow_species:
        rows = matched.filter("_species").select(
            ROW, "genus", "species_epithet", "genus_old", "species_epithet_old", "instcode",
            "accenumb",
        )  # fmt: skip
        for r, g, s, g0, s0, inst, num in rows.iter_rows():
            out.append(
                Problem(
                    int(r),
                    "GENUS/SPECIES",
                    f"{g} {s}",
                    f"changes the species of accession {inst}:{num} from {g0} {s0}; "
                    f"{detach} would no longer fit it: pass --allow-species-change "
                    "(allow_species_change=True) to change it and detach them",
                )
            )
    if not allow_institute:
        rows = matched.filter("_moved").select(
            ROW, "instcode", "accenumb", "institute_id_old", "accenumb_old", "_puid"
        )
        for r, inst, num, i0, n0, puid in rows.iter_rows():
            out.append(
                Problem(
                    int(r),
                    "INSTCODE",
                    inst,
                    f"PUID {puid} is accession {codes.get(i0, '?')}:{n0}: this row moves it to "
                    f"{inst}:{num}, another holding institute; pass --allow-institute-change "
                    f"(allow_institute_change=True) to move it and detach {detach}",
                )
            )
    return out
