#!/usr/bin/env bash
# Python >= 3.14.2 for the test suite on the newest Home Assistant (requirements_test_newest.txt).
#
# When the host has such a python3.14 (PYTHON314, PATH, pyenv), the venv is .venv/ha-newest on
# the host. Otherwise a minimal Debian forky root (python3.14 from Debian's archive) is built
# with debootstrap under .venv/py314-root and the venv lives inside it at /opt/venv-newest;
# commands run there under chroot, with the project bind-mounted at its own path and a private
# /proc, /dev/shm and /tmp. Both are rebuilt only when missing or when their inputs change
# (the root's recipe, the requirements file). Needs root (chroot, mount) for the Debian root.
#
#   scripts/py314_root.sh ensure           build what is missing
#   scripts/py314_root.sh pytest [ARGS]    python -m pytest ARGS in the project directory
#   scripts/py314_root.sh python [ARGS]    the venv's python
#   scripts/py314_root.sh run CMD [ARGS]   any command (inside the root when there is one)
#
# Sourced (scripts/check), it defines the same as functions: py314_ensure, py314_pytest,
# py314_python, py314_run.
# shellcheck shell=bash

PY314_SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")"
PY314_PROJECT="$(cd "$(dirname "$PY314_SELF")/.." && pwd -P)"
# (PY314_REQUIREMENTS must lie inside the project: only the project is visible in the root.)
PY314_REQUIREMENTS="${PY314_REQUIREMENTS:-$PY314_PROJECT/requirements_test_newest.txt}"
PY314_ROOT="${PY314_ROOT:-$PY314_PROJECT/.venv/py314-root}"
export PY314_ROOT PY314_REQUIREMENTS  # the same for the copy that runs inside the namespace
PY314_HOST_VENV="$PY314_PROJECT/.venv/ha-newest"
PY314_ROOT_VENV=/opt/venv-newest
# The root's recipe: a change here rebuilds it. tzdata(-legacy): the system time zones (Home
# Assistant brings the tzdata wheel too; US/Pacific, which its tests use, is a legacy name).
PY314_SUITE=forky
PY314_PACKAGES=python3.14,python3.14-venv,ca-certificates,tzdata,tzdata-legacy
# Debian 12's debootstrap has no script named forky; sid's fits every current suite.
PY314_DEBOOTSTRAP_SCRIPT=/usr/share/debootstrap/scripts/sid
# pip -qq: errors only (-q would also print a warning for every package missing from a local
# file:// index of the machine's pip configuration).
PY314_PIP=(-qq --disable-pip-version-check)

# A host python3.14 that is 3.14.2 or newer, if any.
py314_host_python() {
  local candidate
  for candidate in "${PYTHON314:-}" "$(command -v python3.14 || true)" \
      "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.14*/bin/python3.14 \
      /usr/local/bin/python3.14 /usr/bin/python3.14; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c \
        'import sys; sys.exit(not ((3, 14, 2) <= sys.version_info < (3, 15)))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# The Debian archive this machine's apt uses (PY314_MIRROR overrides).
py314_mirror() {
  local uri
  if [ -n "${PY314_MIRROR:-}" ]; then
    echo "$PY314_MIRROR"
    return 0
  fi
  uri="$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
      2>/dev/null | sed -nE -e 's/^URIs:[[:space:]]*//p' \
      -e 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' \
      | tr ' ' '\n' | grep -E '^https?://.*/debian/?$' | head -n1 || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

_py314_need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "py314_root.sh: no Python >= 3.14.2 on the host, and building the Debian root needs" \
      "root (chroot, mount); set PYTHON314=/path/to/python3.14 or run as root" >&2
    return 1
  fi
}

_py314_ensure_debootstrap() {
  command -v debootstrap >/dev/null && [ -e "$PY314_DEBOOTSTRAP_SCRIPT" ] && return 0
  echo "==> Installing debootstrap (apt-get)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1; then
    apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null || return 1
  fi
}

# Mount points other than / under DIR, in this mount namespace.
_py314_mounts_under() {
  awk -v dir="$1" '$5 == dir || index($5, dir "/") == 1 { print $5 }' /proc/self/mountinfo
}

_py314_root_stamp() {
  echo "$PY314_SUITE $PY314_PACKAGES $(basename "$PY314_DEBOOTSTRAP_SCRIPT") v1" | sha256sum | cut -d' ' -f1
}

# Build the root unless it is there and made from the current recipe.
_py314_ensure_root() {
  local stamp tmp mirror start log dir
  stamp="$(_py314_root_stamp)"
  if [ -x "$PY314_ROOT/usr/bin/python3.14" ] \
      && [ "$(cat "$PY314_ROOT/.py314-root.sha" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  _py314_need_root || return 1
  _py314_ensure_debootstrap || return 1
  mirror="$(py314_mirror)"
  tmp="$PY314_ROOT.new"
  for dir in "$PY314_ROOT" "$tmp"; do
    if [ -n "$(_py314_mounts_under "$dir")" ]; then
      echo "py314_root.sh: something is mounted under $dir, not removing it:" >&2
      _py314_mounts_under "$dir" >&2
      return 1
    fi
  done
  rm -rf --one-file-system "$tmp" || return 1
  mkdir -p "$(dirname "$PY314_ROOT")" || return 1
  echo "==> Building a Debian $PY314_SUITE root with Python 3.14 in $PY314_ROOT (about a minute)"
  start=$SECONDS
  log="$(mktemp)"
  # In a mount namespace of its own, so that nothing debootstrap mounts can outlive it.
  if ! unshare --mount --propagation private -- debootstrap --variant=minbase \
      --include="$PY314_PACKAGES" "$PY314_SUITE" "$tmp" "$mirror" "$PY314_DEBOOTSTRAP_SCRIPT" \
      >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    [ -f "$tmp/debootstrap/debootstrap.log" ] && tail -n 20 "$tmp/debootstrap/debootstrap.log" >&2
    echo "py314_root.sh: debootstrap failed (full output: $log)" >&2
    return 1
  fi
  rm -f "$log"
  rm -rf --one-file-system "$PY314_ROOT" || return 1
  echo "$stamp" > "$tmp/.py314-root.sha"
  mv "$tmp" "$PY314_ROOT" || return 1
  echo "    root built in $((SECONDS - start)) s ($(du -sh --one-file-system "$PY314_ROOT" | cut -f1))"
}

# Paths named by pip's configuration (config files and PIP_* variables): file:// URLs and
# absolute paths, one a line.
_py314_pip_paths() {
  {
    cat /etc/pip.conf /etc/xdg/pip/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf" \
      ${PIP_CONFIG_FILE:+"$PIP_CONFIG_FILE"} 2>/dev/null | sed -nE 's/^[^#;=]+=(.*)$/\1/p'
    env | sed -nE 's/^PIP_[A-Z_]+=(.*)$/\1/p'
  } | tr ' ,' '\n\n' | sed -nE -e 's#^file://(/.*)$#\1#p' -e '\#^/#p' | sed -E 's#/+$##' | sort -u
}

# Copy the host's resolver, hosts, CA and pip configuration into the root (each run: cheap,
# and it follows the host). The directories pip's configuration names are bind-mounted by
# _py314_inside instead.
_py314_sync_config() {
  local file path
  for file in /etc/resolv.conf /etc/hosts /etc/ssl/certs/ca-certificates.crt /etc/pip.conf \
      "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf"; do
    if [ -f "$file" ]; then
      _py314_copy_in "$file" || return 1
    fi
  done
  for path in /etc/xdg/pip /usr/local/share/ca-certificates; do
    if [ -d "$path" ]; then
      rm -rf "${PY314_ROOT:?}$path" && mkdir -p "$PY314_ROOT$path" \
        && cp -rfL "$path/." "$PY314_ROOT$path/" || return 1
    fi
  done
  # Files pip's configuration names (constraints, certificates) are copied too.
  while IFS= read -r path; do
    if [ -f "$path" ]; then
      _py314_copy_in "$path" || return 1
    fi
  done < <(_py314_pip_paths)
}

# Copy a host file to the same path in the root; the old one is removed first, so that a
# symlink there (an absolute one would point at the host's file) is never written through.
_py314_copy_in() {
  mkdir -p "$PY314_ROOT$(dirname "$1")" && rm -f "$PY314_ROOT$1" && cp -L "$1" "$PY314_ROOT$1"
}

# Run "$@" inside the root. Executed in a private mount namespace when unshare allows it (the
# mounts then vanish with it whatever happens); the trap unmounts them in any case.
_PY314_MOUNTS=()
_py314_unmount() {
  local i
  for ((i = ${#_PY314_MOUNTS[@]} - 1; i >= 0; i--)); do
    umount -l "${_PY314_MOUNTS[i]}" 2>/dev/null || true
  done
  _PY314_MOUNTS=()
}
_py314_mount() {  # _py314_mount TARGET MOUNT-ARGS...
  local target=$1
  shift
  mount "$@" "$target" || return 1
  _PY314_MOUNTS+=("$target")
}
_py314_inside() {
  local path src cwd
  trap _py314_unmount EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$PY314_ROOT/proc" "$PY314_ROOT/dev/shm" "$PY314_ROOT/tmp" || return 1
  _py314_mount "$PY314_ROOT/proc" -t proc proc || return 1
  _py314_mount "$PY314_ROOT/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev tmpfs || return 1
  _py314_mount "$PY314_ROOT/tmp" -t tmpfs -o mode=1777,nosuid,nodev tmpfs || return 1
  # After /tmp, so that a project under /tmp is not hidden by it.
  mkdir -p "$PY314_ROOT$PY314_PROJECT" || return 1
  _py314_mount "$PY314_ROOT$PY314_PROJECT" --bind "$PY314_PROJECT" || return 1
  if [ ! -c "$PY314_ROOT/dev/null" ]; then  # debootstrap could not mknod: borrow the host's
    for path in null zero full random urandom tty; do
      rm -f "$PY314_ROOT/dev/$path" && touch "$PY314_ROOT/dev/$path" \
        && _py314_mount "$PY314_ROOT/dev/$path" --bind "/dev/$path" || return 1
    done
  fi
  # Local package indexes and wheel folders of pip's configuration, read-only. A file:// index
  # named .../simple links to files beside it, so its parent is mounted.
  while IFS= read -r path; do
    [ -d "$path" ] || continue
    src=$path
    [ "$(basename "$src")" = simple ] && src="$(dirname "$src")"
    case "$src" in /|/etc|/etc/*|/usr|/usr/*|/proc*|/dev*|/sys*|"$PY314_PROJECT"*) continue ;; esac
    mountpoint -q "$PY314_ROOT$src" && continue
    mkdir -p "$PY314_ROOT$src" || return 1
    _py314_mount "$PY314_ROOT$src" --bind "$src" || return 1
    mount -o remount,bind,ro "$PY314_ROOT$src" 2>/dev/null || true
  done < <(_py314_pip_paths)
  cwd=$PWD
  case "$cwd" in "$PY314_PROJECT"|"$PY314_PROJECT"/*) ;; *) cwd=$PY314_PROJECT ;; esac
  chroot "$PY314_ROOT" /usr/bin/env -u PYTHONPATH -u PYTHONHOME -u VIRTUAL_ENV -u TMPDIR \
    -u PYENV_VERSION HOME=/root \
    PATH="$PY314_ROOT_VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    /usr/bin/env -C "$cwd" "$@"
}

# py314_run CMD [ARGS...]: run a command where the venv is (inside the root if there is one).
py314_run() {
  if py314_host_python >/dev/null; then
    (PATH="$PY314_HOST_VENV/bin:$PATH" "$@")
    return
  fi
  _py314_need_root || return 1
  _py314_sync_config || return 1
  if unshare --mount --propagation private -- true 2>/dev/null; then
    unshare --mount --propagation private -- "${BASH:-bash}" "$PY314_SELF" __inside "$@"
  else
    (_py314_inside "$@")
  fi
}

_py314_venv_python() {
  if py314_host_python >/dev/null; then echo "$PY314_HOST_VENV/bin/python"
  else echo "$PY314_ROOT_VENV/bin/python"; fi
}

# py314_ensure: the root (when needed) and the venv with the requirements, when missing or
# changed; under a lock, so that two checks on one machine do not build at the same time.
py314_ensure() {
  mkdir -p "$PY314_PROJECT/.venv" || return 1
  (flock 9 && _py314_ensure) 9>"$PY314_PROJECT/.venv/py314.lock"
}

_py314_ensure() {
  local host venv stamp start
  host="$(py314_host_python || true)"
  if [ -n "$host" ]; then
    venv=$PY314_HOST_VENV
    stamp="$(sha256sum "$PY314_REQUIREMENTS" | cut -d' ' -f1)"
  else
    _py314_ensure_root || return 1
    venv=$PY314_ROOT$PY314_ROOT_VENV
    stamp="$(cat "$PY314_REQUIREMENTS" "$PY314_ROOT/.py314-root.sha" | sha256sum | cut -d' ' -f1)"
  fi
  # (inside the root, bin/python links to the root's /usr/bin/python3.14: test pyvenv.cfg)
  if [ -f "$venv/pyvenv.cfg" ] && [ "$(cat "$venv/.requirements.sha" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  echo "==> Preparing the Python 3.14 venv from $(basename "$PY314_REQUIREMENTS") (a few minutes the first time)"
  start=$SECONDS
  if [ -n "$host" ]; then
    [ -f "$venv/pyvenv.cfg" ] || "$host" -m venv "$venv" || return 1
  else
    [ -f "$venv/pyvenv.cfg" ] || py314_run /usr/bin/python3.14 -m venv "$PY314_ROOT_VENV" || return 1
  fi
  py314_run python -m pip install "${PY314_PIP[@]}" --upgrade pip || return 1
  py314_run python -m pip install "${PY314_PIP[@]}" -r "$PY314_REQUIREMENTS" || return 1
  echo "$stamp" > "$venv/.requirements.sha"
  echo "    venv ready in $((SECONDS - start)) s"
}

py314_python() { py314_run "$(_py314_venv_python)" "$@"; }
py314_pytest() { py314_python -m pytest "$@"; }

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  command=${1:-}
  [ $# -gt 0 ] && shift
  case "$command" in
    __inside) _py314_inside "$@" ;;
    ensure) py314_ensure ;;
    pytest) py314_ensure && py314_pytest "$@" ;;
    python) py314_ensure && py314_python "$@" ;;
    run) py314_ensure && py314_run "$@" ;;
    *) sed -n '2,17p' "$PY314_SELF" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
fi
