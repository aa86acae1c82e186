import { Session } from 'node:inspector/promises';

/**
 * Where a process's CPU goes, by component, from V8's sampling profiler: the profile
 * of one phase (started and stopped around it, in this process) reduced to the
 * milliseconds each component spent on its own code. Built-ins (JSON, Buffer, Map)
 * count for the component that called them, so `JSON.parse` of a DynamoDB answer is
 * the SDK's. Idle time is not counted.
 */
export type CpuByComponent = Record<string, number>;

/** Components by the script a frame belongs to, first match wins. */
const COMPONENTS: Array<[name: string, matches: (url: string) => boolean]> = [
  ['async hooks (X-Ray\'s cls-hooked)', (url) => url.includes('/cls-hooked/') || url.includes('/async-hook-jl/') || url.startsWith('node:internal/async_hooks')],
  ['AWS SDK', (url) => /\/@(aws-sdk|smithy|aws-crypto)\//.test(url)],
  ['Powertools', (url) => url.includes('/@aws-lambda-powertools/')],
  ['dynalite (DynamoDB stand-in)', (url) => url.includes('/dynalite/')],
  ['LevelDB', (url) => /\/(abstract-level|classic-level|memory-level|level|level-transcoder|level-supports)\//.test(url)],
  ['s3rver (S3 stand-in)', (url) => url.includes('/s3rver/')],
  ['crm-backup: lambdas/', (url) => url.includes('/lambdas/')],
  ['crm-backup: local/', (url) => url.includes('/local/')],
  ['bench', (url) => url.includes('/bench/')],
  ['HTTP, sockets, streams', (url) => /^node:(_http|http|https|net|stream|internal\/(http|streams|stream_base_commons|net|tls|js_stream_socket)|_tls)/.test(url)],
  ['other Node internals', (url) => url.startsWith('node:')],
  ['other packages', (url) => url.includes('/node_modules/')],
];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Starts V8's CPU profiler in this process; `stop` answers the phase's CPU by component. */
export async function profilePhase(): Promise<{ stop(): Promise<CpuByComponent> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return cpuByComponent(profile as unknown as Profile);
    },
  };
}

export function cpuByComponent(profile: Profile): CpuByComponent {
  const parentOf = new Map<number, ProfileNode>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node);
  }
  const componentOf = new Map<number, string | undefined>();
  const component = (node: ProfileNode): string | undefined => {
    if (componentOf.has(node.id)) return componentOf.get(node.id);
    const { functionName, url } = node.callFrame;
    let found: string | undefined;
    if (functionName === '(idle)' || functionName === '(root)') found = undefined;
    else if (functionName === '(garbage collector)') found = 'garbage collection';
    else if (functionName === '(program)') found = 'V8 and native code';
    else if (url) found = COMPONENTS.find(([, matches]) => matches(url))?.[0] ?? 'other';
    else {
      const parent = parentOf.get(node.id);
      found = parent ? component(parent) ?? 'V8 and native code' : 'V8 and native code';
    }
    componentOf.set(node.id, found);
    return found;
  };
  const ms: CpuByComponent = {};
  profile.samples.forEach((id, index) => {
    const name = component(byId.get(id)!);
    if (name) ms[name] = (ms[name] ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000;
  });
  return ms;
}

export function addCpuByComponent(total: CpuByComponent, more: CpuByComponent): void {
  for (const [name, ms] of Object.entries(more)) total[name] = (total[name] ?? 0) + ms;
}

/**
 * Two phases side by side, per record: each component's milliseconds in `a` and `b`,
 * largest difference first, as printable lines.
 */
export function compareCpu(labels: [string, string], a: CpuByComponent, b: CpuByComponent, records: number): string[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const per = (ms: number | undefined) => ((ms ?? 0) / records).toFixed(3);
  const total = (side: CpuByComponent) => Object.values(side).reduce((sum, ms) => sum + ms, 0);
  const difference = (name: string) => (a[name] ?? 0) - (b[name] ?? 0);
  names.sort((x, y) => difference(y) - difference(x));
  return [
    `${'ms of CPU per record written'.padEnd(36)} ${labels[0].padStart(10)} ${labels[1].padStart(10)}`,
    ...names.map((name) => `${name.padEnd(36)} ${per(a[name]).padStart(10)} ${per(b[name]).padStart(10)}`),
    `${'total (profiled)'.padEnd(36)} ${per(total(a)).padStart(10)} ${per(total(b)).padStart(10)}`,
  ];
}
