"""The thematic database: tables, migrations and every SQL statement of the hub."""
