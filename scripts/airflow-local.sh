#!/usr/bin/env bash
# `make airflow`: the Airflow 3 UI with this project's DAGs, on the project's PostgreSQL.
# Metadata goes to database "airflow" on the same server as the decisions database
# (DATABASE_URL, or the embedded pgserver), so the LocalExecutor can run tasks in parallel.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=false
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__API__PORT="${AIRFLOW_PORT:-8080}"
export AIRFLOW__API__HOST="${AIRFLOW_HOST:-127.0.0.1}"
# Task processes reach the API server here; it must follow the port, or tasks get
# "connection refused" on anything but 8080.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://${AIRFLOW__API__HOST}:${AIRFLOW__API__PORT}/execution/"
# LocalExecutor starts one worker per parallel slot; 32 on a 2-core machine only thrashes.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
# Tasks call the API server to start; on a small busy machine its answer can take longer than
# the 5 s default, which fails the task before it runs.
export AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT="${AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT:-60}"
export PYTHONPATH="$ROOT/include${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$AIRFLOW_HOME"

DATABASE_URL="$(infra-review db url)"
export DATABASE_URL
AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="$(infra-review db airflow-url)"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
infra-review db upgrade

URL="http://${AIRFLOW__API__HOST}:${AIRFLOW__API__PORT}"
PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
(
    for _ in $(seq 1 180); do
        if curl -fsS "$URL/api/v2/monitor/health" >/dev/null 2>&1; then
            echo
            echo "Airflow UI: $URL"
            echo "Login:      admin / $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$PASSWORDS" 2>/dev/null || echo "see $PASSWORDS")"
            echo
            exit 0
        fi
        sleep 1
    done
    echo "Airflow did not become healthy within 180 s; see the log above" >&2
) &
exec airflow standalone
