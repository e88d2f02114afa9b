#!/usr/bin/env bash
# How reliably the rung-3 damage of tests/integration/test_recover_btrfs_corruption.py leaves a
# filesystem that only rescue=usebackuproot mounts.  Run as root on a host with loop devices:
#   tests/bench/btrfs_usebackuproot_reliability.sh 20
# Each round: raid1 over two loops (from losetup -f), four files, one more commit, the newest
# tree root zeroed on both mirrors; then the plain mount must fail and usebackuproot must mount
# with every checksum.  Only the round's own loops are detached and forgotten, by name.
set -u
rounds=${1:-10}
ok=0; plain=0; bad=0
for _round in $(seq "$rounds"); do
  dir=$(mktemp -d /tmp/usebackuproot.XXXX)
  truncate -s 320M "$dir/a.img" "$dir/b.img"
  a=$(losetup -f --show "$dir/a.img"); b=$(losetup -f --show "$dir/b.img")
  mkfs.btrfs -q -f -d raid1 -m raid1 "$a" "$b" >/dev/null 2>&1
  mkdir "$dir/mnt"; mount -t btrfs "$a" "$dir/mnt"
  mkdir -p "$dir/mnt/homes/a"
  for j in 1 2 3 4; do head -c $((RANDOM * 20)) /dev/urandom > "$dir/mnt/homes/a/f$j"; done
  (cd "$dir/mnt" && sha256sum homes/a/*) > "$dir/sums"
  btrfs filesystem sync "$dir/mnt"; echo x > "$dir/mnt/last"; btrfs filesystem sync "$dir/mnt"
  umount "$dir/mnt"
  root=$(btrfs inspect-internal dump-super "$a" | awk '$1=="root"{print $2}')
  btrfs-map-logical -l "$root" "$a" 2>/dev/null | awk '/physical/{print $6, $8}' > "$dir/map"
  while read -r phys dev; do
    dd if=/dev/zero of="$dev" bs=16384 count=1 seek=$((phys / 16384)) conv=notrunc status=none
  done < "$dir/map"
  sync; echo 3 > /proc/sys/vm/drop_caches
  if mount -t btrfs "$a" "$dir/mnt" 2>/dev/null; then
    plain=$((plain + 1)); umount "$dir/mnt"
  elif mount -t btrfs -o ro,rescue=usebackuproot "$a" "$dir/mnt" 2>/dev/null; then
    if (cd "$dir/mnt" && sha256sum -c --quiet "$dir/sums"); then ok=$((ok + 1)); else bad=$((bad + 1)); fi
    umount "$dir/mnt"
  else
    bad=$((bad + 1))
  fi
  btrfs device scan --forget "$a"; btrfs device scan --forget "$b"
  losetup -d "$a" "$b"; rm -rf "$dir"
done
echo "rounds=$rounds usebackuproot_ok_with_checksums=$ok plain_mount_still_worked=$plain failed=$bad"
