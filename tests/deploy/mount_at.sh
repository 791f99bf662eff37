# shellcheck shell=bash
# tests/deploy/mount_at.sh: mount_at, sourced by the pod emulations (run_pod.sh's warm-up,
# t-deploy-tier's pod) inside their own mount namespace. It must never be sourced outside one:
# it mounts over paths of the host's tree.

overlaid=() # the parents given an overlay so far
ovl_n=0

# mount_at SRC PATH UPPER: bind-mounts SRC at PATH. A missing PATH is made in an overlay of its
# nearest existing parent, its layers in UPPER/N; one overlay per parent (a second one would hide
# the mounts made in the first).
mount_at() {
	local src=$1 path=$2 upper=$3 up
	if [[ ! -e $path ]]; then
		up=$(dirname "$path")
		while [[ ! -e $up ]]; do up=$(dirname "$up"); done
		[[ $up != / ]] || { echo "cannot make $path here" >&2; exit 1; }
		if [[ " ${overlaid[*]} " != *" $up "* ]]; then
			ovl_n=$((ovl_n + 1))
			mkdir -p "$upper/$ovl_n/up" "$upper/$ovl_n/wk"
			mount -t overlay overlay -o "lowerdir=$up,upperdir=$upper/$ovl_n/up,workdir=$upper/$ovl_n/wk" "$up"
			overlaid+=("$up")
		fi
		mkdir -p "$path"
	fi
	mount --bind "$src" "$path"
}
