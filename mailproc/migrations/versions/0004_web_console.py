"""web console: users, sessions, sign-in links, login attempts; template and KB versions;
the case list's indexes (newest activity first; the messages' words on PostgreSQL)

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

# The expression the colleague look-up asks for (a copy: a migration must not change when
# the models do); mailproc.models.DOMAIN_OF_EMAIL.
DOMAIN_OF_EMAIL = {"postgresql": "split_part({0}, '@', 2)",
                   "sqlite": "substr({0}, instr({0}, '@') + 1)"}


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=True),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_login_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('email'),
    )
    op.create_table(
        'web_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('user_agent', sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_web_sessions_user_id', 'web_sessions', ['user_id'])
    op.create_table(
        'sign_in_links',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'login_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_attempts_email_at', 'login_attempts', ['email', 'at'])
    op.create_index('ix_login_attempts_address_at', 'login_attempts', ['address', 'at'])
    op.create_table(
        'template_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('removed', sa.Boolean(), nullable=False),
        sa.Column('author', sa.String(length=320), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_template_versions_name', 'template_versions', ['name'])
    op.create_table(
        'kb_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('article_id', sa.String(length=200), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('removed', sa.Boolean(), nullable=False),
        sa.Column('author', sa.String(length=320), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_kb_versions_article_id', 'kb_versions', ['article_id'])
    op.create_index('ix_cases_updated', 'cases', ['updated_at', 'id'])
    # Threading's look-ups at a million messages (bench/threading_lookup.py).
    op.drop_index('ix_messages_from_addr', table_name='messages')
    op.create_index('ix_messages_from_date', 'messages', ['from_addr', 'date_at'])
    op.drop_index('ix_cases_customer_id', table_name='cases')
    op.create_index('ix_cases_customer_updated', 'cases', ['customer_id', 'updated_at'])
    dialect = op.get_bind().dialect.name
    if dialect in DOMAIN_OF_EMAIL:
        op.create_index(f'ix_contacts_domain_{dialect}', 'contacts',
                        [sa.text(DOMAIN_OF_EMAIL[dialect].format('email'))])
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_messages_words', 'messages',
                        [sa.text("to_tsvector('simple', new_text)")], postgresql_using='gin')


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect in DOMAIN_OF_EMAIL:
        op.drop_index(f'ix_contacts_domain_{dialect}', table_name='contacts')
    op.drop_index('ix_cases_customer_updated', table_name='cases')
    op.create_index('ix_cases_customer_id', 'cases', ['customer_id'])
    op.drop_index('ix_messages_from_date', table_name='messages')
    op.create_index('ix_messages_from_addr', 'messages', ['from_addr'])
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_messages_words', table_name='messages')
    op.drop_index('ix_cases_updated', table_name='cases')
    op.drop_index('ix_kb_versions_article_id', table_name='kb_versions')
    op.drop_table('kb_versions')
    op.drop_index('ix_template_versions_name', table_name='template_versions')
    op.drop_table('template_versions')
    op.drop_index('ix_login_attempts_address_at', table_name='login_attempts')
    op.drop_index('ix_login_attempts_email_at', table_name='login_attempts')
    op.drop_table('login_attempts')
    op.drop_table('sign_in_links')
    op.drop_index('ix_web_sessions_user_id', table_name='web_sessions')
    op.drop_table('web_sessions')
    op.drop_table('users')
