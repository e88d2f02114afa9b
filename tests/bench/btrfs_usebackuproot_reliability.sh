#!/bin/bash
# Run as root on a host with loop devices: tests/bench/btrfs_usebackuproot_reliability.sh 20
# Uses two loops from losetup -f, detached (and forgotten by btrfs by name) after each round.
# rung-3 damage reliability: N rounds of: raid1, data, one more commit, newest root zeroed on both mirrors
N=${1:-10}; ok=0; plainok=0; bad=0
for i in $(seq $N); do
D=$(mktemp -d /tmp/usebackuproot.XXXX); truncate -s 320M $D/a.img $D/b.img
A=$(losetup -f --show $D/a.img); B=$(losetup -f --show $D/b.img)
mkfs.btrfs -q -f -d raid1 -m raid1 $A $B >/dev/null 2>&1; mkdir $D/mnt; mount $A $D/mnt
mkdir -p $D/mnt/homes/a; for j in 1 2 3 4; do head -c $((RANDOM*20)) /dev/urandom > $D/mnt/homes/a/f$j; done
(cd $D/mnt && sha256sum homes/a/*) > $D/sums; btrfs filesystem sync $D/mnt; echo x > $D/mnt/last; btrfs filesystem sync $D/mnt; umount $D/mnt
ROOT=$(btrfs inspect-internal dump-super $A | awk '$1=="root"{print $2}')
btrfs-map-logical -l $ROOT $A 2>/dev/null | awk '/physical/{print $6, $8}' > $D/map
while read phys dev; do dd if=/dev/zero of=$dev bs=16384 count=1 seek=$((phys/16384)) conv=notrunc status=none; done < $D/map
sync; echo 3 > /proc/sys/vm/drop_caches
if mount -t btrfs $A $D/mnt 2>/dev/null; then plainok=$((plainok+1)); umount $D/mnt
elif mount -t btrfs -o ro,rescue=usebackuproot $A $D/mnt 2>/dev/null; then
  (cd $D/mnt && sha256sum -c --quiet $D/sums) && ok=$((ok+1)) || bad=$((bad+1)); umount $D/mnt
else bad=$((bad+1)); fi
btrfs device scan --forget $A; btrfs device scan --forget $B; losetup -d $A $B; rm -rf $D
done
echo "rounds=$N usebackuproot_ok_with_checksums=$ok plain_mount_still_worked=$plainok failed=$bad"
