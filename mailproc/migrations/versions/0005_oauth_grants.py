"""OAuth2 grants: encrypted refresh and access tokens per mailbox and for the outgoing server

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'oauth_grants',
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('account', sa.String(length=320), nullable=False),
        sa.Column('client_id', sa.String(length=300), nullable=False),
        sa.Column('token_url', sa.Text(), nullable=False),
        sa.Column('scopes', sa.Text(), nullable=False),
        sa.Column('refresh_token', sa.Text(), nullable=True),
        sa.Column('access_token', sa.Text(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('problem', sa.Text(), nullable=True),
        sa.Column('lease_holder', sa.String(length=100), nullable=True),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('refreshed_at', sa.DateTime(), nullable=True),
        sa.Column('refreshes', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('oauth_grants')
