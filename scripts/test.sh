#!/usr/bin/env bash
# The one test command (make test calls it): every tier, a timing summary per tier, and a
# non-zero exit when any tier fails.  Tiers can be chosen: scripts/test.sh unit sanity
#   sanity       ansible-test sanity on a copy under ansible_collections/resilience/dr
#   lint         ansible-lint --profile production
#   docs         antsibull-docs lint-collection-docs --plugin-docs (module, plugin, role docs)
#   unit         pytest tests/unit (parsers and planners over captured tool output)
#   integration  pytest -m integration: real btrfs on loop devices, real restic and rclone
#   build        ansible-galaxy collection build + install of the tarball
#   claudefs     pytest -m claudefs: the ClaudeFS emulator (real processes, pysyncobj Raft,
#                nftables packet drops, rclone S3) and the conformance tests of its admin API
#   lab          pytest -m lab: lab VMs under qemu (smoke, bcache, end-to-end)
#   known_issues pytest -m known_issue: tests that expose a known intermittent bug (test-all only)
#   molecule     molecule test for every role that has a scenario
#   e2e          pytest -m 'e2e and not variant': the headline break-then-recover flow in a
#                lab VM (blank disks refused; OS disk + NVMe lost, recovered, rebooted, re-run)
#   variants     pytest -m e2e: the same flow, then its variants (layout 1 with a surviving
#                dirty cache, a missing HDD, a dirty cache lost with the NVMe)
# With no arguments: the tiers CI gates on (DEFAULT below); `scripts/test.sh all` adds the
# long VM scenario tiers (molecule, variants), which do not fit CI's time next to the rest.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
./scripts/bootstrap.sh
export PATH="$REPO/.venv/bin:$PATH"
# The committed link collections/ansible_collections/resilience/dr (ansible.cfg finds it too).
export ANSIBLE_COLLECTIONS_PATH="$REPO/collections"
# Labs made by this run belong to it: if the run is killed, the next one removes them.
export RESILIENCE_LAB_OWNER=$$
python3 tests/lab/labctl.py gc >/dev/null

DEFAULT=(sanity lint docs unit integration build claudefs lab e2e)
ALL=(sanity lint docs unit integration build claudefs known_issues lab molecule variants)
TIERS=("$@")
[ ${#TIERS[@]} -gt 0 ] || TIERS=("${DEFAULT[@]}")
[ "${TIERS[*]}" = all ] && TIERS=("${ALL[@]}")
mkdir -p tests/output
declare -A RESULT SECONDS_TAKEN

pytest_tier() {  # pytest's exit 5 (no tests collected) is a failure here, never a pass
  .venv/bin/pytest "$@"
  local rc=$?
  [ $rc -eq 5 ] && echo "test.sh: pytest collected no tests for: $*" >&2
  return $rc
}

tier_sanity() {
  local dest=.build/sanity/ansible_collections/resilience/dr
  rm -rf .build/sanity && mkdir -p "$dest"
  git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$dest"/ 2>/dev/null
  (cd "$dest" && git init -q && git add -A && \
   ansible-test sanity --requirements --python 3.11 --color no \
     --exclude tests/lab/ --exclude scripts/ --exclude .ci/)
}
# ansible-lint and Molecule install this collection into $ANSIBLE_HOME/collections (~/.ansible
# by default) and then resolve resilience.dr.* there first: a copy left by an earlier run, from
# another checkout, shadows this one ("role not found" for anything newer). A private
# ANSIBLE_HOME per checkout keeps those runs about this tree.
PRIVATE_ANSIBLE_HOME="$REPO/.build/ansible-home"
tier_lint() {
  ANSIBLE_HOME="$PRIVATE_ANSIBLE_HOME" ansible-lint --profile production --offline roles playbooks awx tests/lab/molecule
}
tier_docs() {  # the bundled collections (ansible.builtin fragments...) come from the main venv
  ANSIBLE_COLLECTIONS_PATH="$REPO/collections:$(.venv/bin/python -c 'import site; print(site.getsitepackages()[0])')" \
    .build/docs-venv/bin/antsibull-docs lint-collection-docs --plugin-docs .
}
tier_unit() { pytest_tier -q tests/unit; }
tier_integration() { pytest_tier -q -m integration tests; }
tier_build() {
  rm -rf .build/dist && mkdir -p .build/dist/installed
  ansible-galaxy collection build --force --output-path .build/dist . && \
  ansible-galaxy collection install --force --offline --no-deps -p .build/dist/installed .build/dist/resilience-dr-*.tar.gz && \
  ANSIBLE_COLLECTIONS_PATH=$PWD/.build/dist/installed ansible-doc -l resilience.dr 2>/dev/null | grep -c "^resilience.dr"
}
tier_claudefs() {
  python3 tests/lab/claudefs/cfsemu.py gc >/dev/null
  pytest_tier -q -m 'claudefs and not known_issue' tests/claudefs
}
tier_known_issues() {  # tests that expose a known intermittent bug: they must fail until it is fixed
  python3 tests/lab/claudefs/cfsemu.py gc >/dev/null
  pytest_tier -q -m known_issue tests
}
tier_lab() { pytest_tier -q -m 'lab and not e2e' tests; }
tier_e2e() { pytest_tier -q -m 'e2e and not variant' tests; }
tier_variants() { pytest_tier -q -m e2e tests; }
tier_molecule() {
  local rc=0 role
  for scenario in roles/*/molecule/default/molecule.yml; do
    [ -e "$scenario" ] || continue
    role=$(basename "$(dirname "$(dirname "$(dirname "$scenario")")")")
    echo "== molecule test: $role"
    (cd "roles/$role" && ANSIBLE_HOME="$PRIVATE_ANSIBLE_HOME" molecule test) || rc=1
  done
  return $rc
}

overall=0
for tier in "${TIERS[@]}"; do
  echo "=================== tier: $tier"
  start=$(date +%s)
  "tier_$tier"
  rc=$?
  SECONDS_TAKEN[$tier]=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then RESULT[$tier]=passed; else RESULT[$tier]="FAILED (rc=$rc)"; overall=1; fi
done

echo
echo "=================== timing summary"
total=0
passed=0; failed=0
for tier in "${TIERS[@]}"; do
  printf '%-12s %6ss  %s\n' "$tier" "${SECONDS_TAKEN[$tier]}" "${RESULT[$tier]}"
  total=$(( total + SECONDS_TAKEN[$tier] ))
  if [ "${RESULT[$tier]}" = passed ]; then passed=$((passed+1)); else failed=$((failed+1)); fi
done
printf '%-12s %6ss\n' total "$total"
echo "tiers: $passed passed, $failed failed"
exit $overall
