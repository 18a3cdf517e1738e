"""an outcome's finding (核查结论), the new deadline a 督办 sets, interviews recorded as
held (约谈)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 00:10:00

Outcomes recorded before this revision have no finding: they read "finding not
recorded", and no notice is issued from them until one is set.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outcomes", sa.Column("finding", sa.Text(), nullable=True))
    op.add_column("rectifications", sa.Column("renewed_deadline", sa.Date(), nullable=True))
    # SQLite takes the reference inline in ADD COLUMN; rebuilding the table instead, as a
    # batch would, trips the foreign keys of the leads already pointing at entities.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE entities ADD COLUMN resident_group_id INTEGER "
            "CONSTRAINT fk_entities_resident_group_id_units REFERENCES units (id)"
        )
    else:
        op.add_column("entities", sa.Column("resident_group_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_entities_resident_group_id_units",
            "entities",
            "units",
            ["resident_group_id"],
            ["id"],
        )
    op.create_table(
        "interviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("interviewer", sa.String(length=100), nullable=False),
        sa.Column("interviewee", sa.String(length=100), nullable=False),
        sa.Column("followed", sa.Text(), nullable=False),
        sa.Column("meeting", sa.String(length=100), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id"),
    )


def downgrade() -> None:
    op.drop_table("interviews")
    op.drop_column("rectifications", "renewed_deadline")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_entities_resident_group_id_units", "entities", type_="foreignkey")
    op.drop_column("entities", "resident_group_id")
    op.drop_column("outcomes", "finding")
