# Sourced by .ci/run: start the local PostgreSQL cluster and export TEST_POSTGRES_URL for the
# tuning test that runs workers against one study. Debian's packaging: pg_createcluster/pg_ctlcluster.
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
pg_lsclusters -h | grep -q "^$version main " || pg_createcluster "$version" main >/dev/null
pg_ctlcluster "$version" main start 2>/dev/null || pg_ctlcluster "$version" main status >/dev/null
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
su postgres -c "psql -p $port -qc \"ALTER USER postgres PASSWORD 'postgres'\""
su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname = 'optuna_ci'\"" \
  | grep -q 1 || su postgres -c "createdb -p $port optuna_ci"
export TEST_POSTGRES_URL="postgresql://postgres:postgres@127.0.0.1:$port/optuna_ci"
echo "PostgreSQL $version on port $port: $TEST_POSTGRES_URL"
