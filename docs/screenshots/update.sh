#!/usr/bin/env bash
# Regenerates the dashboard screenshots in this folder from a seeded server, using Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build Tern.slnx -v q
TERN_SCREENSHOTS=1 dotnet test Tern.slnx --no-build --filter "FullyQualifiedName~DashboardScreenshots"
