"""cases.merged_into_id: where mail for a case merged by #merge goes

Revision ID: 0002
Revises: 0001

SQLite adds the column in place (ALTER TABLE ... ADD COLUMN ... REFERENCES): a batch
rebuild would drop and recreate `cases`, which the foreign keys of messages, events and
the outbox forbid while they hold rows.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE cases ADD COLUMN merged_into_id INTEGER REFERENCES cases (id)")
    else:
        op.add_column('cases', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_cases_merged_into_id_cases', 'cases', 'cases',
                              ['merged_into_id'], ['id'])
    op.create_index('ix_cases_merged_into_id', 'cases', ['merged_into_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_merged_into_id', table_name='cases')
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE cases DROP COLUMN merged_into_id")   # SQLite >= 3.35
    else:
        op.drop_constraint('fk_cases_merged_into_id_cases', 'cases', type_='foreignkey')
        op.drop_column('cases', 'merged_into_id')
