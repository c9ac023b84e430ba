// Validates each object of rendered manifests against the OpenAPI schemas of
// Kubernetes, KEDA and prometheus-operator (the kubernetes-models packages),
// offline. An object of a kind none of them knows is an error: a kind we do
// not check must not pass silently.
//
//   node validate.mjs FILE...                  every object must be valid
//   node validate.mjs --expect-reject FILE...  every object must be rejected
import { loadObjects, describe } from "./manifests.mjs";

// Which package holds an API group's models.
function packageFor(group) {
  if (group === "keda.sh") return "@kubernetes-models/keda";
  if (group === "monitoring.coreos.com") return "@kubernetes-models/prometheus-operator";
  return "kubernetes-models";
}

// The model class of apiVersion/kind, or null when no package has it.
async function modelFor(apiVersion, kind) {
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion ?? "")) return null;
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind ?? "")) return null;
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  let module;
  try {
    module = await import(`${packageFor(group)}/${apiVersion}/${kind}`);
  } catch {
    return null;
  }
  const model = module[kind];
  // Spec types (e.g. StatefulSetSpec) are importable too, but are no kind.
  return model && model.apiVersion === apiVersion && model.kind === kind ? model : null;
}

// Why obj is invalid, or null when it is valid.
async function problem(obj) {
  const model = await modelFor(obj?.apiVersion, obj?.kind);
  if (!model) return `unknown kind ${obj?.apiVersion}/${obj?.kind}: no schema to check it against`;
  if (!obj.metadata?.name) return "metadata.name is missing";
  try {
    new model(obj).validate();
  } catch (e) {
    return e.message;
  }
  return null;
}

const args = process.argv.slice(2);
const expectReject = args[0] === "--expect-reject";
const files = expectReject ? args.slice(1) : args;
if (!files.length) {
  console.error("usage: node validate.mjs [--expect-reject] FILE...");
  process.exit(2);
}

let failures = 0;
for (const file of files) {
  const kinds = new Map();
  let objects;
  try {
    objects = loadObjects(file);
  } catch (e) {
    console.log(`FAIL ${e.message}`);
    failures++;
    continue;
  }
  if (!objects.length) {
    console.log(`FAIL ${file}: no object`);
    failures++;
  }
  for (const obj of objects) {
    const why = await problem(obj);
    if (expectReject) {
      if (why) console.log(`  rejected as expected: ${describe(obj)}: ${why}`);
      else {
        console.log(`FAIL ${file}: ${describe(obj)} was accepted; the validator checks nothing`);
        failures++;
      }
      continue;
    }
    if (why) {
      console.log(`FAIL ${file}: ${describe(obj)}: ${why}`);
      failures++;
    }
    kinds.set(obj.kind, (kinds.get(obj.kind) ?? 0) + 1);
  }
  if (!expectReject) {
    const list = [...kinds].map(([kind, n]) => (n > 1 ? `${kind}×${n}` : kind)).join(", ");
    console.log(`  ${file}: ${objects.length} objects checked (${list})`);
  }
}
process.exit(failures ? 1 : 0);
