#!/usr/bin/env bash
# scripts/deps.sh: make sure this machine has everything the build and the tests need.
#
#   1. Debian packages (compilers, libraries, tools), installed with apt-get.
#   2. libwebsockets 4.1.6 built WITH libevent support, static, into
#      ${SB_BUILD_DIR:-build}/deps/lws-install (Debian's libwebsockets-dev is built
#      without LWS_WITH_LIBEVENT, so we build Debian's own source package ourselves).
#   3. The node packages of tests/node (npm ci from the committed lockfile).
#
# Every new machine (a developer's, CI's) starts without what a previous session installed
# by hand, so the build calls this first. It must therefore be idempotent and cheap when
# nothing is missing: only dpkg-query and file stamps are looked at then (no network, no
# apt-get update), and nothing is printed. Each thing it actually does prints one line.
#
# Environment:
#   SB_BUILD_DIR        build tree (default: build), relative paths are taken from the
#                       repository root. lws lands in $SB_BUILD_DIR/deps/lws-install.
#   SB_DEBIAN_ARCHIVE   "URI SUITE" of the Debian archive to fetch lws' source from
#                       (default: read from the system's apt sources).
#   SB_DEPS_SKIP        space-separated subset of "apt lws node" to skip.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${SB_BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
DEPS=$BUILD_DIR/deps
SKIP=" ${SB_DEPS_SKIP:-} "

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# Run a noisy command with its output in a log file; on failure show the log's tail.
run_logged() {
  local log=$1; shift
  mkdir -p "$(dirname "$log")"
  if ! "$@" >"$log" 2>&1; then
    printf 'deps: error: command failed: %s\n--- last lines of %s ---\n' "$*" "$log" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

# apt-get install needs root; everything else here does not.
SUDO=()
if [ "$(id -u)" != 0 ]; then SUDO=(sudo); fi

# Take an exclusive lock on the deps tree (several builds may start at once); called
# only once we know there is work to do, so the fast path never waits on it.
lock_deps() {
  [ -n "${DEPS_LOCKED:-}" ] && return 0
  mkdir -p "$DEPS"
  exec 9>"$DEPS/.lock"
  flock 9
  DEPS_LOCKED=1
}

# ---------------------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------------------
APT_PACKAGES=(
  build-essential cmake pkg-config   # toolchain
  lua5.4                             # runs the generator
  libcmocka-dev                      # unit tests
  libssl-dev                         # OpenSSL 3: JWT signatures (jwt.c), https in http_client.c (libssl)
  libevent-dev                       # the event loop, evhttp and libevent_openssl (also needed to build lws)
  libsqlite3-dev sqlite3             # storage
  libhiredis-dev redis-server        # the Redis fan-out bus (runtime/bus.c), and its tests' server
  libpq-dev postgresql               # the PostgreSQL engine (libpq); its tests' throwaway server
  clang libclang-rt-14-dev           # libFuzzer and sanitizer runtimes
  libcjson-dev libjansson-dev libjson-c-dev libsimdjson-dev   # benchmark references
  valgrind                           # callgrind instruction counts, memcheck
  dpkg-dev patch                     # apt-get source unpacks with dpkg-source; our lws patches
  ca-certificates                    # apt/npm over https, should a mirror use it
  chromium                           # headless browser tests of the served pages (playwright-core)
  nginx-light                        # the cluster test's proxy (docs/deployment.md); redis-server and postgresql come with the bus and the PostgreSQL engine
)
# lws itself needs only libevent-dev here: SSL, zlib (extensions, compression), libcap and
# libuv/libev/glib are all off or absent, and it builds with nothing else.

apt_missing() {
  # dpkg-query prints "name status" for packages it knows; unknown ones go to stderr.
  local known
  known=$(dpkg-query -W -f='${Package} ${Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)
  local p
  for p in "${APT_PACKAGES[@]}"; do
    grep -qx "$p install ok installed" <<<"$known" || printf '%s\n' "$p"
  done
  # Node: the machine may already carry a Node.js of its own (e.g. a nodejs package that
  # bundles npm and Conflicts: npm), so look for the commands, not Debian's packages.
  command -v node >/dev/null 2>&1 || printf '%s\n' nodejs
  command -v npm >/dev/null 2>&1 || printf '%s\n' npm
}

ensure_apt() {
  local missing
  missing=$(apt_missing)
  [ -z "$missing" ] && return 0
  # shellcheck disable=SC2086  # word splitting of the package list is wanted
  set -- $missing
  say "apt-get install $*"
  # A fresh machine has no package lists (or stale ones): update only now that we install.
  run_logged "$DEPS/logs/apt-update.log" "${SUDO[@]}" apt-get update
  run_logged "$DEPS/logs/apt-install.log" "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "$@"
}

# ---------------------------------------------------------------------------------------
# 2. libwebsockets with libevent, static, built from Debian's source package
# ---------------------------------------------------------------------------------------
LWS_UPSTREAM_VERSION=4.1.6
LWS_DEBIAN_VERSION=4.1.6-3          # preferred; any 4.1.6-* the archive has will do
LWS_INSTALL=$DEPS/lws-install
LWS_STAMP=$LWS_INSTALL/.sb-stamp
LWS_CMAKE_FLAGS=(
  -DCMAKE_BUILD_TYPE=Release
  -DLWS_WITH_LIBEVENT=ON            # the whole point: lws on our libevent event_base
  -DLWS_WITH_EVLIB_PLUGINS=OFF      # compile the libevent glue in, no dlopen'ed plugin
  -DLWS_WITH_STATIC=ON -DLWS_WITH_SHARED=OFF
  -DLWS_STATIC_PIC=ON               # linkable into PIE executables (Debian's default)
  -DLWS_WITHOUT_TESTAPPS=ON -DLWS_WITH_MINIMAL_EXAMPLES=OFF
  -DLWS_WITH_SSL=OFF                # TLS belongs in a reverse proxy in front
  -DLWS_WITH_HTTP2=OFF
  -DLWS_IPV6=ON                     # listen on :: as well as 0.0.0.0
  -DLWS_WITH_ZLIB=OFF -DLWS_WITHOUT_EXTENSIONS=ON   # no permessage-deflate, no zlib dep
  -DLWS_HAVE_LIBCAP=OFF             # don't pick up libcap-dev when present: fixed link deps
  -DLWS_WITH_EXPORT_LWSTARGETS=OFF  # we import it with cmake/FindLWSEvent.cmake
  -DLWS_CTEST_INTERNET_AVAILABLE=OFF
  -DDISABLE_WERROR=ON               # lws' -Werror: a newer compiler's warning must not stop us
)
shopt -s nullglob
LWS_PATCHES=("$ROOT"/scripts/lws-patches/*.patch)
shopt -u nullglob

# What the stamp must say for the installed lws to be reused: the version, the flags and
# the exact content of every patch. Any change rebuilds.
lws_wanted_stamp() {
  printf 'lws %s\n' "$LWS_UPSTREAM_VERSION"
  printf 'flags %s\n' "${LWS_CMAKE_FLAGS[*]}"
  local p
  for p in "${LWS_PATCHES[@]}"; do
    printf 'patch %s %s\n' "$(basename "$p")" "$(sha256sum <"$p" | cut -d' ' -f1)"
  done
}

lws_is_current() {
  [ -f "$LWS_STAMP" ] && [ -f "$LWS_INSTALL/lib/libwebsockets.a" ] &&
    [ -f "$LWS_INSTALL/include/libwebsockets.h" ] &&
    [ "$(sed '/^debian-version /d' "$LWS_STAMP")" = "$(lws_wanted_stamp)" ]
}

# The Debian archive the system installs from, as "URI SUITE", so that lws' source comes
# from the same place as everything else. Reads deb822 (*.sources) or one-line sources.
debian_archive() {
  if [ -n "${SB_DEBIAN_ARCHIVE:-}" ]; then echo "$SB_DEBIAN_ARCHIVE"; return; fi
  local f found=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # First stanza of Types "deb" that is not the security archive: its first URI and suite.
    found=$(awk '
      function flush() {
        if (!done && types ~ /(^| )deb( |$)/ && uris != "" && uris !~ /security/ && suite != "")
          { print uri, suite; done = 1; exit }
        types = uris = uri = suite = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:"  { types = substr($0, index($0, ":") + 1) }
      tolower($1) == "uris:"   { uris = $0; uri = $2 }
      tolower($1) == "suites:" { suite = $2 }
      END { flush() }' "$f")
    [ -n "$found" ] && { echo "$found"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    # "deb [options] URI SUITE COMPONENTS..."
    found=$(awk '$1 == "deb" && $0 !~ /security/ {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        print $i, $(i + 1); exit }' "$f")
    [ -n "$found" ] && { echo "$found"; return; }
  done
  # Nothing readable: Debian's default archive and this release's codename.
  local codename
  # shellcheck disable=SC1091
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  echo "http://deb.debian.org/debian $codename"
}

# Download and unpack Debian's libwebsockets source with a PRIVATE apt configuration under
# the build tree: its own sources list (one deb-src line), lists and cache. The system's apt
# configuration and state are neither read for sources nor written.
lws_fetch_source() {
  local apt_dir=$DEPS/apt src_dir=$1
  local archive uri suite keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  archive=$(debian_archive)
  read -r uri suite <<<"$archive"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/empty.d"
  if [ -r "$keyring" ]; then
    echo "deb-src [signed-by=$keyring] $uri $suite main" >"$apt_dir/sources.list"
  else
    echo "deb-src $uri $suite main" >"$apt_dir/sources.list"
  fi
  local apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/empty.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Sandbox::User=root"     # the private dirs are not readable by _apt
  )
  # The security suite may carry a newer 4.1.6 revision some day; the main suite is enough.
  say "fetching libwebsockets source ($suite, $uri)"
  run_logged "$DEPS/logs/lws-apt-update.log" apt-get "${apt_opts[@]}" update
  local version=$LWS_DEBIAN_VERSION
  if ! apt-cache "${apt_opts[@]}" showsrc "libwebsockets=$version" 2>/dev/null | grep -q '^Version:'; then
    # Not the revision we know: take whatever 4.1.6 revision the archive has.
    version=$(apt-cache "${apt_opts[@]}" showsrc libwebsockets 2>/dev/null |
      awk -v up="$LWS_UPSTREAM_VERSION" '$1 == "Version:" && index($2, up "-") == 1 { print $2; exit }')
    [ -n "$version" ] || die "no libwebsockets $LWS_UPSTREAM_VERSION source in $uri $suite"
  fi
  rm -rf "$src_dir"; mkdir -p "$src_dir"
  (cd "$src_dir" && run_logged "$DEPS/logs/lws-apt-source.log" \
    apt-get "${apt_opts[@]}" source "libwebsockets=$version")
  rm -f "$src_dir"/*.tar.* "$src_dir"/*.dsc      # keep only the unpacked tree
  echo "$version" >"$src_dir/.debian-version"
}

ensure_lws() {
  lws_is_current && return 0
  lock_deps
  lws_is_current && return 0         # another build finished it while we waited

  local src_root=$DEPS/lws-src build=$DEPS/lws-build
  lws_fetch_source "$src_root"
  local src version
  version=$(cat "$src_root/.debian-version")
  src=$(find "$src_root" -mindepth 1 -maxdepth 1 -type d -name "libwebsockets-*" | head -n1)
  [ -n "$src" ] || die "apt-get source left no libwebsockets-* directory in $src_root"

  local p
  for p in "${LWS_PATCHES[@]}"; do
    say "patching libwebsockets: $(basename "$p")"
    run_logged "$DEPS/logs/lws-patch.log" patch -d "$src" -p1 --forward --batch -i "$p"
  done

  say "building libwebsockets $version with libevent (10-30 s)"
  rm -rf "$build" "$LWS_INSTALL"
  # The system compiler and lws' own flags, whatever CC/CFLAGS the caller has set for our
  # code (a clang or sanitizer build links this same uninstrumented static library).
  # GIT_CEILING_DIRECTORIES: lws' CMake runs `git describe` in its source dir, which sits
  # inside our work tree; without this our own commit hash became lws' version suffix.
  run_logged "$DEPS/logs/lws-configure.log" env -u CC -u CFLAGS -u LDFLAGS \
    GIT_CEILING_DIRECTORIES="$src_root" cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX="$LWS_INSTALL" "${LWS_CMAKE_FLAGS[@]}"
  run_logged "$DEPS/logs/lws-build.log" cmake --build "$build" -j "$(nproc)"
  run_logged "$DEPS/logs/lws-install.log" cmake --install "$build"
  grep -q '^#define LWS_WITH_LIBEVENT' "$LWS_INSTALL/include/lws_config.h" ||
    die "built libwebsockets lacks LWS_WITH_LIBEVENT (see $DEPS/logs/lws-configure.log)"

  # Stamp last, so that an interrupted build is redone next time.
  { lws_wanted_stamp; echo "debian-version $version"; } >"$LWS_STAMP.tmp"
  mv "$LWS_STAMP.tmp" "$LWS_STAMP"
  rm -rf "$build" "$src_root" "$DEPS/apt"   # sources, objects, apt lists: not needed again
}

# ---------------------------------------------------------------------------------------
# 3. node packages for the real-client tests
# ---------------------------------------------------------------------------------------
NODE_DIR=$ROOT/tests/node
NODE_STAMP=$NODE_DIR/node_modules/.sb-npm-ci-stamp

ensure_node() {
  [ -f "$NODE_DIR/package-lock.json" ] || return 0
  # Reinstall when never installed or when the lockfile changed since (npm ci wipes
  # node_modules and installs exactly the lockfile).
  if [ -f "$NODE_STAMP" ] && ! [ "$NODE_DIR/package-lock.json" -nt "$NODE_STAMP" ]; then
    return 0
  fi
  lock_deps
  say "npm ci in tests/node"
  (cd "$NODE_DIR" && run_logged "$DEPS/logs/npm-ci.log" \
    npm ci --no-audit --no-fund --loglevel=error)
  touch "$NODE_STAMP"
}

case $SKIP in *" apt "*) ;; *) ensure_apt ;; esac
case $SKIP in *" lws "*) ;; *) ensure_lws ;; esac
case $SKIP in *" node "*) ;; *) ensure_node ;; esac
