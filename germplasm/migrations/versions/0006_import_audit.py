"""Import audit trail: every import run and every passport field it changed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "data_import",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("user_account.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("run_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("undoes_id", sa.Integer(), sa.ForeignKey("data_import.id"), nullable=True),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('passport', 'pedigree', 'observations', 'brapi', 'undo')",
            name="ck_data_import_kind_known",
        ),
    )
    op.create_index("ix_data_import_created_at", "data_import", ["created_at"])
    op.create_table(
        "import_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "import_id",
            sa.Integer(),
            sa.ForeignKey("data_import.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("accession_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("field", sa.String(40), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "action IN ('insert', 'update', 'detach')", name="ck_import_change_action_known"
        ),
    )
    op.create_index("ix_import_change_import_id", "import_change", ["import_id"])
    op.create_index("ix_import_change_accession", "import_change", ["accession_id", "import_id"])


def downgrade() -> None:
    op.drop_table("import_change")
    op.drop_table("data_import")
