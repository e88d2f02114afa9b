# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""drill: the monthly DR drill (playbooks/dr-drill.yml): results, reports, trend, scratch space.

Pure (unit-tested):

``results``   the per-system result contract (``dr_drill_result``, docs/drill.md): normalised,
              its worst status, the metrics a train drill computes (throughput, extrapolation);
``junit``     JUnit XML (xml.etree): one testsuite per system/target, one testcase per check,
              ``warn`` and ``fail`` as failures;
``trend``     the JSON-lines trend: one line per target per run, "unusable since" (the newest
              drill that passed, the backup time of the first failing one) and the rotation of
              ``restic check --read-data-subset n/t`` across consecutive drills.

Writing:

``scratch``   the drill's scratch directory on the host: created with a marker, a leftover of
              a crashed drill cleared, anything else refused; removed only when marked
              (module dr_drill_scratch);
``report``    ``DrillReport``, the manager dr_drill_report calls: the JSON, JUnit XML and the
              trend line(s) written atomically into ``dr_drill_dir`` (or planned in check mode).
"""
