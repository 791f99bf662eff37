#!/usr/bin/env bash
# t-deploy-pod: deploy/kubernetes at work on one emulated node. Every path, command, env
# variable, id and capability comes from the manifests (tests/deploy/pod_plan.py, which also
# fails where they disagree with each other): the modelshim image is `cmake --install --prefix
# /usr` (as deploy/container/Dockerfile makes it); the DaemonSet's import and daemon run as its
# securityContext says (uid, capabilities dropped but for those added, no new privileges, a
# read-only root but for the hostPath cache) with the Secret's variables, and its probes answer;
# the application pod runs in a mount namespace as the kubelet would wire it: a debootstrap
# minbase root as its image, its initContainer's `cp` of the .so into a tmpfs emptyDir, the
# ConfigMap's modelshim.ini verbatim, the node's cache dir read-only at the manifest's path,
# its runAsUser and supplementalGroups, its env, after its warm-up initContainer (the modelshim
# image's `modelshim warmup` as the pod's user, through the socket). There the image's sh, ls
# and sha256sum read the model named by --model (warmed) and a file beside it (cold: filled by
# the node's daemon on demand) right through the shim, twice; without the tenant's group, or
# without LD_PRELOAD, they cannot. Only the store's endpoint, the metrics address
# (127.0.0.1 and a free port) and the cache dir's place on this host differ from the manifests,
# in the daemon's copy of the config.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
[[ ${MS_SANITIZED:-0} == 1 ]] && ms_skip "a sanitized .so needs its runtimes, which no minimal image has"
(($(id -u) == 0)) || ms_skip "needs root (mount namespaces, chroot, ids of the pod)"
lower=$MS_TOP/build-roots/bookworm
[[ -e $lower/.complete ]] || ms_fail "$lower missing: scripts/test makes it (scripts/minimal-roots)"
vdir=$MS_TOP/tests/deploy
ms_need_cmds setpriv unshare chroot curl

# The plan (the values, read out of the manifests) and the modelshim image, which the
# initContainer reads as the pod's user.
ms_deploy_setup pod_plan.py "the manifests"
plan=$T/plan image=$T/image
p() { cat "$plan/$1"; }
[[ -f $image$(p inject_src) ]] || ms_fail "the initContainer copies $(p inject_src), which the image lacks"

# The store, holding the model --model names.
ms_start_s3 "$(p model_bucket)"
src=$T/src
mkdir -p "$src"
printf '{"architectures": ["LlamaForCausalLM"], "hidden_size": 64}\n' >"$src/config.json"
head -c $((3 * 1048576 + 123)) /dev/urandom >"$src/model-00001-of-00002.safetensors"
head -c $((5 * 1048576 + 7)) /dev/urandom >"$src/model-00002-of-00002.safetensors"
node "$MS_TOP/tests/s3/put.js" "$S3_ENDPOINT" "$(p model_bucket)" "$src" "$(p model_key_prefix)" >"$T/put.log" ||
	ms_fail "upload failed: $(cat "$T/put.log")"
# Beside the model, under the same mount: a file no warm-up touches, read cold by the pod.
mkdir -p "$T/lora"
head -c $((2 * 1048576 + 99)) /dev/urandom >"$T/lora/adapter.safetensors"
node "$MS_TOP/tests/s3/put.js" "$S3_ENDPOINT" "$(p model_bucket)" "$T/lora" "$(p mount_key_prefix)lora/" >>"$T/put.log" ||
	ms_fail "upload failed: $(cat "$T/put.log")"
lora=$(p mount_path)/lora/adapter.safetensors

# The node: its cache dir (the hostPath, DirectoryOrCreate) and the daemon's copy of the config.
node=$T/node
ncache=$node$(p node_cache)
mkdir -p "$ncache"
port=$("$MS_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$MS_PY" - "$plan/config.ini" "$ncache" "$FRONT_ENDPOINT" "127.0.0.1:$port" >"$T/daemon.ini" <<'PY' || ms_fail "cannot make the daemon's config"
import re, sys
ini, cache, endpoint, metrics = sys.argv[1:5]
want = {("cache", "dir"): cache, ("cache", "metrics"): metrics, ("mount", "endpoint"): endpoint}
done, section = set(), None
for line in open(ini):
    m = re.match(r"\s*\[(\w+)", line)
    if m:
        section = m.group(1)
    m = re.match(r"(\s*)(\w+)(\s*=\s*)", line)
    if m and (section, m.group(2)) in want:
        line = m.group(1) + m.group(2) + m.group(3) + want[(section, m.group(2))] + "\n"
        done.add((section, m.group(2)))
    sys.stdout.write(line)
if done != set(want):
    sys.exit("the ConfigMap's config lacks %s" % sorted(set(want) - done))
PY
ms_life credentials "$T/credentials" >/dev/null || ms_fail "mslife credentials failed"
declare -A secret=(
	[AWS_ACCESS_KEY_ID]=$(sed -n 's/^aws_access_key_id *= *//p' "$T/credentials")
	[AWS_SECRET_ACCESS_KEY]=$(sed -n 's/^aws_secret_access_key *= *//p' "$T/credentials"))
denv=()
while IFS== read -r name key; do
	[[ -n ${secret[$key]:-} ]] || ms_fail "the daemon's env $name names Secret key $key, which the store's keys do not fill"
	denv+=("$name=${secret[$key]}")
done <"$plan/daemon_env"
MS_CONFIG=$T/daemon.ini MS_CACHE_DIR=$ncache
export MS_CONFIG MS_CACHE_DIR

# daemon_pod ARGV_FILE: that container's command, as its securityContext runs it; execs it (call
# it in a subshell or with &: the PID is then the daemon's).
daemon_pod() {
	local -a argv
	mapfile -t argv <"$1"
	argv[0]=$image/usr/bin/${argv[0]}
	local i
	for i in "${!argv[@]}"; do
		[[ ${argv[i]} == "$(p daemon_config)" ]] && argv[i]=$MS_CONFIG
	done
	exec unshare -m bash -c '
		set -e
		ncache=$1 ro=$2 caps=$3 uid=$4
		shift 4
		mount --make-rprivate /
		if [[ $ro == yes ]]; then
			mount --bind "$ncache" "$ncache"
			mount -o remount,bind,ro /
		fi
		exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs --inh-caps=-all \
			--bounding-set=-all${caps:+,+$caps} "$@"
	' daemon_pod "$ncache" "$(p daemon_ro_root)" "$(p daemon_caps)" "$(p daemon_uid)" \
		env -i PATH=/usr/bin:/bin "${denv[@]}" "${argv[@]}"
}

(daemon_pod "$plan/daemon_init.argv") >>"$T/daemon.log" 2>&1 || ms_fail "the DaemonSet's import failed: $(tail -n 5 "$T/daemon.log")"
ms_ok "DaemonSet initContainer: $(tr '\n' ' ' <"$plan/daemon_init.argv")(uid $(p daemon_uid), +$(p daemon_caps) only, read-only root: $(p daemon_ro_root))"
daemon_pod "$plan/daemon.argv" >>"$T/daemon.log" 2>&1 &
dpid=$!
ms_track_pid "$dpid"
for probe in ready_path live_path; do
	for ((i = 0; i < 100; i++)); do
		code=$(curl -s -o "$T/probe" -w '%{http_code}' "http://127.0.0.1:$port$(p $probe)" || true)
		[[ $code == 200 ]] && break
		ms_alive "$dpid" || ms_fail "the DaemonSet's daemon exited: $(tail -n 5 "$T/daemon.log")"
		sleep 0.1
	done
	[[ $code == 200 ]] || ms_fail "probe $(p $probe) answers $code after 10 s"
done
[[ $(ms_daemon_pid) == "$dpid" ]] || ms_fail "the daemon serving $ncache is not the pod's (pid $dpid)"
ms_ok "DaemonSet container: $(tr '\n' ' ' <"$plan/daemon.argv")serves; readiness $(p ready_path) and liveness $(p live_path) answer 200"

# The application pod: three runs in one pod (its emptyDir and mounts made once).
model=$(p model_dir)
files=(config.json model-00001-of-00002.safetensors model-00002-of-00002.safetensors)
want=$(cd "$src" && sha256sum "${files[@]}" | sed "s|  |  $model/|")
check="ls $model; sha256sum $(printf "$model/%s " "${files[@]}") $lora; grep -o '[^ ]*libmodelshim[^ ]*' /proc/self/maps | sort -u"
want+=$'\n'"$(sha256sum <"$T/lora/adapter.safetensors" | cut -d' ' -f1)  $lora"
unshare -m -p --fork bash "$vdir/run_pod.sh" "$plan" "$lower" "$image" "$node" "$T/pod" "$T/out" <<EOF || ms_fail "the pod could not be set up (above)"
RUN cold pod pod $check
RUN warm pod pod $check
RUN nogroup $(p app_gid) pod sha256sum $model/${files[2]}
RUN nopreload pod nopreload ls $model
RUN write pod pod touch $(p node_cache)/written-by-the-pod
EOF
if [[ -f $plan/warmup.argv ]]; then
	[[ $(cat "$T/out/warmup.rc") == 0 ]] || ms_fail "the warm-up initContainer exited $(cat "$T/out/warmup.rc"): $(head -c 400 "$T/out/warmup.err")"
	grep -q "^warmup: ${#files[@]} files warmed" "$T/out/warmup.out" ||
		ms_fail "the warm-up did not warm the ${#files[@]} files of $model: $(cat "$T/out/warmup.out" "$T/out/warmup.err")"
	ms_ok "warm-up initContainer ($(tr '\n' ' ' <"$plan/warmup.argv")as uid $(p app_uid)): $(cat "$T/out/warmup.out")"
fi
for run in cold warm; do
	[[ $(cat "$T/out/$run.rc") == 0 ]] || ms_fail "$run read in the pod exited $(cat "$T/out/$run.rc"): $(head -c 400 "$T/out/$run.err")"
	[[ ! -s $T/out/$run.err ]] || ms_fail "$run read in the pod printed: $(head -c 400 "$T/out/$run.err")"
	got=$(grep -e "  $model/" -e "  $lora\$" "$T/out/$run.out")
	[[ $got == "$want" ]] || ms_fail "$run: sha256sum in the pod:\n$got\nwanted:\n$want"
	for f in "${files[@]}"; do
		grep -qx "$f" "$T/out/$run.out" || ms_fail "$run: ls $model in the pod does not list $f: $(head -c 300 "$T/out/$run.out")"
	done
	grep -qx "$(grep '^LD_PRELOAD=' "$plan/app_env" | cut -d= -f2)" "$T/out/$run.out" ||
		ms_fail "$run: the pod's programs do not map the emptyDir's .so: $(tail -n 2 "$T/out/$run.out")"
done
echo "pod output (warm run):"
sed 's/^/  /' "$T/out/warm.out"
ms_ok "pod (uid $(p app_uid), groups $(p app_groups), image: debootstrap bookworm minbase): ls and sha256sum read $model and $lora right through $(grep '^LD_PRELOAD=' "$plan/app_env" | cut -d= -f2), twice (the adapter cold the first time, filled by the node's daemon through the socket)"
[[ $(cat "$T/out/nogroup.rc") != 0 ]] && ! grep -q "$(cut -d' ' -f1 <<<"$want" | tail -n 1)" "$T/out/nogroup.out" ||
	ms_fail "the pod read the model without the tenant's group $(p app_groups)"
ms_ok "without supplementalGroups $(p app_groups) the pod cannot read it ($(head -n 1 "$T/out/nogroup.err"))"
[[ $(cat "$T/out/nopreload.rc") != 0 ]] || ms_fail "ls $model succeeded without LD_PRELOAD: the path exists outside the shim"
ms_ok "without LD_PRELOAD, $model does not exist ($(head -n 1 "$T/out/nopreload.err"))"

[[ $(cat "$T/out/write.rc") != 0 && ! -e $ncache/written-by-the-pod ]] || ms_fail "the pod wrote into the node's cache dir"
ms_ok "the pod cannot write the cache dir ($(head -n 1 "$T/out/write.err"))"
for f in "${files[@]/#/$(p model_key_prefix)}" "$(p mount_key_prefix)lora/adapter.safetensors"; do
	size=$(stat -c %s "$src/${f##*/}" 2>/dev/null || stat -c %s "$T/lora/${f##*/}")
	got=$(ms_key_stat "$f" bytes)
	[[ $got == "$size" ]] || ms_fail "$f: the store sent $got bytes of it, not its size once ($size)"
done
ms_ok "the store sent each file once (the model for the warm-up, the adapter for the first read; the second read found both in the cache)"

ms_life stop "$MS_RUN" "$dpid" --timeout 10 --strict >/dev/null || ms_fail "the daemon did not stop within 10 s of SIGTERM"
ms_untrack_pid "$dpid"
ms_ok "the DaemonSet's daemon stops on SIGTERM"
ms_done
