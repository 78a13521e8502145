#!/usr/bin/env bash
# Starts Debian's PostgreSQL on 127.0.0.1 (installing it when missing; needs root), makes a
# role and a database for the survey's load test, and prints the SQLAlchemy URL on stdout.
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
read -r ver name port status _ <<< "$(pg_lsclusters -h | head -1)"
if [ "$status" != "online" ]; then
  pg_ctlcluster "$ver" "$name" start >&2
fi
psql_() { su postgres -c "psql -p $port -tAc \"$1\""; }
if [ "$(psql_ "SELECT 1 FROM pg_roles WHERE rolname='ra_survey'")" != 1 ]; then
  psql_ "CREATE ROLE ra_survey LOGIN PASSWORD 'ra_survey'" >&2
fi
if [ "$(psql_ "SELECT 1 FROM pg_database WHERE datname='ra_survey_test'")" != 1 ]; then
  su postgres -c "createdb -p $port -O ra_survey ra_survey_test" >&2
fi
echo "postgresql+psycopg://ra_survey:ra_survey@127.0.0.1:$port/ra_survey_test"
