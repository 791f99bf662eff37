#!/usr/bin/env bash
# run_pod.sh PLAN LOWER IMAGE NODE WORK OUT: one application pod of deploy/kubernetes, as the
# kubelet would wire it, run by t-deploy-pod inside `unshare -m -p --fork` (its mounts and
# processes vanish with the namespaces). PLAN: pod_plan.py's output; LOWER: the image's root (a
# debootstrap minbase root, kept unchanged under an overlay whose upper layer is in WORK);
# IMAGE: the modelshim image (cmake --install); NODE: the node's root (hostPaths are NODE/PATH).
# Steps: the emptyDirs (a tmpfs for medium Memory), the initContainer's `cp` as the pod's user,
# the warm-up initContainer if the manifest has one (OUT/warmup.out, .err, .rc), the application
# container's mounts (read-only where the manifest says so), then each
# "RUN NAME GROUPS ENV CMD" line of stdin: CMD (a sh -c script) chrooted into the container as
# the pod's user, with GROUPS as its supplementary groups ("pod": the manifest's), ENV "pod"
# (the manifest's env) or "nopreload" (the same without LD_PRELOAD). Output in OUT/NAME.out,
# .err and .rc. Never touches anything outside WORK and OUT.
set -euo pipefail
plan=$1 lower=$2 image=$3 node=$4 work=$5 out=$6
p() { cat "$plan/$1"; }
uid=$(p app_uid) gid=$(p app_gid) groups=$(p app_groups)

mount --make-rprivate /
root=$work/root
mkdir -p "$work/upper" "$work/ovl" "$root" "$work/vol" "$out"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/upper,workdir=$work/ovl" "$root"

while read -r name medium size; do
	[[ -n $name ]] || continue
	mkdir -p "$work/vol/$name"
	if [[ $medium == Memory ]]; then
		opt=mode=1777
		[[ $size == - ]] || opt+=,size=$(sed 's/Ki$/k/; s/Mi$/m/; s/Gi$/g/' <<<"$size")
		mount -t tmpfs -o "$opt" emptydir "$work/vol/$name"
	else
		chmod 1777 "$work/vol/$name"
	fi
done <"$plan/emptydirs"

# The initContainer: cp SRC DST, SRC in the modelshim image, DST in its emptyDir.
dst=$(p inject_dst)
setpriv --reuid="$uid" --regid="$gid" --groups="${groups:-$gid}" --no-new-privs --inh-caps=-all \
	--bounding-set=-all cp "$image$(p inject_src)" "$work/vol/${dst%%/*}/${dst#*/}"

# The warm-up initContainer, if any: the modelshim image's `modelshim warmup`, run on this host's
# root in a namespace of its own where its mounts are at their paths (a missing mount point is
# made in an overlay of its nearest existing parent, the upper layer in WORK), with a read-only
# root, as the pod's user.
if [[ -f $plan/warmup.argv ]]; then
	mapfile -t wargv <"$plan/warmup.argv"
	wargv[0]=$image/usr/bin/${wargv[0]}
	rc=0
	unshare -m bash -s "$plan" "$node" "$work" "$uid" "$gid" "${groups:-$gid}" "$(dirname "$0")/mount_at.sh" \
		"${wargv[@]}" \
		>"$out/warmup.out" 2>"$out/warmup.err" <<'EOS' || rc=$?
set -euo pipefail
plan=$1 node=$2 work=$3 uid=$4 gid=$5 groups=$6
. "$7" # mount_at
shift 7
mount --make-rprivate /
while read -r kind src path mode; do
	[[ -n $kind ]] || continue
	[[ $kind == hostPath ]] && src=$node$src
	mount_at "$src" "$path" "$work/warm"
	[[ $mode == rw ]] || mount -o remount,bind,ro "$path"
done <"$plan/warmup_mounts"
mount -o remount,bind,ro /
exec timeout -k 5 60 setpriv --reuid="$uid" --regid="$gid" --groups="$groups" --no-new-privs \
	--inh-caps=-all --bounding-set=-all env -i PATH=/usr/bin:/bin "$@"
EOS
	echo "$rc" >"$out/warmup.rc"
fi

while read -r kind src path mode; do
	[[ -n $kind ]] || continue
	case $kind in
	emptyDir) src=$work/vol/$src ;;
	configMap) ;;
	hostPath) src=$node$src ;;
	esac
	[[ -d $src ]] || {
		echo "run_pod: the $kind volume's source $src is no directory" >&2
		exit 1
	}
	mkdir -p "$root$path"
	mount --bind "$src" "$root$path"
	[[ $mode == rw ]] || mount -o remount,bind,ro "$root$path"
done <"$plan/app_mounts"
mount -t proc proc "$root/proc"

mapfile -t podenv <"$plan/app_env"
while read -r what name grp envkind script; do
	[[ $what == RUN ]] || continue
	[[ $grp == pod ]] && grp=${groups:-$gid}
	env=("${podenv[@]}")
	[[ $envkind == nopreload ]] && mapfile -t env < <(grep -v '^LD_PRELOAD=' "$plan/app_env")
	rc=0
	timeout -k 5 20 chroot --userspec="$uid:$gid" --groups="$grp" "$root" \
		/usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin "${env[@]}" /bin/sh -c "$script" \
		>"$out/$name.out" 2>"$out/$name.err" || rc=$?
	echo "$rc" >"$out/$name.rc"
done
