// The rules streamrec's deployment lives by, checked on one rendered
// overlay: static membership, graceful shutdown, co-partitioned topics,
// autoscaling within the partition count, the trainer's Kafka settings in
// step with the workers'. Prints each problem; exit 1 if any.
//
//   node invariants.mjs RENDERED.yaml [--extract DIR]
// --extract writes what the test runs further checks on: DIR/worker.properties
// and DIR/worker.env (the worker container's environment, placeholders for
// Secrets) for `streamrec worker --print-config`, which checks every key and
// value; DIR/expected.properties, the settings this file assumed, which that
// output must confirm; DIR/topics.txt and DIR/create-topics.sh of the Job.
import { mkdirSync, writeFileSync } from "node:fs";
import { loadObjects } from "./manifests.mjs";
import { referenceProblems } from "./references.mjs";

const WORKER = "streamrec-worker", TRAINER = "streamrec-trainer";
// The worker's defaults (streamrec worker --print-config).
const DEFAULTS = {
  "group.id": "streamrec-worker", "topic.events": "user-events", "topic.recommendations": "user-recommendations",
  "topic.dlq": "user-events-dlq", "topic.changelog": "worker-state-changelog", "topic.models": "model-updates",
  "http.port": "8080", "shutdown.timeout.ms": "8000",
};

export function parseProperties(text) {
  const props = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq > 0) props[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return props;
}

// "name partitions [config=value ...]" lines of topics.txt.
export function parseTopics(text) {
  const topics = new Map();
  for (const raw of text.split("\n")) {
    const words = raw.replace(/#.*/, "").trim().split(/\s+/).filter(Boolean);
    if (words.length) topics.set(words[0], { partitions: Number(words[1]), configs: words.slice(2) });
  }
  return topics;
}

// The ConfigMap (or Secret) item a container sees at path, as text; null if
// no mounted volume provides that file.
function fileAt(path, container, pod, objects) {
  for (const m of container.volumeMounts ?? []) {
    if (!path.startsWith(m.mountPath + "/")) continue;
    const rel = path.slice(m.mountPath.length + 1);
    const volume = (pod.volumes ?? []).find((v) => v.name === m.name);
    const sources = volume?.projected?.sources ?? [volume ?? {}];
    for (const s of sources) {
      const ref = s.configMap ?? s.secret;
      if (!ref) continue;
      const kind = s.configMap ? "ConfigMap" : "Secret", name = ref.name ?? ref.secretName;
      const item = ref.items ? ref.items.find((i) => i.path === rel) : { key: rel };
      if (!item) continue;
      const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
      if (!obj) return kind === "Secret" ? "(a Secret the user creates)" : null;
      const data = obj.data?.[item.key] ?? obj.stringData?.[item.key];
      if (data !== undefined) return data;
    }
  }
  return null;
}

function envValue(entry, objects) {
  if ("value" in entry) return entry.value;
  const ref = entry.valueFrom?.configMapKeyRef;
  if (ref) return objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === ref.name)?.data?.[ref.key];
  return undefined;
}

// -X key=value pairs of an argument list.
function librdkafkaArgs(args) {
  const settings = {};
  for (let i = 0; i < args.length - 1; i++)
    if (args[i] === "-X") {
      const [k, ...v] = args[i + 1].split("=");
      settings[k] = v.join("=");
    }
  return settings;
}

function flag(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

function check(objects, extractDir) {
  const problems = [...referenceProblems(objects)];
  const fail = (message) => problems.push(message);
  const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);

  const sts = find("StatefulSet", WORKER);
  if (!sts) return [`no StatefulSet ${WORKER}`];
  const pod = sts.spec.template.spec;
  const worker = pod.containers.find((c) => c.name === "worker") ?? pod.containers[0];
  const env = Object.fromEntries((worker.env ?? []).map((e) => [e.name, e]));

  // Static membership: the pod name is the group.instance.id.
  if (sts.spec.podManagementPolicy !== "Parallel") fail("worker StatefulSet: podManagementPolicy is not Parallel");
  if (env.STREAMREC_GROUP_INSTANCE_ID?.valueFrom?.fieldRef?.fieldPath !== "metadata.name")
    fail("worker StatefulSet: STREAMREC_GROUP_INSTANCE_ID does not come from fieldRef metadata.name");
  const headless = find("Service", sts.spec.serviceName);
  if (headless?.spec.clusterIP !== "None") fail(`worker StatefulSet: serviceName ${sts.spec.serviceName} is no headless Service`);

  // The configuration the worker runs with: file, then environment.
  const configPath = flag(worker.args ?? [], "--config");
  const text = configPath && fileAt(configPath, worker, pod, objects);
  if (!text) return [...problems, `worker: --config ${configPath} is not a file any mounted ConfigMap provides`];
  const config = { ...DEFAULTS, ...parseProperties(text) };
  for (const [name, entry] of Object.entries(env)) {
    if (!name.startsWith("STREAMREC_") || name.startsWith("STREAMREC_KAFKA_")) continue;
    const key = name.slice(10).toLowerCase().replaceAll("_", ".");
    const value = envValue(entry, objects) ?? (entry.valueFrom?.fieldRef ? `${WORKER}-0` : undefined);
    if (value !== undefined) config[key] = value;
  }
  const kafkaConfig = (key) => config[`kafka.${key}`];

  // Graceful shutdown finishes before the kubelet's SIGKILL.
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  const shutdown = Number(config["shutdown.timeout.ms"]);
  if (!(grace * 1000 > shutdown))
    fail(`worker: terminationGracePeriodSeconds ${grace} s is not above shutdown.timeout.ms ${shutdown} ms`);

  // Probes on the worker's HTTP port.
  const port = Number(config["http.port"]);
  const portOf = (p) => (typeof p === "number" ? p : worker.ports?.find((x) => x.name === p)?.containerPort);
  for (const [probe, path] of [["readinessProbe", "/readyz"], ["livenessProbe", "/healthz"]]) {
    const get = worker[probe]?.httpGet;
    if (get?.path !== path || portOf(get.port) !== port) fail(`worker: ${probe} is not GET ${path} on http.port ${port}`);
  }
  if (!worker.resources?.requests || !worker.resources?.limits) fail("worker: resource requests or limits missing");
  const ca = kafkaConfig("ssl.ca.location");
  if (ca && !fileAt(ca, worker, pod, objects)) fail(`worker: kafka.ssl.ca.location ${ca} is not a mounted file`);

  // Topics: the Job creates what the worker uses, the changelog co-partitioned.
  const job = objects.find((o) => o.kind === "Job" && /topics/.test(o.metadata.name));
  const topicsMap = objects.find((o) => o.kind === "ConfigMap" && o.data?.["topics.txt"]);
  if (!job || !topicsMap) return [...problems, "no topics Job with a topics.txt ConfigMap"];
  const topics = parseTopics(topicsMap.data["topics.txt"]);
  for (const key of ["topic.events", "topic.recommendations", "topic.dlq", "topic.changelog", "topic.models"])
    if (!topics.has(config[key])) fail(`topics.txt lacks ${config[key]} (${key})`);
  const events = topics.get(config["topic.events"])?.partitions;
  const changelog = topics.get(config["topic.changelog"]);
  if (changelog && changelog.partitions !== events)
    fail(`topics.txt: ${config["topic.changelog"]} has ${changelog.partitions} partitions, ${config["topic.events"]} ${events}: they are co-partitioned`);
  for (const key of ["topic.changelog", "topic.models"])
    if (topics.has(config[key]) && !topics.get(config[key]).configs.includes("cleanup.policy=compact"))
      fail(`topics.txt: ${config[key]} is not compacted`);
  for (const [name, t] of topics)
    if (!(Number.isInteger(t.partitions) && t.partitions > 0)) fail(`topics.txt: ${name} has no valid partition count`);

  // Scaling: never more workers than partitions; one owner of the count.
  const scalers = objects.filter((o) => (o.kind === "ScaledObject" || o.kind === "HorizontalPodAutoscaler") &&
                                        o.spec.scaleTargetRef?.name === WORKER);
  if (scalers.length > 1) fail(`${scalers.length} autoscalers target ${WORKER}: apply one overlay, not both`);
  if (!scalers.length && !(sts.spec.replicas <= events))
    fail(`worker replicas ${sts.spec.replicas ?? "(unset) with no autoscaler"}: want a count up to the ${events} partitions`);
  if (scalers.length && sts.spec.replicas !== undefined) fail("worker StatefulSet sets replicas although an autoscaler owns them");
  for (const s of scalers) {
    const where = `${s.kind} ${s.metadata.name}`;
    if (s.spec.scaleTargetRef.kind !== "StatefulSet") fail(`${where} does not target the StatefulSet`);
    const max = s.kind === "ScaledObject" ? s.spec.maxReplicaCount : s.spec.maxReplicas;
    const min = s.kind === "ScaledObject" ? s.spec.minReplicaCount ?? 0 : s.spec.minReplicas ?? 1;
    if (!(max <= events)) fail(`${where}: maxReplicas ${max} exceeds the ${events} partitions of ${config["topic.events"]}`);
    if (!(min <= max)) fail(`${where}: min ${min} above max ${max}`);
    for (const t of s.kind === "ScaledObject" ? s.spec.triggers : []) {
      if (t.type !== "kafka") continue;
      const m = t.metadata ?? {};
      if (m.consumerGroup !== config["group.id"]) fail(`${where}: consumerGroup ${m.consumerGroup} is not the workers' group.id ${config["group.id"]}`);
      if (m.topic !== config["topic.events"]) fail(`${where}: topic ${m.topic} is not ${config["topic.events"]}`);
      if (m.bootstrapServers !== config.bootstrap) fail(`${where}: bootstrapServers ${m.bootstrapServers} is not the workers' ${config.bootstrap}`);
      if (!Number(m.lagThreshold)) fail(`${where}: no lagThreshold`);
      // KEDA's words for the workers' security.protocol and sasl.mechanisms.
      const protocol = (kafkaConfig("security.protocol") ?? "plaintext").toLowerCase();
      const tls = protocol.endsWith("ssl") ? "enable" : "disable";
      const sasl = protocol.startsWith("sasl")
        ? { "scram-sha-512": "scram_sha512", "scram-sha-256": "scram_sha256", plain: "plaintext" }[
            (kafkaConfig("sasl.mechanisms") ?? "GSSAPI").toLowerCase()] ?? "gssapi"
        : "none";
      if ((m.tls ?? "disable") !== tls) fail(`${where}: tls ${m.tls} does not match the workers' security.protocol ${protocol}`);
      if ((m.sasl ?? "none") !== sasl) fail(`${where}: sasl ${m.sasl} does not match the workers' SASL settings (${sasl})`);
      const auth = t.authenticationRef?.name;
      if (auth && !find("TriggerAuthentication", auth)) fail(`${where}: TriggerAuthentication ${auth} is not rendered`);
    }
  }

  // The trainer: one at a time, same Kafka, same topics as the workers.
  const trainer = find("Deployment", TRAINER);
  if (!trainer) fail(`no Deployment ${TRAINER}`);
  else {
    if (trainer.spec.replicas !== 1 || trainer.spec.strategy?.type !== "Recreate") fail("trainer: not 1 replica with the Recreate strategy");
    const c = trainer.spec.template.spec.containers[0], args = c.args ?? [];
    // Its settings: trainer.properties (--config), then -X flags if any.
    const tpath = flag(args, "--config");
    const ttext = tpath ? fileAt(tpath, c, trainer.spec.template.spec, objects) : "";
    if (tpath && !ttext) fail(`trainer: --config ${tpath} is not a file any mounted ConfigMap provides`);
    const tprops = parseProperties(ttext ?? "");
    const x = { ...Object.fromEntries(Object.entries(tprops).filter(([k]) => k.startsWith("kafka."))
                                          .map(([k, v]) => [k.slice(6), v])), ...librdkafkaArgs(args) };
    const setting = (key, flagName, fallback) => flag(args, flagName, tprops[key] ?? fallback);
    const tenv = Object.fromEntries((c.env ?? []).map((e) => [e.name, envValue(e, objects)]));
    if (tenv.STREAMREC_BOOTSTRAP !== config.bootstrap) fail("trainer: STREAMREC_BOOTSTRAP is not the workers' bootstrap");
    const protocol = (v) => (v ?? "plaintext").toLowerCase();
    if (protocol(x["security.protocol"]) !== protocol(kafkaConfig("security.protocol")))
      fail(`trainer: security.protocol ${x["security.protocol"]} differs from the workers' ${kafkaConfig("security.protocol")}`);
    for (const key of ["sasl.mechanisms", "ssl.ca.location"])
      if (x[key] !== kafkaConfig(key)) fail(`trainer: -X ${key}=${x[key]} differs from the workers' kafka.${key}=${kafkaConfig(key)}`);
    if (x["ssl.ca.location"] && !fileAt(x["ssl.ca.location"], c, trainer.spec.template.spec, objects))
      fail(`trainer: ssl.ca.location ${x["ssl.ca.location"]} is not a mounted file`);
    if (setting("topic", "--topic", "user-events") !== config["topic.events"]) fail("trainer: its topic is not the workers' event topic");
    if (setting("model.topic", "--model-topic", "model-updates") !== config["topic.models"]) fail("trainer: its model topic is not the workers' model topic");
    if (extractDir && ttext) {
      mkdirSync(extractDir, { recursive: true });
      writeFileSync(`${extractDir}/trainer.properties`, ttext);
      const lines = (c.env ?? []).map((e) => `${e.name}=${envValue(e, objects) ?? "placeholder"}`);
      writeFileSync(`${extractDir}/trainer.env`, lines.join("\n") + "\n");
    }
  }

  if (extractDir) {
    mkdirSync(extractDir, { recursive: true });
    writeFileSync(`${extractDir}/worker.properties`, text);
    const lines = Object.entries(env).map(([name, e]) => {
      const value = envValue(e, objects) ?? (e.valueFrom?.fieldRef ? `${WORKER}-0` : "placeholder");
      return `${name}=${value}`;
    });
    writeFileSync(`${extractDir}/worker.env`, lines.join("\n") + "\n");
    const assumed = ["bootstrap", "group.id", "group.instance.id", "http.port", "shutdown.timeout.ms", "topic.events",
                     "topic.changelog", "topic.models", "kafka.security.protocol", "kafka.ssl.ca.location"];
    const known = assumed.filter((k) => config[k] !== undefined).map((k) => `${k}=${config[k]}`);
    writeFileSync(`${extractDir}/expected.properties`, known.join("\n") + "\n");
    writeFileSync(`${extractDir}/topics.txt`, topicsMap.data["topics.txt"]);
    if (topicsMap.data["create-topics.sh"]) writeFileSync(`${extractDir}/create-topics.sh`, topicsMap.data["create-topics.sh"]);
  }
  return problems;
}

const [file, option, dir] = process.argv.slice(2);
if (!file || (option && option !== "--extract")) {
  console.error("usage: node invariants.mjs RENDERED.yaml [--extract DIR]");
  process.exit(2);
}
const problems = check(loadObjects(file), option ? dir : null);
for (const p of problems) console.log(`FAIL ${file}: ${p}`);
process.exit(problems.length ? 1 : 0);
