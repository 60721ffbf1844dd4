#!/usr/bin/env bash
# Create a virtualenv and install one pinned profile plus this package in editable mode.
# Usage: tools/install.sh PROFILE VENV PYTHON      (called by `make install`)
set -euo pipefail
profile=$1 venv=$2 python=$3
constraints=constraints/$profile.txt
if [ ! -f "$constraints" ]; then
  echo "install: unknown PROFILE=$profile (expected cpu or gpu; see constraints/)" >&2
  exit 2
fi

# A stale or other-profile venv is rebuilt from scratch: mixing Paddle 2.6 and 3.x wheels
# in one environment leaves files of both behind.
rm -rf "$venv"
if [ "$profile" = gpu ]; then
  # --system-site-packages keeps a preinstalled Paddle visible (AI Studio images ship one).
  "$python" -m venv --system-site-packages "$venv"
else
  "$python" -m venv "$venv"
fi
py=$venv/bin/python
extras=dev
if [ "$profile" = gpu ] && "$py" -c "import paddle" >/dev/null 2>&1; then
  echo "install: keeping the preinstalled paddle $("$py" -c 'import paddle; print(paddle.__version__)')"
else
  extras=$profile,dev
fi
echo "install: $profile profile into $venv (pinned by $constraints; about a minute with a warm pip cache)"
"$py" -m pip install --quiet --disable-pip-version-check --progress-bar off \
  -c "$constraints" -e ".[$extras]"
"$py" -c "import paddle, paddlenlp; print('install: paddle', paddle.__version__, '/ paddlenlp', paddlenlp.__version__)" 2>/dev/null \
  || { echo "install: 'import paddle, paddlenlp' fails in $venv; see README, Install profiles" >&2; exit 1; }
