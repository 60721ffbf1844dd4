#!/usr/bin/env bash
# Install one pinned profile plus this package (editable) into a virtualenv, and record the
# profile and interpreter in VENV/.paddle-ner-profile, which the Makefile reads so that every
# later target uses the same profile.
# Usage: tools/install.sh PROFILE VENV PYTHON      (called by `make install` and, once, by any target)
set -euo pipefail
profile=$1 venv=$2 python=$3
constraints=constraints/$profile.txt
mark=$venv/.paddle-ner-profile
if [ ! -f "$constraints" ]; then
  echo "install: unknown PROFILE=$profile (expected cpu or gpu; see constraints/)" >&2
  exit 2
fi
if ! command -v "$python" >/dev/null 2>&1; then
  echo "install: PYTHON=$python not found; pass an interpreter, e.g. PYTHON=/usr/bin/python3.11" >&2
  exit 2
fi

# The Python versions the profile's pins install on are the "# python: LOW-HIGH" line of its
# constraints file. Checked before anything is removed or installed: outside that range pip
# would only fail minutes later with a bare ResolutionImpossible.
range=$(sed -n 's/^# python: \([0-9]*\.[0-9]*\)-\([0-9]*\.[0-9]*\)$/\1 \2/p' "$constraints")
if [ -z "$range" ]; then
  echo "install: $constraints has no '# python: LOW-HIGH' line naming the Python versions it supports" >&2
  exit 2
fi
read -r low high <<<"$range"
number() { echo $(( ${1%%.*} * 100 + ${1#*.} )); }  # 3.11 -> 311
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || version=
if ! [[ $version =~ ^[0-9]+\.[0-9]+$ ]]; then
  echo "install: PYTHON=$python does not run as a Python interpreter" >&2
  exit 2
fi
if [ "$(number "$version")" -lt "$(number "$low")" ] || [ "$(number "$version")" -gt "$(number "$high")" ]; then
  instead="use PYTHON=python3.11 (any Python $low-$high)"
  if [ "$profile" = cpu ] && [ "$(number "$version")" -ge 309 ] && [ "$(number "$version")" -lt "$(number "$low")" ]; then
    # AI Studio's route (aistudio/reproduce.ipynb): a Paddle 3 first, then tools/stack.py names the pins for it.
    instead="$instead, or keep Python $version with a Paddle 3 as AI Studio does: $python -m pip install paddlepaddle==3.0.0 && $python -m pip install -c \"\$($python tools/stack.py constraints)\" -e \".[dev,serve]\""
  fi
  echo "install: the $profile profile installs on Python $low-$high ($constraints), not Python $version ($python); $instead" >&2
  exit 2
fi

# The venv is rebuilt only when it holds another profile or interpreter, or is broken: mixing
# Paddle 2.6 and 3.x wheels in one environment leaves files of both behind. Otherwise pip
# updates it in place (setup.py or the constraints changed).
if [ -f "$mark" ] && [ "$(cat "$mark")" = "$profile $python" ] && "$venv/bin/python" -c "" 2>/dev/null; then
  echo "install: updating the $profile profile in $venv"
else
  [ -f "$mark" ] && echo "install: replacing the $(cut -d' ' -f1 "$mark") profile in $venv with $profile"
  rm -rf "$venv"
  if [ "$profile" = gpu ]; then
    # --system-site-packages keeps a preinstalled Paddle visible (AI Studio images ship one).
    "$python" -m venv --system-site-packages "$venv"
  else
    "$python" -m venv "$venv"
  fi
fi
py=$venv/bin/python
extras=$profile,dev,serve,lac
if [ "$profile" = gpu ] && "$py" -c "import paddle" >/dev/null 2>&1; then
  # A preinstalled Paddle (AI Studio) is kept; tools/stack.py, the measured table shared with the
  # notebook, names the PaddleNLP pins that work with it, or refuses it in one line (exit 2).
  constraints=$("$py" tools/stack.py constraints) || exit 2
  extras=dev,serve
  echo "install: keeping the preinstalled paddle $("$py" -c 'import paddle; print(paddle.__version__)')"
fi
echo "install: $profile profile into $venv with $python (pinned by $constraints; a few minutes on a cold pip cache)"
"$py" -m pip install --quiet --disable-pip-version-check --progress-bar off \
  -c "$constraints" -e ".[$extras]"
# Paddle 2.6 crashes in zlib on a Python whose zlib is a shared library (some pyenv builds):
# exercise zlib after importing paddle so that this shows up here, not an hour into a run.
if ! "$py" -c "import paddle, paddlenlp, zlib; zlib.decompress(zlib.compress(b'x' * 99))" >/dev/null 2>&1; then
  echo "install: 'import paddle, paddlenlp' fails or crashes in $venv with $python; with Paddle 2.6 try" \
       "another interpreter (PYTHON=/usr/bin/python3.11); see README, Install profiles" >&2
  exit 1
fi
"$py" tools/stack.py check | sed 's/^stack.py/install/'
echo "$profile $python" > "$mark"
