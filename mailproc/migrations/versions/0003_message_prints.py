"""message_prints: fingerprints of what people wrote, to thread replies that quote it

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'message_prints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_pk', sa.Integer(), nullable=False),
        sa.Column('print', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['message_pk'], ['messages.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_message_prints_message_pk', 'message_prints', ['message_pk'])
    op.create_index('ix_message_prints_print', 'message_prints', ['print'])


def downgrade() -> None:
    op.drop_index('ix_message_prints_print', table_name='message_prints')
    op.drop_index('ix_message_prints_message_pk', table_name='message_prints')
    op.drop_table('message_prints')
