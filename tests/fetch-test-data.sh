#!/usr/bin/env bash
# Fetches the country database the geo tests read into tests/.data/ (ignored by git). Idempotent.
# Data: ip-location-db geo-whois-asn-country, from RIR data by the NRO under CC BY 4.0 (see the LICENSE file beside it).
set -euo pipefail
cd "$(dirname "$0")"

package="@ip-location-db/geo-whois-asn-country-mmdb"
version="2.3.2026061719"
file="geo-whois-asn-country.mmdb"
sha256="c5f7c0e9bd6a6ccb5a2e9634764544a0d08bd0bd8788b8aedfac87bea184c652"
dest=".data/$file"

if [[ -f "$dest" ]]; then
  echo "tests/$dest is already there"
  exit 0
fi

if ! command -v npm >/dev/null; then
  echo "npm is needed to fetch $package@$version" >&2
  exit 1
fi

mkdir -p .data
work="$(mktemp -d .data/fetch.XXXXXX)"
trap 'rm -rf "$work"' EXIT

tarball="$(npm pack --silent --pack-destination "$work" "$package@$version")"
tar -xzf "$work/$tarball" -C "$work" "package/$file" package/NRO_LICENSE
echo "$sha256  $work/package/$file" | sha256sum --check --quiet -
mv "$work/package/NRO_LICENSE" ".data/${file%.mmdb}.LICENSE"
# Moved last and within one file system, so a file at $dest is always complete.
mv "$work/package/$file" "$dest"
echo "fetched tests/$dest from $package@$version"
