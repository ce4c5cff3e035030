#!/usr/bin/env bash
# First start of the compose file's PostgreSQL (an empty volume): one role and one database
# for Airflow's metadata, one for the pipeline's samples and decisions, and the BI reader.
#
# Run by the postgres image from /docker-entrypoint-initdb.d as the superuser. Passwords come
# from the environment (.env) and reach SQL only as psql variables (:'name' quotes them).
#
# infra_review gets CREATEROLE and ADMIN on bi_reader because its own migrations create
# bi_reader if missing (001) and set its defaults (005); it owns everything it creates, so
# the runtime role needs no other privilege. bi_reader may log in and read `reporting` only
# (the migrations grant that); no other database lets it (or any role but its owner) connect.
# `infra-review db upgrade` re-applies the rules for the decisions database on every run.
set -euo pipefail

: "${AIRFLOW_DB_PASSWORD:?}" "${INFRA_REVIEW_DB_PASSWORD:?}" "${BI_READER_PASSWORD:?}"
AIRFLOW_DB_NAME="${AIRFLOW_DB_NAME:-airflow}"
AIRFLOW_DB_USER="${AIRFLOW_DB_USER:-airflow}"
INFRA_REVIEW_DB_NAME="${INFRA_REVIEW_DB_NAME:-infra_review}"
INFRA_REVIEW_DB_USER="${INFRA_REVIEW_DB_USER:-infra_review}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v airflow_user="$AIRFLOW_DB_USER" -v airflow_db="$AIRFLOW_DB_NAME" \
    -v airflow_password="$AIRFLOW_DB_PASSWORD" \
    -v ir_user="$INFRA_REVIEW_DB_USER" -v ir_db="$INFRA_REVIEW_DB_NAME" \
    -v ir_password="$INFRA_REVIEW_DB_PASSWORD" \
    -v bi_password="$BI_READER_PASSWORD" <<'SQL'
CREATE ROLE :"airflow_user" LOGIN PASSWORD :'airflow_password';
CREATE DATABASE :"airflow_db" OWNER :"airflow_user";
-- Only each database's owner connects to it: PostgreSQL grants CONNECT and TEMPORARY on
-- every database to PUBLIC, which would let bi_reader into Airflow's metadata.
REVOKE ALL ON DATABASE :"airflow_db" FROM PUBLIC;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
REVOKE ALL ON DATABASE template1 FROM PUBLIC;

CREATE ROLE :"ir_user" LOGIN CREATEROLE PASSWORD :'ir_password';
CREATE DATABASE :"ir_db" OWNER :"ir_user";
REVOKE ALL ON DATABASE :"ir_db" FROM PUBLIC;

SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bi_reader') AS bi_reader_missing \gset
\if :bi_reader_missing
CREATE ROLE bi_reader LOGIN;
\endif
ALTER ROLE bi_reader LOGIN PASSWORD :'bi_password';
GRANT bi_reader TO :"ir_user" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;
GRANT CONNECT ON DATABASE :"ir_db" TO bi_reader;

-- Inside the decisions database: only the pipeline may create large objects or take advisory
-- locks (a reader holding the migrator's lock would block `db upgrade`); the same list as
-- infra_review.store.migrate.GUARDED_FUNCTIONS, which a test keeps equal.
\connect :"ir_db"
REVOKE EXECUTE ON FUNCTION
    lo_creat(integer), lo_create(oid), lo_from_bytea(oid, bytea),
    pg_advisory_lock(bigint), pg_advisory_lock(integer, integer),
    pg_advisory_lock_shared(bigint), pg_advisory_lock_shared(integer, integer),
    pg_try_advisory_lock(bigint), pg_try_advisory_lock(integer, integer),
    pg_try_advisory_lock_shared(bigint), pg_try_advisory_lock_shared(integer, integer),
    pg_advisory_xact_lock(bigint), pg_advisory_xact_lock(integer, integer),
    pg_advisory_xact_lock_shared(bigint), pg_advisory_xact_lock_shared(integer, integer),
    pg_try_advisory_xact_lock(bigint), pg_try_advisory_xact_lock(integer, integer),
    pg_try_advisory_xact_lock_shared(bigint), pg_try_advisory_xact_lock_shared(integer, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    lo_creat(integer), lo_create(oid), lo_from_bytea(oid, bytea),
    pg_advisory_lock(bigint), pg_advisory_lock(integer, integer),
    pg_advisory_lock_shared(bigint), pg_advisory_lock_shared(integer, integer),
    pg_try_advisory_lock(bigint), pg_try_advisory_lock(integer, integer),
    pg_try_advisory_lock_shared(bigint), pg_try_advisory_lock_shared(integer, integer),
    pg_advisory_xact_lock(bigint), pg_advisory_xact_lock(integer, integer),
    pg_advisory_xact_lock_shared(bigint), pg_advisory_xact_lock_shared(integer, integer),
    pg_try_advisory_xact_lock(bigint), pg_try_advisory_xact_lock(integer, integer),
    pg_try_advisory_xact_lock_shared(bigint), pg_try_advisory_xact_lock_shared(integer, integer)
    TO :"ir_user";
SQL
echo "init-databases: roles and databases $AIRFLOW_DB_NAME, $INFRA_REVIEW_DB_NAME and bi_reader ready"
