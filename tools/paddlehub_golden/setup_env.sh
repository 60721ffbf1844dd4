#!/usr/bin/env bash
# Build the PaddleHub 1.5.4 + Paddle 1.8.5 side environment (Python 3.8) that records the golden
# fixtures in tests/golden/. It is NOT the project's environment: nothing in paddle_ner imports it.
#
# Usage: tools/paddlehub_golden/setup_env.sh [ENV_DIR]      (default /tmp/ph15)
#        PYTHON=/path/to/python3.8 tools/paddlehub_golden/setup_env.sh ...
#
# Idempotent: when ENV_DIR already holds an environment built from the same constraints file
# and it still imports paddle 1.8.5 + paddlehub 1.5.4, nothing is installed again.
# The recipe is the one in shared/FACTS.md section 5; every resolved package is pinned in
# constraints-py38.txt beside this script (pip freeze of the first build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
env_dir=${1:-/tmp/ph15}
python=${PYTHON:-}
if [ -z "$python" ]; then
  if command -v pyenv >/dev/null 2>&1 && [ -x "$(pyenv root)/versions/3.8.18/bin/python" ]; then
    python="$(pyenv root)/versions/3.8.18/bin/python"
  elif command -v python3.8 >/dev/null 2>&1; then
    python=$(command -v python3.8)
  else
    echo "setup_env: no Python 3.8 found; pass PYTHON=/path/to/python3.8" >&2
    exit 2
  fi
fi
case "$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" in
  3.8) ;;
  *) echo "setup_env: $python is not Python 3.8 (Paddle 1.8.5 wheels exist for 3.5-3.8 only)" >&2; exit 2 ;;
esac

constraints=$here/constraints-py38.txt
stamp=$env_dir/.paddlehub-golden-stamp
want="$(sha256sum "$constraints" | cut -d' ' -f1) $python"

check() {
  "$env_dir/bin/python" - <<'EOF'
import paddle, paddlehub.version as v
assert paddle.__version__ == "1.8.5", paddle.__version__
assert v.hub_version == "1.5.4", v.hub_version
from paddlehub.finetune.task import SequenceLabelTask  # noqa: F401
from paddlehub.reader.nlp_reader import SequenceLabelReader  # noqa: F401
from paddlehub.finetune.strategy import AdamWeightDecayStrategy  # noqa: F401
EOF
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && check >/dev/null 2>&1; then
  echo "setup_env: $env_dir is up to date (paddle 1.8.5, paddlehub 1.5.4)"
  exit 0
fi

rm -rf "$env_dir"
"$python" -m venv "$env_dir"
pip=("$env_dir/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install -c "$constraints" -U pip wheel setuptools
# FACTS section 5: Paddle 1.8.5 needs protobuf < 3.21, and still uses np.int (numpy 1.19.5).
"${pip[@]}" install -c "$constraints" paddlepaddle==1.8.5 "protobuf<3.21" paddlehub==1.5.4
"${pip[@]}" install -c "$constraints" numpy==1.19.5 pandas==1.1.5 matplotlib==3.3.4
check
echo "$want" > "$stamp"
"$env_dir/bin/python" -c 'import sys, paddle, paddlehub.version as v; print("setup_env: built", sys.argv[1], "python", sys.version.split()[0], "paddle", paddle.__version__, "paddlehub", v.hub_version)' "$env_dir"
