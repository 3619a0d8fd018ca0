"""Indexes for searches at a million accessions

A species' accessions sorted by number, ties broken by id, read from one index
(also backwards, for a descending sort); a trait's mean range sorted by mean
answered from the trait-summary index alone (it now carries the accession id).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: (table, index name, columns after, columns before)
CHANGES = (
    ("accession", "ix_accession_species_accenumb",
     ["species_id", "accenumb", "id"], ["species_id", "accenumb"]),
    ("trait_summary", "ix_trait_summary_variable_mean",
     ["variable_id", "mean", "accession_id"], ["variable_id", "mean"]),
)  # fmt: skip


def _rebuild(table: str, name: str, columns: list[str]) -> None:
    # One transaction on both engines (their DDL is transactional): no search sees neither.
    op.drop_index(name, table_name=table)
    op.create_index(name, table, columns)


def upgrade() -> None:
    for table, name, after, _ in CHANGES:
        _rebuild(table, name, after)


def downgrade() -> None:
    for table, name, _, before in CHANGES:
        _rebuild(table, name, before)
