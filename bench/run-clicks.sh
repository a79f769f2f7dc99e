#!/usr/bin/env bash
# Click persistence throughput and stats latency: bench/Tern.Bench.Clicks hosts Tern in its own process (Kestrel on
# 127.0.0.1, a throwaway data folder per run), feeds ClickCaptures straight into the ClickQueue and times the
# ClickWriter; then times GET /api/v1/links/{id}/stats and GET /api/v1/stats over HTTP on 1M and 10M clicks.
# Every measurement first waits for the machine to be idle (< 20 % busy), as the other bench scripts do.
#
#   bench/run-clicks.sh                                  # SQLite, everything (about an hour)
#   POSTGRES=1 bench/run-clicks.sh                       # SQLite, then a throwaway PostgreSQL cluster
#   POSTGRES=1 bench/run-clicks.sh --postgres-only --only throughput,breakdown
#   bench/run-clicks.sh --clicks 200000 --stats-workspace-clicks 1000000      # quicker
#   SRC_REF=HEAD bench/run-clicks.sh                     # measure the last commit, not the work tree's src/
#
# Arguments go to the program (options at the top of bench/Tern.Bench.Clicks/Program.cs). Environment: POSTGRES,
# PG_BIN (/usr/lib/postgresql/15/bin), PG_PORT (55432), PG_DIR (/tmp/pgb), QUIET_MAX_BUSY (20), QUIET_WAIT_RUN (1800 s:
# longest wait for an idle machine before a measurement, after which it measures anyway), RESULTS_NAME.
# Writes bench/results/$RESULTS_NAME.md (default clicks-latest).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-cw.sh"
snapshot_and_reexec run-clicks.sh "$@"

run_hosted_bench clicks Tern.Bench.Clicks "Clicks: persistence throughput and stats latency" 1800 "$@"
