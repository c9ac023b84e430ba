// Reading rendered manifests: every YAML document of a file as an object.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// The objects of a multi-document YAML file; throws on a YAML error.
export function loadObjects(file) {
  const objects = [];
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value !== null) objects.push(value);
  }
  return objects;
}

export function describe(obj) {
  const meta = obj?.metadata ?? {};
  const where = meta.namespace ? `${meta.namespace}/` : "";
  return `${obj?.kind ?? "?"} ${where}${meta.name ?? "?"}`;
}
