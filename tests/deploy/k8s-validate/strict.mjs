// Unknown fields: the schemas accept any extra key, so a typo such as
// `readinesProbe` would pass them and then be dropped (or refused by a
// strict API server). This walks each object along the TypeScript types
// kubernetes-models declares for it and reports every key its type lacks.
//
//   node strict.mjs FILE...                  no object may have an unknown field
//   node strict.mjs --expect-reject FILE...  every object must have one
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { loadObjects, describe } from "./manifests.mjs";

const modules = join(dirname(fileURLToPath(import.meta.url)), "node_modules");

function declarationFile(apiVersion, kind) {
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  const pkg = group === "keda.sh" ? "@kubernetes-models/keda"
    : group === "monitoring.coreos.com" ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
  return join(modules, pkg, apiVersion, `${kind}.d.ts`);
}

const args = process.argv.slice(2);
const expectReject = args[0] === "--expect-reject";
const files = expectReject ? args.slice(1) : args;
if (!files.length) {
  console.error("usage: node strict.mjs [--expect-reject] FILE...");
  process.exit(2);
}
const objects = files.flatMap((file) => loadObjects(file).map((obj) => ({ file, obj })));
const roots = [...new Set(objects.map(({ obj }) => declarationFile(obj.apiVersion, obj.kind)))];
const program = ts.createProgram(roots, {
  noEmit: true, skipLibCheck: true, types: [],
  module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
});
const checker = program.getTypeChecker();

// The members of type (all union members' together); null: any key goes.
function members(type) {
  const parts = type.isUnion() ? type.types : [type];
  const props = new Map();
  for (const t of parts) {
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return null;
    if (!(t.flags & ts.TypeFlags.Object)) continue;
    if (checker.getIndexInfoOfType(t, ts.IndexKind.String)) return null;
    const list = checker.getPropertiesOfType(t);
    if (!list.length) return null;
    for (const p of list) props.set(p.name, p);
  }
  return props;
}

function walk(value, type, path, problems) {
  if (value === null || typeof value !== "object") return;
  type = checker.getNonNullableType(type);
  if (Array.isArray(value)) {
    const element = checker.isArrayType(type) ? checker.getTypeArguments(type)[0]
      : checker.getIndexTypeOfType(type, ts.IndexKind.Number);
    if (element) value.forEach((v, i) => walk(v, element, `${path}[${i}]`, problems));
    return;
  }
  const index = checker.getIndexTypeOfType(type, ts.IndexKind.String);
  if (index) {
    for (const [k, v] of Object.entries(value)) walk(v, index, `${path}.${k}`, problems);
    return;
  }
  const props = members(type);
  if (!props) return;
  for (const [k, v] of Object.entries(value)) {
    const prop = props.get(k);
    if (!prop) problems.push(`${path}.${k}: no such field`);
    else walk(v, checker.getTypeOfSymbol(prop), `${path}.${k}`, problems);
  }
}

let failures = 0;
for (const { file, obj } of objects) {
  const source = program.getSourceFile(declarationFile(obj.apiVersion, obj.kind));
  const symbol = source && checker.getSymbolAtLocation(source)?.exports?.get(`I${obj.kind}`);
  if (!symbol) {
    console.log(`FAIL ${file}: ${describe(obj)}: no type declaration to check its fields against`);
    failures++;
    continue;
  }
  const problems = [];
  walk(obj, checker.getDeclaredTypeOfSymbol(symbol), "", problems);
  if (expectReject) {
    if (problems.length) console.log(`  rejected as expected: ${describe(obj)}: ${problems[0].slice(1)}`);
    else {
      console.log(`FAIL ${file}: ${describe(obj)} has no unknown field; the check checks nothing`);
      failures++;
    }
    continue;
  }
  for (const p of problems) console.log(`FAIL ${file}: ${describe(obj)}: ${p.slice(1)}`);
  failures += problems.length;
}
process.exit(failures ? 1 : 0);
