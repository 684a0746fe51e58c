#!/bin/bash
# The PostgreSQL stand-in's entrypoint: what the official postgres image's
# does, as far as this project uses it. On an empty data directory it runs
# initdb with POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), creates
# POSTGRES_DB and runs /docker-entrypoint-initdb.d/*.sql and *.sh once;
# then it runs postgres as the postgres user, listening on all addresses
# with password authentication.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    POSTGRES_PASSWORD=$(<"$POSTGRES_PASSWORD_FILE")
fi
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "error: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    as_postgres "$PGBIN/initdb" -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" \
        --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start
    db=${POSTGRES_DB:-postgres}
    if [ "$db" != postgres ]; then
        as_postgres psql -v ON_ERROR_STOP=1 -U postgres -c "CREATE DATABASE \"$db\""
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) echo "running $f"; as_postgres psql -v ON_ERROR_STOP=1 -U postgres -d "$db" -f "$f" ;;
            *.sh) echo "running $f"; . "$f" ;;
        esac
    done
    as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop
    echo "PostgreSQL init process complete; ready for start up."
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
    "$PGBIN/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
