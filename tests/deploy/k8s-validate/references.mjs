// Reference checks the schemas cannot make: what a pod mounts, reads and
// runs as exists in the same render (or is one of the Secrets the user
// creates, see deploy/k8s/README.md), and selectors select something.

// Secrets deploy/k8s/README.md tells the user to create.
export const USER_SECRETS = new Set(["streamrec-kafka-credentials", "streamrec-kafka-ca", "streamrec-kafka-admin"]);

export const WORKLOAD_KINDS = new Set(["StatefulSet", "Deployment", "Job", "DaemonSet"]);

function configMapsOf(pod) {
  const names = [];
  for (const v of pod.volumes ?? []) {
    if (v.configMap) names.push(v.configMap.name);
    for (const s of v.projected?.sources ?? []) if (s.configMap) names.push(s.configMap.name);
  }
  for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    for (const e of c.env ?? []) if (e.valueFrom?.configMapKeyRef) names.push(e.valueFrom.configMapKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.configMapRef) names.push(e.configMapRef.name);
  }
  return names;
}

function secretsOf(pod) {
  const names = [];
  for (const v of pod.volumes ?? []) {
    if (v.secret) names.push(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) if (s.secret) names.push(s.secret.name);
  }
  for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) names.push(e.valueFrom.secretKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.secretRef) names.push(e.secretRef.name);
  }
  return names;
}

const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

// Problems found in objects, as sentences.
export function referenceProblems(objects) {
  const problems = [];
  const named = (kind) => new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name));
  const configMaps = named("ConfigMap"), secrets = named("Secret"), accounts = named("ServiceAccount");
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));

  const namespaces = new Set(objects.filter((o) => o.kind !== "Namespace").map((o) => o.metadata.namespace));
  if (namespaces.size !== 1 || namespaces.has(undefined))
    problems.push(`objects are spread over namespaces ${[...namespaces].join(", ")}`);

  for (const w of workloads) {
    const pod = w.spec.template.spec, where = `${w.kind} ${w.metadata.name}`;
    const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
    for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])])
      for (const m of c.volumeMounts ?? [])
        if (!volumes.has(m.name)) problems.push(`${where}: container ${c.name} mounts volume '${m.name}', which the pod lacks`);
    for (const name of configMapsOf(pod))
      if (!configMaps.has(name)) problems.push(`${where} uses ConfigMap '${name}', which is not rendered`);
    for (const name of secretsOf(pod))
      if (!secrets.has(name) && !USER_SECRETS.has(name)) problems.push(`${where} uses Secret '${name}', which is neither rendered nor documented`);
    if (pod.serviceAccountName && !accounts.has(pod.serviceAccountName))
      problems.push(`${where} runs as ServiceAccount '${pod.serviceAccountName}', which is not rendered`);
    if (w.spec.selector?.matchLabels && !matches(w.spec.selector.matchLabels, w.spec.template.metadata?.labels))
      problems.push(`${where}: its selector does not match its own pods`);
  }

  const podLabels = workloads.map((w) => w.spec.template.metadata?.labels ?? {});
  const selects = (selector) => podLabels.some((labels) => matches(selector, labels));
  for (const o of objects) {
    const where = `${o.kind} ${o.metadata.name}`;
    if (o.kind === "Service" && o.spec.selector && !selects(o.spec.selector)) problems.push(`${where} selects no pod`);
    if (o.kind === "PodDisruptionBudget" && !selects(o.spec.selector?.matchLabels)) problems.push(`${where} selects no pod`);
    if (o.kind === "TriggerAuthentication")
      for (const ref of o.spec.secretTargetRef ?? [])
        if (!secrets.has(ref.name) && !USER_SECRETS.has(ref.name)) problems.push(`${where} uses Secret '${ref.name}', which is neither rendered nor documented`);
    if (o.kind === "ServiceMonitor") {
      const services = objects.filter((s) => s.kind === "Service" && matches(o.spec.selector?.matchLabels, s.metadata.labels));
      if (services.length !== 1) problems.push(`${where} selects ${services.length} Services, not 1 (each pod would be scraped that often)`);
      for (const e of o.spec.endpoints ?? [])
        for (const s of services)
          if (!(s.spec.ports ?? []).some((p) => p.name === e.port)) problems.push(`${where}: Service ${s.metadata.name} has no port named '${e.port}'`);
    }
  }
  return problems;
}
