#!/usr/bin/env bash
# Write .env for docker-compose.yaml from .env.example, generating every empty secret:
#   deploy/init-env.sh            # writes ./.env (refuses to overwrite an existing one)
#   deploy/init-env.sh PATH       # writes PATH instead
# Secrets are hex (URL-safe: they go inside connection URLs); the Fernet key is 32 random
# bytes in URL-safe base64, which is what cryptography's Fernet.generate_key() returns.
# Needs only bash and openssl. Keep .env out of git (it is in .gitignore).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${1:-$ROOT/.env}"

if [[ -e "$TARGET" ]]; then
    echo "init-env: $TARGET exists; not overwriting it (delete it first to start over)" >&2
    exit 1
fi
command -v openssl >/dev/null || { echo "init-env: openssl is needed" >&2; exit 1; }

umask 077
while IFS= read -r line || [[ -n "$line" ]]; do
    case "$line" in
        AIRFLOW_FERNET_KEY=) echo "AIRFLOW_FERNET_KEY=$(openssl rand -base64 32 | tr '+/' '-_')" ;;
        AIRFLOW_UID=*) echo "AIRFLOW_UID=$(id -u)" ;;
        # JWTs are signed with HS512: a key of at least 64 bytes (RFC 7518 3.2)
        AIRFLOW_JWT_SECRET=) echo "AIRFLOW_JWT_SECRET=$(openssl rand -hex 64)" ;;
        *_PASSWORD= | *_SECRET= | *_SECRET_KEY=) echo "${line}$(openssl rand -hex 24)" ;;
        *) echo "$line" ;;
    esac
done <"$ROOT/.env.example" >"$TARGET"
echo "init-env: wrote $TARGET with generated secrets (the Airflow admin password is AIRFLOW_ADMIN_PASSWORD there)"
