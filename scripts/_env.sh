# Shared by scripts/check and scripts/demo: find Python 3.13 and build a virtualenv.
# shellcheck shell=bash

find_python313() {
  local candidate
  for candidate in "${PYTHON313:-}" "$(command -v python3.13 || true)" \
      "$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3.13 \
      /usr/local/bin/python3.13 /usr/bin/python3.13; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "Python 3.13 is required (set PYTHON313=/path/to/python3.13)" >&2
  return 1
}

# ensure_venv DIR REQUIREMENTS_FILE: create DIR with Python 3.13 and install the
# requirements when the file changed since the last install.
ensure_venv() {
  local dir=$1 requirements=$2 python stamp flags=()
  stamp="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.requirements.sha" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  python="$(find_python313)" || return 1
  echo "==> Preparing $dir from $requirements (a few minutes the first time)"
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir" || return 1
  # Home Assistant 2026.2 asks for Python >= 3.13.2; it runs on 3.13.0/3.13.1 too.
  if ! "$dir/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 13, 2))'; then
    flags+=(--ignore-requires-python)
  fi
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip || return 1
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "${flags[@]}" \
    -r "$requirements" || return 1
  echo "$stamp" > "$dir/.requirements.sha"
}
