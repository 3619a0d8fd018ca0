"""observation_variable.direction and optimum: each trait's breeding goal

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("observation_variable") as batch:
        batch.add_column(
            sa.Column("direction", sa.String(length=10), server_default="higher", nullable=False)
        )
        batch.add_column(sa.Column("optimum", sa.Float(), nullable=True))
        batch.create_check_constraint(
            "direction_known", "direction IN ('higher', 'lower', 'optimum')"
        )


def downgrade() -> None:
    with op.batch_alter_table("observation_variable") as batch:
        batch.drop_constraint("ck_observation_variable_direction_known", type_="check")
        batch.drop_column("optimum")
        batch.drop_column("direction")
