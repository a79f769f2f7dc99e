#!/usr/bin/env bash
# Bulk link creation: bench/Tern.Bench.Bulk hosts Tern in its own process (Kestrel on 127.0.0.1, a throwaway data
# folder per run) and times repeated POST /api/v1/links/bulk calls of 1,000 new links over HTTP: sustained links/s
# and the latency of one call (p50/p95), one call in flight and two; then links created one a call with
# POST /api/v1/links (links/s, p50/p99), one call in flight and sixteen. Every measurement first waits for the machine
# to be idle (< 20 % busy), as the other bench scripts do.
#
#   bench/run-bulk.sh                                  # SQLite (about a minute)
#   POSTGRES=1 bench/run-bulk.sh                       # SQLite, then a throwaway PostgreSQL cluster
#   bench/run-bulk.sh --calls 200 --concurrency 1      # longer, one call in flight
#   SRC_REF=HEAD bench/run-bulk.sh                     # measure the last commit, not the work tree's src/
#
# Arguments go to the program (options at the top of bench/Tern.Bench.Bulk/Program.cs). Environment: POSTGRES,
# PG_BIN (/usr/lib/postgresql/15/bin), PG_PORT (55432), PG_DIR (/tmp/pgb), QUIET_MAX_BUSY (20), QUIET_WAIT_RUN (600 s),
# RESULTS_NAME. Writes bench/results/$RESULTS_NAME.md (default bulk-latest).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-cw.sh"
snapshot_and_reexec run-bulk.sh "$@"

run_hosted_bench bulk Tern.Bench.Bulk "Bulk creation: links/s and latency of 1,000-link calls" 600 "$@"
