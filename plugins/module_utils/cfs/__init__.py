# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ClaudeFS through its admin contract (docs/claudefs/admin-api.yaml).

``client``  the one HTTP client (endpoints, token, TLS, timeouts, retries, error envelope);
``raft``    pure planners over raft-status responses (health, elections, force-leader);
``nodes``   pure planners over node lists and shard membership (join, drain, remove, replace);
``info``    the read-only cluster view that cfs_info returns and the other modules start from;
``metadata``  check, repair, snapshot, restore and replay (cfs_metadata's manager);
``archive``   snapshot archives seen from the admin host (verify, S3 times, local paths);
``snapshot_choice``  which snapshot "newest-verified" restores, and why the others were skipped.
"""
