#!/usr/bin/env bash
# Install everything the collection's tests, lab and demo need on a bare Debian 12 machine:
# system packages (only the missing ones), the pinned Python venv (cached by a hash of
# requirements.txt, so a second run is instant), and the ansible_collections link.
# Idempotent; safe to run before every make target.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CACHE=${RESILIENCE_LAB_CACHE:-/var/cache/resilience-dr}

APT_PACKAGES=(qemu-system-x86 qemu-utils debootstrap btrfs-progs bcache-tools restic rclone
              e2fsprogs util-linux openssh-client rsync parted gdisk fuse3 git make
              python3-venv xxd)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The venv lives in the cache, keyed by the requirements' hash; .venv links to it.
PY=${PYTHON:-python3}
hash=$( (cat requirements.txt; $PY -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)
VENV=$CACHE/venv-$hash
if [ ! -f "$VENV/.complete" ]; then
  echo "bootstrap: building the Python venv $VENV"
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  $PY -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q -r requirements.txt
  touch "$VENV/.complete"
fi
ln -sfn "$VENV" .venv

# ansible_collections/resilience/dr -> this checkout (imports, FQCNs, ansible.cfg).
mkdir -p .build/collections/ansible_collections/resilience
ln -sfn ../../../.. .build/collections/ansible_collections/resilience/dr
