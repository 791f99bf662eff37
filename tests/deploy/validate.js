// validate.js FILE...: checks Kubernetes manifests against the API's schemas, pinned by
// tests/deploy/package-lock.json (kubernetes-models 5.1.0, @kubernetes-models/validate 5.0.2:
// Kubernetes' OpenAPI schemas compiled with ajv). YAML is parsed strictly (duplicate keys,
// bad syntax, warnings are errors). The schemas accept fields they do not know; this does not:
// every field the schema validator never looked at is reported (a misspelt key is one).
// Prints "FILE: KIND NAME ok" per document; exits 1 on the first file with an error.
import fs from "node:fs";
import { parseAllDocuments } from "yaml";

// Schema module of an apiVersion and kind: v1 -> IoK8sApiCoreV1Kind, apps/v1 -> ...AppsV1Kind.
function schemaName(apiVersion, kind) {
	const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
	const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
	return `IoK8sApi${cap(group.split(".")[0])}${cap(version)}${kind}`;
}

// A proxy of VALUE that records, per object, which keys the validator read and whether it
// listed the object's keys (maps such as labels are listed, typed objects are read key by key).
function watch(value, path, records) {
	if (value === null || typeof value !== "object")
		return value;
	const rec = { value, path, read: new Set(), listed: false };
	if (!Array.isArray(value))
		records.push(rec);
	const kids = new Map();
	return new Proxy(value, {
		get(t, k, r) {
			const v = Reflect.get(t, k, r);
			if (typeof k !== "string" || !Object.hasOwn(t, k))
				return v;
			rec.read.add(k);
			if (v === null || typeof v !== "object")
				return v;
			if (!kids.has(k))
				kids.set(k, watch(v, `${path}/${k}`, records));
			return kids.get(k);
		},
		has(t, k) {
			if (typeof k === "string")
				rec.read.add(k);
			return Reflect.has(t, k);
		},
		ownKeys(t) {
			rec.listed = true;
			return Reflect.ownKeys(t);
		},
	});
}

let failed = false;
for (const file of process.argv.slice(2)) {
	const errors = [];
	const docs = parseAllDocuments(fs.readFileSync(file, "utf8"), { strict: true, uniqueKeys: true, prettyErrors: true });
	const list = Array.isArray(docs) ? docs : [docs];
	const out = [];
	for (const doc of list) {
		for (const e of [...doc.errors, ...doc.warnings])
			errors.push(`YAML: ${e.message}`);
		if (doc.errors.length)
			continue;
		const obj = doc.toJS({ maxAliasCount: 100 });
		if (obj === null || obj === undefined)
			continue;
		const { apiVersion, kind } = obj;
		const name = obj.metadata?.name;
		if (typeof apiVersion !== "string" || typeof kind !== "string" || !name) {
			errors.push("a document without apiVersion, kind or metadata.name");
			continue;
		}
		let validate;
		try {
			({ validate } = await import(`kubernetes-models/_schemas/${schemaName(apiVersion, kind)}`));
		} catch {
			errors.push(`${apiVersion} ${kind}: no such kind in the Kubernetes API`);
			continue;
		}
		const records = [];
		if (!validate(watch(obj, "", records))) {
			for (const e of validate.errors)
				errors.push(`${kind} ${name}: ${e.instancePath || "/"}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
			continue;
		}
		const unknown = [];
		for (const rec of records) {
			if (rec.listed)
				continue;
			for (const k of Object.keys(rec.value))
				if (!rec.read.has(k))
					unknown.push(`${rec.path}/${k}`);
		}
		if (unknown.length) {
			errors.push(`${kind} ${name}: fields the schema does not have: ${unknown.join(" ")}`);
			continue;
		}
		out.push(`${kind} ${name} ok`);
	}
	if (errors.length) {
		for (const e of errors)
			console.log(`${file}: ${e}`);
		failed = true;
		break;
	}
	for (const o of out)
		console.log(`${file}: ${o}`);
}
process.exit(failed ? 1 : 0);
