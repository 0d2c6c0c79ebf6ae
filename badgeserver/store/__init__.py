"""Persistence: SQLAlchemy tables, the engine and sessions, Alembic migrations. Knows SQL, not JSON-LD."""
