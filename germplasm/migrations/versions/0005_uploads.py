"""Resumable uploads (tus) and upload batches described by a sample sheet

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "upload_batch",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("institute_id", sa.Integer(), sa.ForeignKey("institute.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("state", sa.String(12), nullable=False, server_default="open"),
        sa.Column("sheet", JSON, nullable=False),
        sa.Column("sheet_name", sa.String(500), nullable=False, server_default=""),
        sa.Column("problems", JSON, nullable=False),
        sa.Column("call_variants", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("job.id"), nullable=True),
        sa.Column(
            "genotype_dataset_id", sa.Integer(), sa.ForeignKey("genotype_dataset.id"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'registered', 'failed')", name="ck_upload_batch_state_known"
        ),
    )
    op.create_index("ix_upload_batch_institute_id", "upload_batch", ["institute_id"])
    op.create_table(
        "upload",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("institute_id", sa.Integer(), sa.ForeignKey("institute.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column(
            "batch_id",
            sa.Integer(),
            sa.ForeignKey("upload_batch.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("filename", sa.String(500), nullable=False, server_default=""),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("meta", JSON, nullable=False),
        sa.Column("state", sa.String(12), nullable=False, server_default="receiving"),
        sa.Column("message", sa.Text(), nullable=False, server_default=""),
        sa.Column("format", sa.String(20), nullable=False, server_default=""),
        sa.Column("data_file_id", sa.Integer(), sa.ForeignKey("data_file.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('receiving', 'complete', 'verified', 'failed', 'expired')",
            name="ck_upload_state_known",
        ),
    )
    op.create_index("ix_upload_institute_id", "upload", ["institute_id"])
    op.create_index("ix_upload_batch_id", "upload", ["batch_id"])
    op.create_index("ix_upload_state", "upload", ["state"])
    op.create_index("ix_upload_expires_at", "upload", ["expires_at"])
    with op.batch_alter_table("data_file") as batch:
        # What the sample sheet says of the file (read 1 or 2 of a pair, library, platform).
        batch.add_column(sa.Column("read_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("library", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("platform", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_data_file_batch_id_upload_batch", "upload_batch", ["batch_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("data_file") as batch:
        batch.drop_constraint("fk_data_file_batch_id_upload_batch", type_="foreignkey")
        batch.drop_column("batch_id")
        batch.drop_column("platform")
        batch.drop_column("library")
        batch.drop_column("read_number")
    op.drop_table("upload")
    op.drop_table("upload_batch")
