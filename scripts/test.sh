#!/usr/bin/env bash
# Sets up this machine for the tests and runs all of them: every crate,
# every store, without stopping at the first failing test binary. Extra
# arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests drive cargo themselves; make sure no outer wrapper or cache leaks in.
unset RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER CARGO_BUILD_RUSTC_WRAPPER KILN_DIR KILN_REMOTE || true
source scripts/test-tools.sh
echo "== tests"
# Tests that need root (mounting a tiny filesystem) are ignored unless run
# as root.
if [ "$(id -u)" = 0 ] && [ $# -eq 0 ]; then
  set -- -- --include-ignored
fi
exec cargo test --workspace --locked --all-features --no-fail-fast "$@"
