#!/usr/bin/env bash
# A one-node SLURM cluster on this (Debian, root) machine, for tests/test_cluster.py.
#
#   setup_slurm.sh install   apt-get install slurm-wlm and munge (Debian's packages)
#   setup_slurm.sh start     write /etc/slurm/slurm.conf, start munged, slurmctld and slurmd
#   setup_slurm.sh stop      stop the daemons `start` started (by the PIDs it recorded), nothing else
#
# The config goes to the default path on purpose: the Snakemake job-step plugin runs `srun` inside
# each job, and srun there does not see a SLURM_CONF exported to the submitting shell.
# Accounting is off (no slurmdbd), so `sacct` fails; the test profile polls with `squeue` instead,
# which works as long as MinJobAge (default 300 s) outlives the plugin's status-check interval.
set -euo pipefail

STATE=/var/lib/safety-compliance-slurm      # spool, logs and the PIDs this script started
CONF=/etc/slurm/slurm.conf
MARK="# written by safety-compliance tests/cluster/setup_slurm.sh"

die() { echo "setup_slurm.sh: $*" >&2; exit 1; }
# Exit status 3: refused before starting anything, so there is nothing for `stop` to clean up.
refuse() { echo "setup_slurm.sh: $*" >&2; exit 3; }

need_root() { [ "$(id -u)" = 0 ] || refuse "must run as root (it installs packages and starts daemons)"; }

install() {
    need_root
    command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian-like systems only"
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && command -v sbatch >/dev/null; then
        return 0
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm slurm-client munge >/dev/null
}

write_conf() {
    if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        refuse "$CONF exists and is not ours; refusing to overwrite a real cluster's configuration"
    fi
    local host cpus mem
    host=$(hostname -s)
    # nproc reports OMP_NUM_THREADS when it is set (make test sets 1 for torch); the node gets every core.
    cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
    # Leave room for the OS; a job asking for more than RealMemory is refused at submission.
    mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 9 / 10 ))
    mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d"
    cat > "$CONF" <<EOF
$MARK
ClusterName=sctest
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:2
EOF
}

start() {
    need_root
    for tool in slurmctld slurmd munged sbatch; do
        command -v "$tool" >/dev/null || refuse "$tool not installed; run '$0 install' first"
    done
    if [ -f "$STATE/started" ]; then
        refuse "daemons from an earlier start are recorded in $STATE/started; run '$0 stop' first"
    fi
    if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
        refuse "a slurmctld or slurmd not started by this script is running; not touching it"
    fi
    write_conf
    : > "$STATE/started"

    # munged: reuse one that already answers, otherwise start our own (as the munge user).
    if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
        runuser -u munge -- /usr/sbin/munged
        record munged /run/munge/munged.pid
        munge -n | unmunge >/dev/null || die "munged started but does not answer"
    fi

    # -c: a clean start, ignoring any saved state from an earlier run.
    /usr/sbin/slurmctld -c || true
    record slurmctld "$STATE/slurmctld.pid"
    /usr/sbin/slurmd || true
    record slurmd "$STATE/slurmd.pid"

    # Ready when the node is idle in the default partition.
    for _ in $(seq 60); do
        if sinfo -h -o '%t' 2>/dev/null | grep -qx idle; then
            echo "one-node SLURM cluster up: $(sinfo -h -o '%P %D %t %c CPUs %m MB')"
            return 0
        fi
        sleep 1
    done
    echo "--- slurmctld.log" >&2; tail -20 "$STATE/slurmctld.log" >&2 || true
    echo "--- slurmd.log" >&2; tail -20 "$STATE/slurmd.log" >&2 || true
    die "the node never became idle (sinfo: $(sinfo -h 2>&1 || true))"
}

# Record the PID of a daemon just started: from its PID file, or (none of its name ran before) pgrep.
record() {
    local name=$1 pidfile=$2 pid=""
    for _ in $(seq 100); do [ -s "$pidfile" ] && break; sleep 0.1; done
    if [ -s "$pidfile" ]; then pid=$(cat "$pidfile"); else pid=$(pgrep -x -n "$name" || true); fi
    [ -n "$pid" ] || die "$name did not start; see the logs in $STATE"
    echo "$name $pid" >> "$STATE/started"
}

stop() {
    [ -f "$STATE/started" ] || return 0
    # slurmd first, then the controller, then munged: each by the PID recorded when it was started.
    for name in slurmd slurmctld munged; do
        pid=$(awk -v n="$name" '$1 == n {print $2}' "$STATE/started")
        [ -n "$pid" ] || continue
        if [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = "$name" ]; then
            kill "$pid"
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
            echo "stopped $name ($pid)"
        fi
    done
    rm -f "$STATE/started"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    *) die "usage: $0 install|start|stop" ;;
esac
