"""Sharing: the issuer's LinkedIn organization id, the earner's public profile handle and privacy

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issuers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("linkedin_organization_id", sa.String(length=20), nullable=True))
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile_handle", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("profile_public", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_unique_constraint("uq_people_profile_handle", ["profile_handle"])
    op.create_table(
        "retired_handles",
        sa.Column("handle", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("handle"),
    )


def downgrade() -> None:
    op.drop_table("retired_handles")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint("uq_people_profile_handle", type_="unique")
        batch_op.drop_column("profile_public")
        batch_op.drop_column("profile_handle")
    with op.batch_alter_table("issuers", schema=None) as batch_op:
        batch_op.drop_column("linkedin_organization_id")
