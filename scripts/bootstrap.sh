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
              python3-venv xxd shellcheck chromium nftables)
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

# antsibull-docs in a venv of its own (requirements-docs.txt), for the docs tier.
dhash=$( (cat requirements-docs.txt; $PY -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)
DOCS_VENV=$CACHE/docs-venv-$dhash
if [ ! -f "$DOCS_VENV/.complete" ]; then
  echo "bootstrap: building the docs venv $DOCS_VENV"
  rm -rf "$DOCS_VENV"
  $PY -m venv "$DOCS_VENV"
  "$DOCS_VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$DOCS_VENV/bin/pip" install -q -r requirements-docs.txt
  touch "$DOCS_VENV/.complete"
fi
mkdir -p .build && ln -sfn "$DOCS_VENV" .build/docs-venv

# The collection is found through the committed link collections/ansible_collections/resilience/dr
# (ansible.cfg, scripts/test.sh, tests/conftest.py).  The older .build/collections link is still
# made for the lab, Molecule and tools that point there.
mkdir -p .build/collections/ansible_collections/resilience
ln -sfn ../../../.. .build/collections/ansible_collections/resilience/dr

# ansible-test bootstraps pip into its sanity venvs with a get-pip script it downloads from a
# host this machine cannot reach.  Stand in for that script: ensurepip (from the Python
# standard library), then pip itself installs the exact version ansible-test asks for from PyPI.
pip_version=$(.venv/bin/python - <<'PY'
import os, re, ansible_test
path = os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')
match = re.search(r"\bpip='([0-9.]+)'", open(path).read())
print(match.group(1) if match else '24.2')
PY
)
shim=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if ! grep -qs "PIP_CONFIG_FILE" "$shim"; then
  mkdir -p "$(dirname "$shim")"
  cat > "$shim" <<'PY'
# Written by resilience.dr's scripts/bootstrap.sh in place of ansible-test's get-pip download.
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=False)
os.environ.pop('PIP_CONFIG_FILE', None)  # ensurepip points it at /dev/null; pip needs the real one
# get-pip takes pip-install arguments plus two options of its own, which pip lacks.  pip runs
# in a new process: ensurepip imported pip from a temporary wheel that is gone by now.
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))
PY
fi

# restic 0.18 (Debian 13's) for the host-side restore tests, next to the host's 0.14, so both
# versions run the same tests.  Fetched with a private apt state from the Debian archive this
# machine's own apt sources use (so a site's mirror or proxy applies; no host name is written
# here): the archive that serves this release's main component, asked for trixie instead.
# Nothing is installed system-wide.  Cached by version; a failure only skips the 0.18 cases.
R18=$CACHE/restic-0.18/restic
debian_archive() {  # the URI of the apt source serving <this codename> main, e.g. .../debian/
  local codename
  # shellcheck disable=SC1091
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 1
  # shellcheck disable=SC2016  # apt's own $(FIELD) placeholders, not shell
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(IDENTIFIER)' 2>/dev/null |
    awk -v rel="$codename" '$2 == rel && $3 == "main" && $4 == "Packages" { print $1; exit }'
}
if [ ! -x "$R18" ]; then
  archive=$(debian_archive || true)
  if [ -z "$archive" ]; then
    echo "bootstrap: no Debian archive among this machine's apt sources; restic 0.18's host tests will be skipped" >&2
  else
    tmp=$(mktemp -d)
    mkdir -p "$tmp/parts" "$tmp/state/lists/partial" "$tmp/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $archive trixie main" > "$tmp/sources.list"
    aptopts=(-o Dir::Etc::sourcelist="$tmp/sources.list" -o Dir::Etc::sourceparts="$tmp/parts"
             -o Dir::State="$tmp/state" -o Dir::Cache="$tmp/cache" -o APT::Get::List-Cleanup=0)
    if apt-get "${aptopts[@]}" update -qq >/dev/null 2>&1 && \
       (cd "$tmp" && apt-get "${aptopts[@]}" download restic >/dev/null 2>&1) && \
       dpkg-deb -x "$tmp"/restic_*.deb "$tmp/x"; then
      mkdir -p "$(dirname "$R18")" && cp "$tmp/x/usr/bin/restic" "$R18"
    else
      echo "bootstrap: could not fetch restic 0.18 from $archive; its host tests will be skipped" >&2
    fi
    rm -rf "$tmp"
  fi
fi
if [ -x "$R18" ]; then mkdir -p .build/restic-0.18 && ln -sfn "$R18" .build/restic-0.18/restic; fi
