#!/usr/bin/env bash
# Rebuild (if needed) the PaddleHub 1.5.4 side environment and regenerate every fixture in
# tests/golden/, then re-derive them with numpy (check_fixtures.py).
# Usage: tools/paddlehub_golden/make_all.sh [ENV_DIR]      (default /tmp/ph15)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
env_dir=${1:-/tmp/ph15}
cd "$here/../.."
bash "$here/setup_env.sh" "$env_dir"
# "train_run --long" = gen_train_run.py --long (tests/golden/train_run_long.json)
for g in reader schedule crf metrics train_run "train_run --long"; do
  script=${g%% *}; args=${g#"$script"}; log="/tmp/paddlehub_golden_${g// --/_}.log"
  # shellcheck disable=SC2086  # $args: zero or more words
  "$env_dir/bin/python" "$here/gen_$script.py" $args > "$log" 2>&1 \
    || { tail -20 "$log"; echo "make_all: gen_$script.py$args failed (log: $log)" >&2; exit 1; }
  tail -1 "$log"
done
"$env_dir/bin/python" "$here/check_fixtures.py"
