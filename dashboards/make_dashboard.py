#!/usr/bin/env python3
"""Writes dashboards/roster.json, the Grafana dashboard of roster (schema 39, Grafana 10.4+).

The dashboard is generated so that every panel gets the same datasource wiring and the test
(tests/monitoring) can list the expressions; edit this file and run it, not the JSON:
    /usr/bin/python3 dashboards/make_dashboard.py
"""

import json
import os

DS = {"type": "prometheus", "uid": "${datasource}"}
C = 'cluster="$cluster"'
RI = "$__rate_interval"

panels = []
y = 0


def panel(kind, title, targets, w=12, h=8, x=0, unit=None, description="", extra=None):
    global y
    p = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [dict(refId=chr(ord("A") + i), datasource=DS, **t) for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {},
    }
    if unit:
        p["fieldConfig"]["defaults"]["unit"] = unit
    if extra:
        p.update(extra)
    panels.append(p)
    return p


def row(title):
    global y
    panels.append({"type": "row", "title": title, "collapsed": False, "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
                   "panels": []})
    y += 1


row("Liveness")
panel("table", "Member liveness (as the voters see it)",
      [{"expr": f"min by (member, member_id) (roster_member_up{{{C}}})", "instant": True, "format": "table"}],
      w=8, h=10, x=0, description="1: every voter trusts the member; 0: at least one suspects it, or it was removed "
      "in the last five minutes. Per-member series stop above --metrics-member-limit members.")
panel("state-timeline", "Member liveness over time",
      [{"expr": f"min by (member) (roster_member_up{{{C}}})", "legendFormat": "{{member}}"}],
      w=16, h=10, x=8)
y += 10
panel("timeseries", "Phi per member (highest over the voters)",
      [{"expr": f"max by (member) (roster_member_phi{{{C}}})", "legendFormat": "{{member}}"}],
      w=12, x=0, description="Suspicion level; a voter suspects at the threshold (default 8).")
panel("timeseries", "Suspected members, highest phi and local health, per voter",
      [{"expr": f"roster_members_suspected{{{C}}}", "legendFormat": "suspected at {{node}}"},
       {"expr": f"roster_member_phi_max{{{C}}}", "legendFormat": "highest phi at {{node}}"},
       {"expr": f"roster_local_health_score{{{C}}}", "legendFormat": "local health score of {{node}}"}],
      w=12, x=12, description="Local health score 0: healthy; n > 0: many members looked late at this voter "
      "(more than usually) within half a second, or it stalled, so it suspects a member only after n+1 times the usual silence.")
y += 8
panel("timeseries", "Detection latency (last heartbeat to committed removal)",
      [{"expr": f"histogram_quantile(0.5, sum by (le) (rate(roster_detection_seconds_bucket{{{C}}}[{RI}])))",
        "legendFormat": "p50"},
       {"expr": f"histogram_quantile(0.99, sum by (le) (rate(roster_detection_seconds_bucket{{{C}}}[{RI}])))",
        "legendFormat": "p99"}],
      w=12, x=0, unit="s")
panel("timeseries", "Heartbeat inter-arrival",
      [{"expr": f"histogram_quantile(0.5, sum by (le) (rate(roster_heartbeat_interarrival_seconds_bucket{{{C}}}[{RI}])))",
        "legendFormat": "p50"},
       {"expr": f"histogram_quantile(0.99, sum by (le) (rate(roster_heartbeat_interarrival_seconds_bucket{{{C}}}[{RI}])))",
        "legendFormat": "p99"}],
      w=12, x=12, unit="s")
y += 8
row("Views")
panel("stat", "View", [{"expr": f"max(roster_view_id{{{C}}})", "legendFormat": "view id"},
                       {"expr": f"max(roster_view_members{{{C}}})", "legendFormat": "members"}], w=6, h=6, x=0)
panel("stat", "Leader and fencing token",
      [{"expr": f"max(roster_view_leader_member_id{{{C}}})", "legendFormat": "leader member id"},
       {"expr": f"max(roster_view_fencing_token{{{C}}})", "legendFormat": "fencing token"}], w=6, h=6, x=6)
panel("timeseries", "View changes by reason",
      [{"expr": f"max by (reason) (increase(roster_view_changes_total{{{C}}}[{RI}]))", "legendFormat": "{{reason}}"}],
      w=12, h=6, x=12, description="Members joined and removed by committed views (joined, left, suspected, replaced).")
y += 6
panel("timeseries", "Subscribers and catch-up",
      [{"expr": f"sum by (node) (roster_subscribers_connected{{{C}}})", "legendFormat": "connected to {{node}}"},
       {"expr": f"sum by (node) (rate(roster_sync_requests_total{{{C}}}[{RI}]))", "legendFormat": "syncs/s at {{node}}"}],
      w=12, x=0)
panel("timeseries", "View id per node",
      [{"expr": f"roster_view_id{{{C}}}", "legendFormat": "{{node}}"}], w=12, x=12)
y += 8
row("Consensus")
panel("state-timeline", "Consensus leader (per voter)",
      [{"expr": f'roster_raft_role{{{C}, role="leader"}}', "legendFormat": "{{node}}"}], w=12, x=0)
panel("timeseries", "Term and leader changes",
      [{"expr": f"max by (node) (roster_raft_term{{{C}}})", "legendFormat": "term at {{node}}"},
       {"expr": f"sum by (node) (increase(roster_raft_leader_changes_total{{{C}}}[{RI}]))",
        "legendFormat": "leader changes at {{node}}"}], w=12, x=12)
y += 8
panel("timeseries", "Commit latency and fsync",
      [{"expr": f"histogram_quantile(0.99, sum by (le) (rate(roster_raft_commit_latency_seconds_bucket{{{C}}}[{RI}])))",
        "legendFormat": "commit p99"},
       {"expr": f"histogram_quantile(0.5, sum by (le) (rate(roster_raft_commit_latency_seconds_bucket{{{C}}}[{RI}])))",
        "legendFormat": "commit p50"},
       {"expr": f"histogram_quantile(0.99, sum by (le) (rate(roster_storage_fsync_seconds_bucket{{{C}}}[{RI}])))",
        "legendFormat": "fsync p99"}], w=12, x=0, unit="s")
panel("timeseries", "Commit index per voter",
      [{"expr": f"roster_raft_commit_index{{{C}}}", "legendFormat": "{{node}}"}], w=12, x=12)
y += 8
row("Hygiene")
panel("timeseries", "Dropped messages",
      [{"expr": f"sum by (socket, reason) (rate(roster_messages_dropped_total{{{C}}}[{RI}]))",
        "legendFormat": "{{socket}} {{reason}}"}], w=12, x=0, unit="ops",
      description="Messages refused: decode_error, wrong_cluster, unknown_sender, bad_framing, stale_term.")
panel("table", "Nodes",
      [{"expr": f"roster_build_info{{{C}}}", "instant": True, "format": "table"}], w=12, x=12)
y += 8

dashboard = {
    "uid": "roster-overview",
    "title": "roster",
    "description": "Liveness, views and consensus of a roster cluster",
    "tags": ["roster"],
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "graphTooltip": 1,
    "time": {"from": "now-30m", "to": "now"},
    "refresh": "10s",
    "timezone": "",
    "annotations": {"list": []},
    "links": [],
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "options": [], "regex": ""},
        {"name": "cluster", "label": "Cluster", "type": "query", "datasource": DS,
         "definition": "label_values(roster_build_info, cluster)",
         "query": {"query": "label_values(roster_build_info, cluster)", "refId": "cluster"},
         "current": {}, "hide": 0, "refresh": 2, "includeAll": False, "multi": False, "options": [],
         "sort": 1, "regex": ""},
    ]},
    "panels": panels,
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "roster.json")
with open(out, "w") as f:
    json.dump(dashboard, f, indent=2)
    f.write("\n")
print(f"wrote {out}: {len([p for p in panels if p['type'] != 'row'])} panels")
