#!/usr/bin/env bash
# Redirect throughput with telemetry off and on, in one run: bench/run-redirect.sh twice, Tern only, the second time
# with Tern:Telemetry:Prometheus=true (the OpenTelemetry SDK listening to HTTP, runtime and Tern's meter, and /metrics
# scraped once a second as Prometheus would), then both figures side by side in bench/results/redirect-telemetry.md.
#
#   bench/run-redirect-telemetry.sh                               # N=100000, 3 rounds of 20 s each
#   N=10000 REPEAT=1 DURATION=10s WARMUP=5s bench/run-redirect-telemetry.sh   # quick
#
# Takes the settings of run-redirect.sh (N, DURATION, WARMUP, REPEAT, PORT, QUIET_MAX_BUSY, QUIET_WAIT …).
set -euo pipefail
bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
results=${RESULTS_DIR:-$bench/results}
port=${PORT:-5080}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

COMPARE="" RESULTS_NAME=redirect-telemetry-off "$bench/run-redirect.sh"

# A scraper like Prometheus's, so that the exporter's collection is part of what is measured.
( while sleep 1; do curl -s -o /dev/null "http://127.0.0.1:$port/metrics" || true; done ) &
scraper=$!
trap 'kill "$scraper" 2>/dev/null || true' EXIT
COMPARE="" RESULTS_NAME=redirect-telemetry-on SERVER_ARGS="--Tern:Telemetry:Prometheus=true ${SERVER_ARGS:-}" "$bench/run-redirect.sh"

row() { grep -m1 '^| Tern |' "$results/$1.md" | sed "s/^| Tern |/| Tern, telemetry $2 |/"; }
{
    echo "### Redirect throughput, telemetry off and on, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Two runs of \`bench/run-redirect.sh\` one after the other (off, then on with /metrics scraped every second);"
    echo "details and every round in redirect-telemetry-off.md and redirect-telemetry-on.md. Load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "| server | redirects/s (median) | range | p50 ms | p90 ms | p99 ms | server CPU µs/redirect | allocated B/redirect | RSS MiB (peak) |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
    row redirect-telemetry-off off
    row redirect-telemetry-on on
} >"$results/redirect-telemetry.md"
cat "$results/redirect-telemetry.md"
