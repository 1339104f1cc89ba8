#!/usr/bin/env bash
# A second PostgreSQL cluster on this machine with the settings docs/deploy.md recommends for a
# large database, for benchmarks/scale.py (Debian's postgresql-common; run as root).
#   bash benchmarks/pg_bench_cluster.sh [--stats]   # --stats: also load pg_stat_statements
#   NEWSMON_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5433/postgres \
#       .venv/bin/python benchmarks/scale.py --size 1000000 ...
#   pg_ctlcluster --skip-systemctl-redirect 15 bench stop    # when done
set -euo pipefail
version=$(ls /etc/postgresql | sort -n | tail -1)
port=${PORT:-5433}
if ! pg_lsclusters -h | awk '{print $2}' | grep -qx bench; then
    pg_createcluster "$version" bench --port "$port" -- --auth-local=trust --auth-host=trust
fi
conf=/etc/postgresql/$version/bench/conf.d/newsmon-bench.conf
cat > "$conf" <<CONF
shared_buffers = 4GB
effective_cache_size = 12GB
max_wal_size = 8GB
checkpoint_timeout = 15min
wal_compression = lz4
maintenance_work_mem = 1GB
work_mem = 16MB
listen_addresses = '127.0.0.1'
CONF
if [[ ${1:-} == --stats ]]; then
    printf "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n" >> "$conf"
fi
pg_ctlcluster --skip-systemctl-redirect "$version" bench restart 2>/dev/null \
    || pg_ctlcluster --skip-systemctl-redirect "$version" bench start
pg_lsclusters
