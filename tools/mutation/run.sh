#!/usr/bin/env bash
# Mutation-test one target of calcm with mutmut 3.8.1 in a scratch copy (never in the repo).
#
#   tools/mutation/run.sh fixedpoint|margin [MAX_CHILDREN]
#   tools/mutation/run.sh fixedpoint|margin MAX_CHILDREN --rerun NAMES_FILE
#       (re-copy the selected tests into the existing workspace and re-run only the mutants
#        named in NAMES_FILE, e.g. the survivors of the first run after new tests were added)
#
# mutmut imports the mutated package from <workspace>/mutants/src, so the workspace holds
# src/calcm (a copy of prover/calcm), the test files the target's .cfg selects (plus the
# conftests), fixtures/ (calcm.paths resolves it beside the package) and the .cfg as setup.cfg.
# Results: `cd <workspace> && mutmut results` / `mutmut show <name>`. Runs under `nice`.
set -euo pipefail
target=${1:?usage: run.sh fixedpoint|margin [max_children]}
children=${2:-1}
repo=$(cd "$(dirname "$0")/../.." && pwd)
cfg="$repo/tools/mutation/$target.cfg"
[ -f "$cfg" ] || { echo "no such target: $cfg" >&2; exit 2; }
ws=${CALCM_MUTATION_DIR:-${TMPDIR:-/tmp}/calcm-mutation}/$target
copy_tests() {
  cp "$repo/tests/conftest.py" "$ws/tests/"
  # the selected test files and the helpers of each of their directories (conftest.py,
  # __init__.py, shared strategies: every .py there that is not a test_*.py)
  for t in $(sed -n '/^pytest_add_cli_args_test_selection/,/^$/p' "$cfg" | grep -o 'tests/[^ ]*\.py'); do
    d=$(dirname "$t")
    mkdir -p "$ws/$d"
    cp "$repo/$t" "$ws/$t"
    for h in "$repo/$d"/*.py; do
      case $(basename "$h") in test_*) ;; *) cp "$h" "$ws/$d/";; esac
    done
    if [ -d "$ws/mutants" ]; then
      mkdir -p "$ws/mutants/$d" && cp "$repo/$t" "$ws/mutants/$t"
      for h in "$repo/$d"/*.py; do
        case $(basename "$h") in test_*) ;; *) cp "$h" "$ws/mutants/$d/";; esac
      done
    fi
  done
  return 0
}
if [ "${3:-}" = "--rerun" ]; then
  names=$(cat "${4:?--rerun needs a file of mutant names}")
  copy_tests
  cd "$ws"
  start=$(date +%s)
  # shellcheck disable=SC2086
  nice -n 10 "$repo/.venv/bin/mutmut" run --max-children "$children" $names
  echo "mutmut rerun took $(( $(date +%s) - start )) s (wall) in $ws"
  "$repo/.venv/bin/mutmut" results --all true > results.txt || true
  exit 0
fi
rm -rf "$ws"
mkdir -p "$ws/src" "$ws/tests"
cp -r "$repo/prover/calcm" "$ws/src/calcm"
find "$ws/src" -name __pycache__ -prune -exec rm -rf {} +
cp -r "$repo/fixtures" "$ws/fixtures"
cp "$cfg" "$ws/setup.cfg"
copy_tests
# read-only inputs some modules open beside the package (Poseidon constants from circomlib)
mkdir -p "$ws/mutants"
ln -s "$repo/node_modules" "$ws/mutants/node_modules"
ln -s "$repo/circuits" "$ws/mutants/circuits"
cd "$ws"
start=$(date +%s)
nice -n 10 "$repo/.venv/bin/mutmut" run --max-children "$children"
echo "mutmut run took $(( $(date +%s) - start )) s (wall) in $ws"
"$repo/.venv/bin/mutmut" results --all true > results.txt || true
grep -c ': killed' results.txt | sed 's/^/killed: /' || true
grep -v ': killed' results.txt || true
