#!/usr/bin/env bash
# Writes an nginx map of N slugs, /b<i> -> https://example.com/p/<i>?member=usr_<i>, the links the Tern
# benchmark seeds. Usage: gen-map.sh N OUTPUT_FILE
set -euo pipefail
n=${1:?usage: gen-map.sh N OUTPUT_FILE}
out=${2:?usage: gen-map.sh N OUTPUT_FILE}
{
    echo 'map $uri $tern_destination {'
    echo '    default "";'
    seq 1 "$n" | awk '{ printf "    /b%d https://example.com/p/%d?member=usr_%d;\n", $1, $1, $1 }'
    echo '}'
} > "$out"
