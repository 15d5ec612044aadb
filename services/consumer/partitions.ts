/**
 * What this member knows of each partition it owns: whether its product windows
 * can be trusted to continue at the next fetched offset, or must be rebuilt
 * from the log first.
 *
 *   fresh ──first batch──► restoring ──reaches the first offset to score──► scoring
 *     ▲                                                                        │
 *     └── failed chunk, redelivery, or a rejoin that does not continue here ───┘
 */
export type PartitionMode = 'fresh' | 'restoring' | 'scoring';

export interface RestorePlan {
  /** First offset to score: everything before it is replayed into the windows only. */
  readonly target: number;
  /** Event time of the tick at `target` (record timestamp when it has none): the lookback is measured from it. */
  readonly targetEventMs: number;
  /** Offset the replay was asked to start from. */
  from: number;
  /** Log start offset when the plan was made: the replay cannot reach further back. */
  readonly low: number;
  /** Set once the replay's first tick was found old enough. */
  checked: boolean;
  attempts: number;
  readonly startedMs: number;
  replayed: number;
}

export interface PartitionState {
  readonly partition: number;
  mode: PartitionMode;
  /** In scoring mode: the next offset to score (everything before it is committed). */
  nextOffset: number;
  /** True until the first batch after a (re)join: that batch must start exactly at nextOffset. */
  rejoined: boolean;
  /**
   * Offsets below this were scored and their predictions published by this member during its
   * ownership (committed or not): scoring one of them again is a duplicate.
   */
  scoredThrough: number;
  restore?: RestorePlan;
}

export class PartitionTracker {
  private readonly parts = new Map<number, PartitionState>();

  get(partition: number): PartitionState | undefined {
    return this.parts.get(partition);
  }

  owned(): number[] {
    return [...this.parts.keys()].sort((a, b) => a - b);
  }

  get restoring(): number {
    let n = 0;
    for (const p of this.parts.values()) if (p.mode === 'restoring') n++;
    return n;
  }

  /**
   * Applies a new assignment. Returns the partitions revoked (their windows must
   * be dropped at once). Kept partitions keep their windows but must prove on
   * their first batch that nobody else processed them meanwhile; a restore cut
   * short by the rebalance starts over.
   */
  assign(assigned: readonly number[]): number[] {
    const mine = new Set(assigned);
    const revoked: number[] = [];
    for (const p of [...this.parts.keys()]) {
      if (!mine.has(p)) {
        this.parts.delete(p);
        revoked.push(p);
      }
    }
    for (const p of mine) {
      const state = this.parts.get(p);
      if (!state) {
        this.parts.set(p, { partition: p, mode: 'fresh', nextOffset: -1, rejoined: true, scoredThrough: -1 });
      } else {
        state.rejoined = true;
        if (state.mode === 'restoring') {
          state.mode = 'fresh';
          state.restore = undefined;
        }
      }
    }
    return revoked;
  }

  /** Forgets everything (the member left the group or stopped). */
  clear(): number[] {
    const all = [...this.parts.keys()];
    this.parts.clear();
    return all;
  }
}

/**
 * Can the windows of a scoring partition continue with a batch starting at
 * `first`? Within a generation a gap is fine (control records, retention); a
 * step back is a redelivery of ticks already in the windows. After a rejoin the
 * batch must start exactly where this member stopped, or someone else moved on.
 */
export function continuesAt(state: PartitionState, first: number): boolean {
  if (state.mode !== 'scoring') return false;
  return state.rejoined ? first === state.nextOffset : first >= state.nextOffset;
}
