#!/usr/bin/env bash
# t-deploy-manifests: every manifest in deploy/kubernetes passes yamllint --strict
# (tests/deploy/yamllint.yaml) and the pinned Kubernetes schema validator (tests/deploy/validate.js:
# kubernetes-models 5.1.0 from tests/deploy/package-lock.json, fields the schemas do not know
# refused too), the config in the ConfigMap is one modelshim accepts, and each check is shown to
# catch a broken copy. (The manifests at work, a pod wired as they say: t-deploy-pod.)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
command -v yamllint >/dev/null || ms_skip "yamllint is missing (scripts/setup installs it)"
vdir=$MS_TOP/tests/deploy
[[ -f $vdir/node_modules/kubernetes-models/package.json ]] ||
	ms_fail "the pinned validator is not installed: scripts/setup (npm ci in tests/deploy)"
kdir=$MS_TOP/deploy/kubernetes
mapfile -t files < <(find "$kdir" -name '*.yaml' | sort)
((${#files[@]} >= 6)) || ms_fail "expected the six manifests in $kdir, found ${#files[@]}"

lint() {
	yamllint --strict -c "$vdir/yamllint.yaml" "$@"
}
validate() {
	(cd "$vdir" && node validate.js "$@")
}

out=$(lint "${files[@]}" 2>&1) || ms_fail "yamllint: $out"
[[ -z $out ]] || ms_fail "yamllint printed: $out"
ms_ok "yamllint --strict: ${#files[@]} files clean"
out=$(validate "${files[@]}" 2>&1) || ms_fail "schema validation: $out"
echo "$out" | sed "s|^$kdir/|  |"
n=$(grep -c ' ok$' <<<"$out")
((n >= ${#files[@]})) || ms_fail "only $n documents validated in ${#files[@]} files"
ms_ok "kubernetes-models $(node -p "require('$vdir/node_modules/kubernetes-models/package.json').version"): $n documents valid, no unknown fields"

# The ConfigMap's config is one modelshim accepts (status parses it; the paths it names need
# not exist here).
(cd "$vdir" && node tojson.js "$kdir/configmap.yaml") >"$T/cm.json" 2>"$T/err" || ms_fail "tojson: $(cat "$T/err")"
"$MS_PY" -c 'import json, sys; print(next(d for d in json.load(open(sys.argv[1])) if d["kind"] == "ConfigMap")["data"]["modelshim.ini"], end="")' \
	"$T/cm.json" >"$T/cm.ini" || ms_fail "no modelshim.ini in the ConfigMap"
"$MS_BIN" status --config "$T/cm.ini" >/dev/null 2>"$T/err" || ms_fail "modelshim refuses the ConfigMap's config: $(cat "$T/err")"
ms_ok "modelshim accepts the ConfigMap's modelshim.ini"

# Each check can fail.
mkdir -p "$T/bad"
sed 's/^  name: modelshim$/  name:   modelshim/' "$kdir/daemonset.yaml" >"$T/bad/spaces.yaml"
out=$(lint "$T/bad/spaces.yaml" 2>&1) && ms_fail "yamllint accepted extra spaces after a colon"
ms_ok "yamllint catches a broken copy: $(grep -m1 -o 'too many spaces[^(]*' <<<"$out")"
sed 's/readOnly: true/readOnyl: true/' "$kdir/app-deployment.yaml" >"$T/bad/typo.yaml"
out=$(validate "$T/bad/typo.yaml" 2>&1) && ms_fail "the validator accepted a misspelt field: $out"
[[ $out == *readOnyl* ]] || ms_fail "the validator did not name the misspelt field: $out"
sed 's/containerPort: 9464/containerPort: "9464"/' "$kdir/daemonset.yaml" >"$T/bad/type.yaml"
out2=$(validate "$T/bad/type.yaml" 2>&1) && ms_fail "the validator accepted a port given as a string: $out2"
ms_ok "the validator catches a misspelt field ($(grep -o '/spec[^ ]*readOnyl' <<<"$out" | head -n 1)) and a wrong type ($(grep -o '/spec[^ ]*: type' <<<"$out2"))"
ms_done
