# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154  # sluice_root comes from common.sh; callers read fuzz_result
# The libFuzzer targets (tests/fuzz/*_fuzz.cpp), shared by scripts/test (a short run of each) and
# scripts/fuzz (long campaigns). Sourced after common.sh, never run. The functions return non-zero
# on failure, with what happened in the fuzz_result variable, so callers decide how to report it.

# The fuzz target names, one per tests/fuzz/*_fuzz.cpp.
fuzz_targets() {
  local source
  for source in "$sluice_root"/tests/fuzz/*_fuzz.cpp; do
    [[ -f $source ]] && basename "$source" .cpp
  done
}

# Configures the `fuzz` preset (clang-14, every target with -fsanitize=fuzzer-no-link,address,
# undefined) in <dir> and builds the given targets and what they link, nothing else.
#   build_fuzzers <dir> <jobs> <target>...
build_fuzzers() {
  local dir=$1 jobs=$2; shift 2
  mkdir -p "$dir"
  if ! command -v clang++-14 >/dev/null; then
    fuzz_result="clang++-14 is not installed (scripts/setup installs it)"
    return 1
  fi
  if ! (cd "$sluice_root" && cmake --preset fuzz -B "$dir") >"$dir/configure.log" 2>&1; then
    tail -n 30 "$dir/configure.log" >&2
    fuzz_result="configure FAILED (log: $dir/configure.log)"
    return 1
  fi
  if ! cmake --build "$dir" -j "$jobs" --target "$@"; then
    fuzz_result="build FAILED (compiler errors above)"
    return 1
  fi
}

# Runs one fuzzer from <dir> (built by build_fuzzers) for at most <seconds>, and at most <runs>
# inputs when <runs> is not 0. Its corpus grows in <dir>/corpus/<target> across runs; the committed
# inputs in tests/fuzz/corpus/<target> (seeds, and inputs that once failed) are read too. A failing
# input is written to <dir>/artifacts/. fuzz_result says what happened: the number of inputs run and
# the speed, or where the failing input and the log are.
#   run_fuzzer <dir> <target> <seconds> <runs>
run_fuzzer() {
  local dir=$1 name=$2 seconds=$3 runs=$4
  local log=$dir/$name.log corpora=("$dir/corpus/$name")
  mkdir -p "${corpora[0]}" "$dir/artifacts"
  [[ -d $sluice_root/tests/fuzz/corpus/$name ]] && corpora+=("$sluice_root/tests/fuzz/corpus/$name")
  local options=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$dir/artifacts/$name-")
  ((runs > 0)) && options+=(-runs="$runs")
  if "$dir/tests/fuzz/$name" "${options[@]}" "${corpora[@]}" >"$log" 2>&1; then
    local executed speed
    executed=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    fuzz_result="$name: ok, $executed inputs in $(fuzz_elapsed "$log" "$seconds") ($speed exec/s), corpus $(find "${corpora[0]}" -type f | wc -l) files"
    return 0
  fi
  tail -n 40 "$log" >&2
  local artifact
  artifact=$(grep -o "Test unit written to [^ ]*" "$log" | tail -n 1 | sed 's/^Test unit written to //')
  if [[ -n $artifact && -f $artifact ]]; then
    log "$name: the failing input, base64: $(base64 -w0 "$artifact")"
    log "$name: keep it as a regression: cp '$artifact' tests/fuzz/corpus/$name/ (ctest replays it)"
  fi
  fuzz_result="$name: FAILED (input ${artifact:-unknown}; log $log)"
  return 1
}

# How long a run took: libFuzzer's closing "Done N runs in T second(s)", else the budget.
fuzz_elapsed() {
  local log=$1 seconds=$2 done_line
  done_line=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -n 1)
  if [[ -n $done_line ]]; then
    echo "$(awk '{print $5}' <<<"$done_line") s"
  else
    echo "${seconds} s"
  fi
}
