"""Revocation, suspension, expiry and the key lifecycle

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspension_list_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revocation_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("replaces_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            "fk_credentials_suspension_list", "status_lists", ["suspension_list_id"], ["id"]
        )
        batch_op.create_unique_constraint(
            "uq_credentials_suspension_index", ["suspension_list_id", "status_index"]
        )
    with op.batch_alter_table("microcredential_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("validity_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_status_lists_key", "issuer_keys", ["key_id"], ["id"])
    with op.batch_alter_table("issuer_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issuer_keys", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("retired_at")
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.drop_constraint("fk_status_lists_key", type_="foreignkey")
        batch_op.drop_column("key_id")
    with op.batch_alter_table("microcredential_versions", schema=None) as batch_op:
        batch_op.drop_column("validity_days")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_constraint("uq_credentials_suspension_index", type_="unique")
        batch_op.drop_constraint("fk_credentials_suspension_list", type_="foreignkey")
        batch_op.drop_column("replaces_id")
        batch_op.drop_column("suspended_at")
        batch_op.drop_column("revocation_reason")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("valid_until")
        batch_op.drop_column("suspension_list_id")
