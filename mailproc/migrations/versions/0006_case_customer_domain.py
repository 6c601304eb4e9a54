"""cases.customer_domain: the colleague look-up reads a domain's recent cases in one index
range (ix_cases_domain_updated) instead of one per person at the domain; the contacts' domain
index of 0004 that served it goes

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

# An address's domain as SQL (a copy: a migration must not change when the code does).
DOMAIN_OF_EMAIL = {"postgresql": "split_part({0}, '@', 2)",
                   "sqlite": "substr({0}, instr({0}, '@') + 1)"}

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # In place on SQLite too (ADD COLUMN): a batch rebuild of `cases` is forbidden by the
    # foreign keys that point at it while they hold rows (see 0002).
    op.add_column('cases', sa.Column('customer_domain', sa.String(length=255), nullable=True))
    domain = DOMAIN_OF_EMAIL.get(dialect, DOMAIN_OF_EMAIL['sqlite']).format('contacts.email')
    op.execute(f"UPDATE cases SET customer_domain = (SELECT lower({domain}) FROM contacts "
               f"WHERE contacts.id = cases.customer_id) WHERE customer_id IS NOT NULL")
    op.create_index('ix_cases_domain_updated', 'cases', ['customer_domain', 'updated_at'])
    if dialect in DOMAIN_OF_EMAIL:
        op.drop_index(f'ix_contacts_domain_{dialect}', table_name='contacts')


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect in DOMAIN_OF_EMAIL:
        op.create_index(f'ix_contacts_domain_{dialect}', 'contacts',
                        [sa.text(DOMAIN_OF_EMAIL[dialect].format('email'))])
    op.drop_index('ix_cases_domain_updated', table_name='cases')
    op.drop_column('cases', 'customer_domain')     # SQLite >= 3.35 drops it in place
