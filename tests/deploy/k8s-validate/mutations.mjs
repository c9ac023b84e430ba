// Copies of a rendered overlay, each breaking one rule invariants.mjs
// enforces: the test requires invariants.mjs to reject every copy, so a
// check that quietly stopped checking fails the build.
//
//   node mutations.mjs RENDERED.yaml OUTDIR   (writes OUTDIR/<rule>.yaml)
import { mkdirSync, writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { loadObjects } from "./manifests.mjs";

const byKind = (objects, kind) => objects.find((o) => o.kind === kind);
const worker = (objects) => byKind(objects, "StatefulSet").spec.template.spec;

const mutations = {
  "instance-id-not-pod-name": (o) => {
    const e = worker(o).containers[0].env.find((x) => x.name === "STREAMREC_GROUP_INSTANCE_ID");
    delete e.valueFrom;
    e.value = "worker";
  },
  "grace-below-shutdown": (o) => { worker(o).terminationGracePeriodSeconds = 8; },
  "changelog-not-copartitioned": (o) => {
    const cm = o.find((x) => x.kind === "ConfigMap" && x.data?.["topics.txt"]);
    cm.data["topics.txt"] = cm.data["topics.txt"].replace(/^(worker-state-changelog\s+)(\d+)/m, (_, a, n) => a + 2 * n);
  },
  "max-replicas-above-partitions": (o) => { byKind(o, "ScaledObject").spec.maxReplicaCount = 1000; },
  "scaler-watches-other-group": (o) => { byKind(o, "ScaledObject").spec.triggers[0].metadata.consumerGroup = "other"; },
  "scaler-without-tls": (o) => { byKind(o, "ScaledObject").spec.triggers[0].metadata.tls = "disable"; },
  "trainer-plaintext": (o) => {
    const cm = o.find((x) => x.kind === "ConfigMap" && x.data?.["trainer.properties"]);
    cm.data["trainer.properties"] = cm.data["trainer.properties"].replace(
      "kafka.security.protocol=SASL_SSL", "kafka.security.protocol=PLAINTEXT");
  },
  "trainer-other-topic": (o) => {
    const cm = o.find((x) => x.kind === "ConfigMap" && x.data?.["trainer.properties"]);
    cm.data["trainer.properties"] = cm.data["trainer.properties"].replace("topic=user-events", "topic=other");
  },
  "mount-without-volume": (o) => { worker(o).volumes = worker(o).volumes.filter((v) => v.name !== "tmp"); },
  "missing-configmap": (o) => { o.splice(o.findIndex((x) => x.kind === "ConfigMap" && x.data?.["worker.properties"]), 1); },
};

const [file, outdir] = process.argv.slice(2);
mkdirSync(outdir, { recursive: true });
for (const [name, mutate] of Object.entries(mutations)) {
  const objects = loadObjects(file);
  mutate(objects);
  writeFileSync(`${outdir}/${name}.yaml`, objects.map((x) => stringify(x)).join("---\n"));
}
console.log(Object.keys(mutations).join("\n"));
