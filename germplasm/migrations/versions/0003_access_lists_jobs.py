"""Institutes own trials, genotype datasets, model runs and jobs (public or restricted);
selection lists and selection indexes; jobs keep a heartbeat, a cancel flag and a result

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OWNED = ("trial", "genotype_dataset", "model_run", "job")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
VISIBILITY = "visibility IN ('public', 'restricted')"


def _owned_columns() -> list[sa.Column]:
    return [
        sa.Column("institute_id", sa.Integer(), sa.ForeignKey("institute.id"), nullable=True),
        sa.Column("visibility", sa.String(12), server_default="public", nullable=False),
    ]


def upgrade() -> None:
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("institute_id", sa.Integer(), nullable=True))
            batch.add_column(
                sa.Column("visibility", sa.String(12), server_default="public", nullable=False)
            )
            batch.create_foreign_key(f"fk_{table}_institute_id_institute", "institute",
                                     ["institute_id"], ["id"])  # fmt: skip
            batch.create_check_constraint("visibility_known", VISIBILITY)
            batch.create_index(f"ix_{table}_institute_id", ["institute_id"])
    with op.batch_alter_table("model_run") as batch:
        batch.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_model_run_created_by_user_account", "user_account",
                                 ["created_by"], ["id"])  # fmt: skip
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("cancel_requested", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("result", JSON, server_default=sa.text("'{}'"), nullable=False))
    op.create_index("ix_prediction_run_variable_rank", "prediction",
                    ["model_run_id", "variable_id", "rank"])  # fmt: skip

    op.create_table(
        "selection_list",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        *_owned_columns(),
        sa.UniqueConstraint("owner_id", "name", name="uq_selection_list_owner_id_name"),
        sa.CheckConstraint(VISIBILITY, name="ck_selection_list_visibility_known"),
    )
    op.create_index("ix_selection_list_owner_id", "selection_list", ["owner_id"])
    op.create_index("ix_selection_list_institute_id", "selection_list", ["institute_id"])
    op.create_table(
        "selection_list_item",
        sa.Column("list_id", sa.Integer(),
                  sa.ForeignKey("selection_list.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("accession_id", sa.Integer(),
                  sa.ForeignKey("accession.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("added_at", sa.DateTime(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_selection_list_item_accession_id", "selection_list_item", ["accession_id"])
    op.create_table(
        "selection_index",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("species_id", sa.Integer(), sa.ForeignKey("species.id"), nullable=False),
        sa.Column("model_run_id", sa.Integer(),
                  sa.ForeignKey("model_run.id", ondelete="SET NULL"), nullable=True),
        sa.Column("mode", sa.String(10), nullable=False, server_default="weights"),
        sa.Column("weights", JSON, nullable=False),
        sa.Column("proportion", sa.Float(), nullable=False, server_default="0.1"),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        *_owned_columns(),
        sa.CheckConstraint("mode IN ('weights', 'gains')", name="ck_selection_index_mode_known"),
        sa.CheckConstraint(VISIBILITY, name="ck_selection_index_visibility_known"),
    )  # fmt: skip
    op.create_index("ix_selection_index_owner_id", "selection_index", ["owner_id"])
    op.create_index("ix_selection_index_institute_id", "selection_index", ["institute_id"])


def downgrade() -> None:
    op.drop_table("selection_index")
    op.drop_table("selection_list_item")
    op.drop_table("selection_list")
    op.drop_index("ix_prediction_run_variable_rank", table_name="prediction")
    with op.batch_alter_table("job") as batch:
        batch.drop_column("result")
        batch.drop_column("cancel_requested")
        batch.drop_column("heartbeat_at")
    with op.batch_alter_table("model_run") as batch:
        batch.drop_constraint("fk_model_run_created_by_user_account", type_="foreignkey")
        batch.drop_column("created_by")
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_institute_id")
            batch.drop_constraint(f"ck_{table}_visibility_known", type_="check")
            batch.drop_constraint(f"fk_{table}_institute_id_institute", type_="foreignkey")
            batch.drop_column("visibility")
            batch.drop_column("institute_id")
