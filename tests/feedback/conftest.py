from tests.feedback.databases import database_target, postgres

__all__ = ["database_target", "postgres"]
