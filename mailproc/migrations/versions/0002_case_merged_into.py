"""cases.merged_into_id: where mail for a case merged by #merge goes

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_cases_merged_into_id_cases', 'cases',
                                    ['merged_into_id'], ['id'])
        batch_op.create_index('ix_cases_merged_into_id', ['merged_into_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_merged_into_id')
        batch_op.drop_constraint('fk_cases_merged_into_id_cases', type_='foreignkey')
        batch_op.drop_column('merged_into_id')
