import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Which package a frame belongs to: an npm package, a workspace package, Node itself, or V8's pseudo-frames. */
function groupOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  const own = /\/(packages|apps|bench)\/([^/]+)\//.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  if (url.startsWith('node:')) return 'node:internal';
  return url;
}

const SOCKET_WRITES = new Set(['writev', 'writeUtf8String', 'writeBuffer', 'writeLatin1String']);

/**
 * Who a frame's time is charged to: its own package; for Node internals and
 * native code, the nearest caller that belongs to one (so the Fetch objects
 * tRPC's adapter builds count as tRPC, an HMAC as the signer's); socket
 * writes and V8's pseudo-frames (GC, program) stay on their own.
 */
function chargedGroups(profile: CpuProfile): (node: ProfileNode) => string {
  const parentOf = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const charged = new Map<number, string>();
  const chargedTo = (node: ProfileNode): string => {
    const known = charged.get(node.id);
    if (known !== undefined) return known;
    const { url, functionName } = node.callFrame;
    const own = groupOf(node.callFrame);
    const parent = parentOf.get(node.id);
    let group: string;
    if (!url && SOCKET_WRITES.has(functionName)) group = '(socket writes)';
    else if (own === '(native)' || own === 'node:internal') group = parent ? chargedTo(parent) : own;
    else group = own;
    // The root's own frame has no package: what nothing else claims stays Node's.
    if (group === '(root)') group = 'node:internal';
    charged.set(node.id, group);
    return group;
  };
  return chargedTo;
}

/**
 * Self time per package and per function as a short table, idle excluded;
 * with `requests`, also in µs per request (as measured under the profiler,
 * which slows everything down).
 */
export function summarizeProfile(file: string, options: { top?: number; requests?: number } = {}): string {
  const { top = 14, requests } = options;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  const charged = new Map<string, number>();
  const chargedTo = chargedGroups(profile);
  const functions = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const group = groupOf(node.callFrame);
    // Idle, and the call that started the profiler (it runs before the load does).
    if (group === '(idle)' || node.callFrame.url === 'node:inspector') return;
    const micros = profile.timeDeltas[i] ?? 0;
    totals.set(group, (totals.get(group) ?? 0) + micros);
    const payer = chargedTo(node);
    charged.set(payer, (charged.get(payer) ?? 0) + micros);
    const fn = `${group} ${node.callFrame.functionName || '(anonymous)'}`;
    functions.set(fn, (functions.get(fn) ?? 0) + micros);
  });
  const sum = [...totals.values()].reduce((a, b) => a + b, 0);
  const perRequest = (micros: number) => (requests ? ` ${(micros / requests).toFixed(1).padStart(6)} us/req` : '');
  const rows = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => `  ${((100 * micros) / sum).toFixed(1).padStart(5)}%${perRequest(micros)}  ${name}`);
  const busy = `busy ${(sum / 1e6).toFixed(2)} s${requests ? ` over ${requests} requests (${(sum / requests).toFixed(0)} us/req under the profiler)` : ''}`;
  return [
    `${busy}; by package:`,
    ...rows(totals),
    'by calling package (Node internals and native code charged to their caller):',
    ...rows(charged),
    'top functions (self):',
    ...rows(functions),
  ].join('\n');
}
