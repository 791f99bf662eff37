// tojson.js FILE: the YAML documents of FILE as one JSON array (parsed as validate.js parses
// them), for tests that read values out of the manifests.
import fs from "node:fs";
import { parseAllDocuments } from "yaml";

const docs = parseAllDocuments(fs.readFileSync(process.argv[2], "utf8"), { strict: true, uniqueKeys: true });
const list = (Array.isArray(docs) ? docs : [docs]).filter((d) => d.errors.length === 0).map((d) => d.toJS());
process.stdout.write(JSON.stringify(list.filter((o) => o != null)) + "\n");
