#!/usr/bin/env bash
# Refuse weak secrets before anything starts: every variable named on the command line must
# hold at least 16 characters. docker-compose.yaml runs this in its `secrets-check` service,
# which postgres and redis (and so every other service) wait for, so `docker compose up`
# stops with the variable's name instead of starting a stack with a guessable password.
# deploy/init-env.sh generates 48 hex characters or more for each.
#   deploy/check-secrets.sh POSTGRES_PASSWORD REDIS_PASSWORD ...
set -euo pipefail
MIN_LENGTH=16

if (($# == 0)); then
    echo "check-secrets: name the variables to check" >&2
    exit 2
fi
weak=0
for name in "$@"; do
    value="${!name-}"
    if ((${#value} < MIN_LENGTH)); then
        echo "check-secrets: $name has ${#value} characters; secrets need at least $MIN_LENGTH" \
            "(deploy/init-env.sh generates strong ones)" >&2
        weak=1
    fi
done
if ((weak)); then
    exit 1
fi
echo "check-secrets: $# secrets of at least $MIN_LENGTH characters"
