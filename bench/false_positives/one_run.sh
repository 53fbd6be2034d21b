#!/bin/sh
# The four systems on both lossy profiles in one run, 10-minute soaks: roster's defaults and, for
# every system, its fastest setting that was quiet in earlier (shorter) sweeps. About 2 hours; the
# machine should be otherwise idle (measured: 1 h 56 min). Results go to $OUT (default bench/false_positives/results/one-run),
# then compare.py puts each profile's systems side by side.
#
#   bench/false_positives/one_run.sh [OUT]
#   ROSTER_SOAK_MINUTES=1 bench/false_positives/one_run.sh /tmp/one-run   # a shorter try of the whole
#   ONE_RUN_SYSTEMS=roster PEERS=bench/false_positives/results/one-run bench/false_positives/one_run.sh OUT
#       # roster's rows again (about 45 minutes), compared with the peers' rows of an earlier run
set -eu
cd "$(dirname "$0")/../.."
OUT=${1:-bench/false_positives/results/one-run}
MIN=${ROSTER_SOAK_MINUTES:-10}
mkdir -p "$OUT"
FP="/usr/bin/python3 bench/false_positives/false_positives.py --minutes $MIN --kills 5"
SYSTEMS=${ONE_RUN_SYSTEMS:-roster zookeeper etcd serf}
PEERS=${PEERS:-$OUT}
run() { # SYSTEM, then false_positives.py's arguments
    case " $SYSTEMS " in *" $1 "*) $FP --system "$@" ;; esac
}

# 20 ms +- 10 ms, 2 % loss. roster: the adaptive defaults (50 ms at 13 nodes, phi 8) and 50 ms /
# phi 12; ZooKeeper: 2 s sessions; etcd: TTL 2 s; Serf: the "local" profile.
run roster --profiles 20ms --settings auto:8,50:12 --out "$OUT/roster-20ms.json"
run zookeeper --profiles 20ms --settings 2000 --out "$OUT/zookeeper-20ms.json"
run etcd --profiles 20ms --settings 2 --out "$OUT/etcd-20ms.json"
run serf --profiles 20ms --settings local --members 10 --out "$OUT/serf-20ms.json"

# 50 ms +- 40 ms, 5 % loss. roster: the adaptive defaults and 100 ms / phi 8; ZooKeeper: 2 s, and
# 5 s (2 s sessions were quiet in a 3-minute soak, not in 10); etcd: TTL 5 s (TTL 2 s removed a live
# member in 3 minutes); Serf: "local".
run roster --profiles 50ms --settings auto:8,100:8 --out "$OUT/roster-50ms.json"
run zookeeper --profiles 50ms --settings 2000 --out "$OUT/zookeeper-50ms.json"
run zookeeper --profiles 50ms --settings 5000 --out "$OUT/zookeeper-50ms-5000.json"
run etcd --profiles 50ms --settings 5 --out "$OUT/etcd-50ms.json"
run serf --profiles 50ms --settings local --members 10 --out "$OUT/serf-50ms.json"

for p in 20ms 50ms; do
    /usr/bin/python3 bench/false_positives/compare.py "$OUT/roster-$p.json" "$PEERS"/zookeeper-$p*.json \
        "$PEERS/etcd-$p.json" "$PEERS/serf-$p.json" --plot "$OUT/compare-$p.png"
done
