# shellcheck shell=bash
# shellcheck disable=SC2154  # sluice_root comes from common.sh
# The installed tree as an outside project meets it. Sourced after common.sh, never run.

# Installs <build dir> into <work dir>/prefix, then (1) configures and builds tests/package/hello
# with find_package(Sluice) from that prefix alone, (2) builds the same program again from the
# pkg-config file's flags, and runs each against the broker at <bootstrap>. Prints what it does;
# the last line says what passed. Fails at the first step that fails.
#   check_installed_package <build dir> <work dir> <bootstrap>
check_installed_package() {
  local build_dir=$1 work=$2 bootstrap=$3
  local prefix=$work/prefix hello=$sluice_root/tests/package/hello
  cmake --install "$build_dir" --prefix "$prefix" || return 1
  # The installed headers find each other under <prefix>/include alone (cmake/install.cmake).
  if grep -rlE '#include "(kafka|state|operators|runtime|pipelines)/' "$prefix/include"; then
    log "installed headers above still include from the repo root"
    return 1
  fi
  local launcher=() compile=(c++)
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    compile=(ccache c++)
  fi
  cmake -S "$hello" -B "$work/hello" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}" || return 1
  cmake --build "$work/hello" || return 1
  "$work/hello/hello" "$bootstrap" || return 1

  local pkg_config_path=$prefix/lib/pkgconfig
  [[ -d $pkg_config_path ]] || pkg_config_path=$(dirname "$(find "$prefix" -name sluice-kafka.pc | head -n 1)")
  local flags
  flags=$(PKG_CONFIG_PATH=$pkg_config_path pkg-config --cflags --libs sluice-kafka) || return 1
  log "pkg-config sluice-kafka: $flags"
  # shellcheck disable=SC2086  # the flags are words
  "${compile[@]}" -std=c++20 -o "$work/hello-pkg-config" \
    "$hello/hello.cpp" $flags || return 1
  "$work/hello-pkg-config" "$bootstrap" || return 1
  echo "find_package(Sluice) and pkg-config builds of tests/package/hello ran against $bootstrap"
}
