/**
 * L2-regularised logistic regression fitted by iteratively reweighted least
 * squares (Newton's method). With ~10 features this converges in a handful of
 * exact, deterministic steps — no learning rate to tune, no shuffling.
 */
export interface LogisticFit {
  readonly weights: number[];
  readonly bias: number;
  readonly iterations: number;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Solves A x = b for a small symmetric positive-definite A (Cholesky). */
function solveSpd(a: number[][], b: number[]): number[] {
  const n = b.length;
  const l = a.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      if (i === j) {
        if (s <= 0) throw new Error('Hessian is not positive definite; increase l2');
        l[i]![i] = Math.sqrt(s);
      } else {
        l[i]![j] = s / l[j]![j]!;
      }
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * y[k]!;
    y[i] = s / l[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}

/** Fits on standardized rows `x` (n × d) with labels in {0,1}. */
export function fitLogistic(x: Float64Array[], y: Uint8Array, l2 = 1e-3, maxIter = 50, tol = 1e-10): LogisticFit {
  const n = x.length;
  const d = x[0]!.length;
  const p = d + 1; // last parameter is the bias
  let beta = new Array<number>(p).fill(0);
  let it = 0;
  for (; it < maxIter; it++) {
    const grad = new Array<number>(p).fill(0);
    const hess = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    for (let i = 0; i < n; i++) {
      const row = x[i]!;
      let z = beta[d]!;
      for (let j = 0; j < d; j++) z += beta[j]! * row[j]!;
      const mu = sigmoid(z);
      const w = Math.max(mu * (1 - mu), 1e-12);
      const r = y[i]! - mu;
      for (let j = 0; j < p; j++) {
        const xj = j < d ? row[j]! : 1;
        grad[j]! += r * xj;
        const wx = w * xj;
        for (let k = 0; k <= j; k++) hess[j]![k]! += wx * (k < d ? row[k]! : 1);
      }
    }
    for (let j = 0; j < p; j++) {
      for (let k = 0; k < j; k++) hess[k]![j] = hess[j]![k]!;
      if (j < d) {
        grad[j]! -= l2 * n * beta[j]!;
        hess[j]![j]! += l2 * n;
      }
    }
    const step = solveSpd(hess, grad);
    beta = beta.map((b, j) => b + step[j]!);
    if (Math.max(...step.map(Math.abs)) < tol) {
      it++;
      break;
    }
  }
  return { weights: beta.slice(0, d), bias: beta[d]!, iterations: it };
}

/** Area under the ROC curve (Mann–Whitney U with tie correction). */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  let pos = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]!] === 1) {
        rankSumPos += avgRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export interface ThresholdMetrics {
  readonly threshold: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export function metricsAt(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): ThresholdMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (predicted && labels[i] === 1) tp++;
    else if (predicted) fp++;
    else if (labels[i] === 1) fn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { threshold, precision, recall, f1 };
}

/** The threshold (among a fixed grid) with the best F1. */
export function bestF1Threshold(scores: ArrayLike<number>, labels: ArrayLike<number>): ThresholdMetrics {
  let best = metricsAt(scores, labels, 0.5);
  for (let t = 0.05; t < 0.951; t += 0.01) {
    const m = metricsAt(scores, labels, Math.round(t * 100) / 100);
    if (m.f1 > best.f1) best = m;
  }
  return best;
}
