import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const STICKY_ASSIGNER_NAME = 'VolwatchStickyAssigner';
const VERSION = 0;

/** Each member's current partitions by topic, as it tells the leader in its join metadata. */
export type Ownership = Readonly<Record<string, readonly number[]>>;

export interface MemberOwnership {
  readonly memberId: string;
  readonly topics: readonly string[];
  readonly owned: Ownership;
}

/**
 * Sticky assignment of one topic's partitions: every member keeps as many of the
 * partitions it owned as its balanced share allows (members that owned more get
 * the larger shares first), and only the rest moves, to the members furthest
 * below their share. A partition claimed by two members (one was presumed dead)
 * stays with the first in member-id order. Deterministic for a given input.
 */
export function assignSticky(partitions: readonly number[], members: readonly MemberOwnership[], topic: string): Map<string, number[]> {
  const subscribed = members.filter((m) => m.topics.includes(topic)).sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const result = new Map<string, number[]>(subscribed.map((m) => [m.memberId, []]));
  if (subscribed.length === 0) return result;
  const valid = new Set(partitions);
  const claimed = new Set<number>();
  const previous = new Map<string, number[]>();
  for (const m of subscribed) {
    const mine = [...new Set(m.owned[topic] ?? [])].filter((p) => valid.has(p) && !claimed.has(p)).sort((a, b) => a - b);
    for (const p of mine) claimed.add(p);
    previous.set(m.memberId, mine);
  }
  const base = Math.floor(partitions.length / subscribed.length);
  let larger = partitions.length % subscribed.length;
  const byOwned = [...subscribed].sort((a, b) => previous.get(b.memberId)!.length - previous.get(a.memberId)!.length);
  const quota = new Map<string, number>();
  for (const m of byOwned) {
    const q = base + (larger > 0 && previous.get(m.memberId)!.length > base ? 1 : 0);
    if (q > base) larger--;
    quota.set(m.memberId, q);
  }
  // Members that owned no more than the base share take the remaining larger shares in id order.
  for (const m of subscribed) {
    if (larger === 0) break;
    if (quota.get(m.memberId) === base) {
      quota.set(m.memberId, base + 1);
      larger--;
    }
  }
  const taken = new Set<number>();
  for (const m of subscribed) {
    const keep = previous.get(m.memberId)!.slice(0, quota.get(m.memberId));
    result.set(m.memberId, keep);
    for (const p of keep) taken.add(p);
  }
  const free = [...partitions].sort((a, b) => a - b).filter((p) => !taken.has(p));
  for (const p of free) {
    let target = subscribed[0]!;
    let room = -Infinity;
    for (const m of subscribed) {
      const r = quota.get(m.memberId)! - result.get(m.memberId)!.length;
      if (r > room) {
        room = r;
        target = m;
      }
    }
    result.get(target.memberId)!.push(p);
  }
  for (const list of result.values()) list.sort((a, b) => a - b);
  return result;
}

function decodeOwnership(userData: Buffer): Ownership {
  if (userData.length === 0) return {};
  try {
    const parsed = JSON.parse(userData.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    const out: Record<string, number[]> = {};
    for (const [topic, list] of Object.entries(parsed as Record<string, unknown>)) {
      if (Array.isArray(list)) out[topic] = list.filter((p): p is number => Number.isInteger(p) && p >= 0);
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * kafkajs assigner (kafkajs ships round-robin and, for whoever leads the group,
 * reshuffles every partition on every membership change). Each member puts
 * what it owns now into its join metadata; the leader keeps those in place.
 * List it before kafkajs's RoundRobin so a rolling upgrade from a version
 * without it still finds a common protocol.
 */
export function stickyAssigner(owned: () => Ownership): PartitionAssigner {
  return ({ cluster }) => ({
    name: STICKY_ASSIGNER_NAME,
    version: VERSION,
    async assign({ members, topics }) {
      const decoded: MemberOwnership[] = members.map((m) => {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
        return meta ? { memberId: m.memberId, topics: meta.topics, owned: decodeOwnership(meta.userData) } : { memberId: m.memberId, topics: [], owned: {} };
      });
      const assignment = new Map<string, Record<string, number[]>>(members.map((m) => [m.memberId, {}]));
      for (const topic of topics) {
        const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
        for (const [memberId, list] of assignSticky(partitions, decoded, topic)) assignment.get(memberId)![topic] = list;
      }
      return [...assignment].map(([memberId, a]) => ({ memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: VERSION, assignment: a, userData: Buffer.alloc(0) }) }));
    },
    protocol({ topics }) {
      return { name: STICKY_ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: VERSION, topics, userData: Buffer.from(JSON.stringify(owned())) }) };
    },
  });
}
