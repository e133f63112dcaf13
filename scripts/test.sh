#!/usr/bin/env bash
# The whole test suite, as the README gives it. Everything the tests need is committed
# (samples, DevTools goldens) or installed by the tests themselves (other Node.js versions
# come from the npm registry through samples/node-version.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --profile ci "$@"
