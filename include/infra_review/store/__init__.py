"""PostgreSQL access: migrations, bulk loads, decision records and reporting views."""
