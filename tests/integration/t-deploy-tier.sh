#!/usr/bin/env bash
# t-deploy-tier: deploy/kubernetes/tier.yaml (the cluster cache tier's nginx nodes) at work, as
# one of its pods: its values read from the manifests (tests/deploy/tier_plan.py, which fails
# where the config's [tier] nodes, the StatefulSet, its Service, tier-config's arguments and
# nginx's disagree), with the ConfigMap's `tier = site-a` line enabled as the manifest says to.
# In a mount, network and PID namespace of its own (what it starts dies with it): the ConfigMap, an emptyDir and a volume standing
# for the claim (group fsGroup, setgid, as the kubelet gives it) at the manifest's paths, a
# read-only root, the origin's name in /etc/hosts (no DNS there; nginx resolves it at load); the initContainer's script, with the modelshim image's binary on PATH, writes
# nginx.conf as the pod's user; nginx -t accepts it, and nginx run with the container's command
# as that user listens on the pod's port and refuses what the tier refuses: 421 for a host that
# is no origin of the config, 428 for the origin without If-Match. (Proxying and caching
# through the tier: t-tier.)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
(($(id -u) == 0)) || ms_skip "needs root (mount and network namespaces, the pod's ids)"
ms_need_cmds nginx setpriv unshare ip curl

# The plan and the modelshim image, run by the pod's user.
ms_deploy_setup tier_plan.py "the tier's manifests"
plan=$T/plan image=$T/image
p() { cat "$plan/$1"; }

# The volumes: the ConfigMap's keys, an emptyDir (0777), the claim (fsGroup's, setgid).
mkdir -p "$T/vol/configMap" "$T/vol/emptyDir" "$T/vol/pvc" "$T/ovl" "$T/out"
cp "$plan/config.ini" "$T/vol/configMap/modelshim.ini"
chmod 0777 "$T/vol/emptyDir"
chgrp "$(p fsgroup)" "$T/vol/pvc"
chmod 2775 "$T/vol/pvc"

timeout -k 5 60 unshare -m -n -p --fork --mount-proc bash -s "$plan" "$T" "$image" "$MS_TOP/tests/deploy/mount_at.sh" <<'EOS' >"$T/out/pod.log" 2>&1 || ms_fail "the tier pod failed: $(tail -n 20 "$T/out/pod.log")"
set -euo pipefail
plan=$1 t=$2 image=$3
. "$4" # mount_at
p() { cat "$plan/$1"; }
ip link set lo up
mount --make-rprivate /
while read -r kind name path; do
	mount_at "$t/vol/$kind" "$path" "$t/ovl"
	[[ $kind != configMap ]] || mount -o remount,bind,ro "$path"
done <"$plan/mounts"
# No DNS in this namespace; nginx resolves the origin's name when it loads its config.
if [[ " ${overlaid[*]} " != *" /etc "* ]]; then
	mkdir -p "$t/ovl/etc/up" "$t/ovl/etc/wk"
	mount -t overlay overlay -o "lowerdir=/etc,upperdir=$t/ovl/etc/up,workdir=$t/ovl/etc/wk" /etc
fi
echo "127.0.0.1 $(p origin_host)" >>/etc/hosts
mount --bind "$t/out" "$t/out" # the test's results stay writable
mount -o remount,bind,ro /
# as_pod CMD...: execs CMD as the pod's user (call it in a subshell or with &).
as_pod() {
	exec setpriv --reuid="$(p uid)" --regid="$(p gid)" --groups="$(p fsgroup)" --no-new-privs --inh-caps=-all \
		--bounding-set=-all env -i PATH="$image/usr/bin:/usr/sbin:/usr/bin:/bin" "$@"
}
(as_pod sh -c "$(cat "$plan/init.sh")")
echo "initContainer: wrote $(wc -l <"$(p conf_dir)/nginx.conf") lines of nginx.conf"
mount -o remount,bind,ro "$(p conf_dir)"
mapfile -t argv <"$plan/nginx.argv"
(as_pod "${argv[@]}" -t -q)
echo "nginx -t: accepted"
as_pod "${argv[@]}" &
nginx=$!
trap 'kill -TERM $nginx 2>/dev/null; wait $nginx 2>/dev/null || true' EXIT
for ((i = 0; i < 100; i++)); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $(p origin_host)" "http://127.0.0.1:$(p port)/models/x" || true)
	[[ $code != 000 ]] && break
	kill -0 $nginx || { echo "nginx exited"; exit 1; }
	sleep 0.1
done
echo "origin without If-Match: $code"
echo "origin without If-Match: $code" >"$t/out/origin"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: other.example.com" "http://127.0.0.1:$(p port)/models/x" || true)
echo "other host: $code" >"$t/out/other"
echo "other host: $code"
echo "nginx's user: $(awk '/^Uid:/ { print $2 }' "/proc/$nginx/status")" >"$t/out/uid"
EOS
sed 's/^/  /' "$T/out/pod.log"
grep -q "nginx -t: accepted" "$T/out/pod.log" || ms_fail "nginx -t did not accept the config the initContainer wrote"
ms_ok "the initContainer (uid $(p uid), read-only root, modelshim image on PATH) wrote nginx.conf and nginx -t accepts it"
[[ $(cat "$T/out/origin") == "origin without If-Match: 428" ]] || ms_fail "nginx answered the origin without If-Match: $(cat "$T/out/origin")"
[[ $(cat "$T/out/other") == "other host: 421" ]] || ms_fail "nginx answered a host that is no origin: $(cat "$T/out/other")"
[[ $(cat "$T/out/uid") == "nginx's user: $(p uid)" ]] || ms_fail "nginx ran as $(cat "$T/out/uid"), not $(p uid)"
ms_ok "the tier pod's nginx (as uid $(p uid), the container's command) listens on port $(p port): 428 for the origin without If-Match, 421 for another host"
ms_done
