#!/usr/bin/env bash
# BenchmarkDotNet micro-benchmarks of the redirect path (bench/Tern.Benchmarks), short job by default.
#
#   bench/run-benchmarks.sh                                   # every benchmark, --job short
#   bench/run-benchmarks.sh --filter '*LinkCache*' --job short
#   SRC_REF=HEAD bench/run-benchmarks.sh                      # on the last commit, not the work tree's src/
#
# Copies the GitHub-flavoured tables to bench/results/benchmarks-latest.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
snapshot_and_reexec run-benchmarks.sh "$@"
trap remove_snapshot EXIT

RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
args=("$@")
((${#args[@]})) || args=(--filter '*' --job short)
need dotnet

cd "$BENCH_DIR/Tern.Benchmarks"
log "building bench/Tern.Benchmarks (Release)"
dotnet build -c Release -nologo -v quiet -clp:ErrorsOnly
artifacts=$(mktemp -d /tmp/tern-bench-bdn.XXXXXX)
dotnet bin/Release/net10.0/Tern.Benchmarks.dll "${args[@]}" --artifacts "$artifacts"

mkdir -p "$RESULTS_DIR"
{
    echo "### BenchmarkDotNet, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Source $(source_version); arguments: ${args[*]}"
    echo
    for report in "$artifacts"/results/*-report-github.md; do
        cat "$report"
        echo
    done
} >"$RESULTS_DIR/benchmarks-latest.md"
rm -rf "$artifacts"
log "tables in $RESULTS_DIR/benchmarks-latest.md"
