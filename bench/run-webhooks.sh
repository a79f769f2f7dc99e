#!/usr/bin/env bash
# Webhook latency and delivery throughput: bench/Tern.Bench.Webhooks hosts Tern in its own process (Kestrel on
# 127.0.0.1, --Tern:Webhooks:AllowPrivateNetworks=true, a throwaway data folder per run) beside a minimal receiver
# (Kestrel on 127.0.0.1, answers 204, checks signatures, records the arrival of each webhook-id) subscribed to
# link.clicked; measures click → delivery latency (batch window 100 ms and 0) and deliveries/s (8 and 64 per
# endpoint), and times the dispatcher's storage calls alone. Each measurement first waits for an idle machine.
# The soak (only when named: --only soak) sends browser redirects at a fixed rate for minutes to links created in
# bulk, with 1 and 4 link.clicked endpoints, and reports every 5 s whether delivery keeps up; --burst N adds runs
# that enqueue N clicks at once and time their drain.
#
#   bench/run-webhooks.sh                                # SQLite (a few minutes)
#   POSTGRES=1 bench/run-webhooks.sh                     # SQLite, then a throwaway PostgreSQL cluster
#   bench/run-webhooks.sh --events 50000 --concurrency 8,64,256
#   RESULTS_NAME=webhooks-soak bench/run-webhooks.sh --only soak --burst 100000     # 3,000 clicks/s for 120 s, 1 and 4 endpoints
#   POSTGRES=1 RESULTS_NAME=webhooks-soak-pg bench/run-webhooks.sh --postgres-only --only soak --burst 100000
#   SRC_REF=HEAD bench/run-webhooks.sh                   # measure the last commit, not the work tree's src/
#
# Arguments go to the program (options at the top of bench/Tern.Bench.Webhooks/Program.cs). Environment: POSTGRES,
# PG_BIN, PG_PORT (55432), PG_DIR (/tmp/pgb), QUIET_MAX_BUSY (20), QUIET_WAIT_RUN (1800 s), RESULTS_NAME.
# Writes bench/results/$RESULTS_NAME.md (default webhooks-latest).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-cw.sh"
snapshot_and_reexec run-webhooks.sh "$@"

run_hosted_bench webhooks Tern.Bench.Webhooks "Webhooks: click → delivery latency, delivery throughput and soak" 1800 "$@"
