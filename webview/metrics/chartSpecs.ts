// Which charts the dashboard has, and which series each draws. A chart appears once a shown run has data
// for it (no GPU chart on a CPU host, no preference chart for SFT), except the loss chart, which is always
// there to say what it waits for.
export type Axis = 'y' | 'y1';

export interface SeriesSpec {
  /** A point's series key: loss, evalLoss, learningRate, gradNorm, tokensPerSec, or an extra figure (gpu.peak_mb). */
  key: string;
  label: string;
  axis: Axis;
  /** Evaluations are sparse: dots on the line. */
  dots?: boolean;
  dashed?: boolean;
  /** Values a resume superseded are drawn faint and dotted. */
  earlier?: boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  /** The series this chart draws, given every series key the shown runs have. */
  series(keys: ReadonlySet<string>): SeriesSpec[];
  /** Always shown, even empty (the loss chart). */
  always?: boolean;
  /** A y range shaded as the healthy band; points outside it are marked. */
  band?: { low: number; high: number; label: string };
  yTitle: string;
  y1Title?: string;
}

const withPrefix = (keys: ReadonlySet<string>, prefix: string) => [...keys].filter((k) => k.startsWith(prefix)).sort();
const suffix = (key: string) => key.slice(key.indexOf('.') + 1).replace(/_/g, ' ');

/** The toolbar's series checkboxes; each hides its line (and a chart with nothing left to show). */
export const TOGGLES = ['loss', 'evalLoss', 'learningRate', 'gradNorm', 'tokensPerSec'] as const;
export type ToggleKey = (typeof TOGGLES)[number];

/** Which toggle a series answers to: the learning rate's per-group lines go with learningRate. */
export function toggleOf(key: string): ToggleKey | undefined {
  if (key.startsWith('lr_groups.')) return 'learningRate';
  return (TOGGLES as readonly string[]).includes(key) ? (key as ToggleKey) : undefined;
}

/** Series that EMA smoothing applies to: noisy per-step figures, not schedules or evaluations. */
export const isSmoothable = (key: string): boolean =>
  !(key === 'learningRate' || key === 'evalLoss' || key.startsWith('lr_groups.') || key.startsWith('gpu.'));

/** The guide's healthy gradient-norm range (after clipping at 1.0 it is reported before clipping). */
export const GRAD_NORM_BAND = { low: 2, high: 5, label: 'healthy range 2–5' };

export const CHARTS: ChartSpec[] = [
  {
    id: 'loss', title: 'Loss', always: true, yTitle: 'loss',
    series: () => [
      { key: 'loss', label: 'loss', axis: 'y', earlier: true },
      { key: 'evalLoss', label: 'eval loss', axis: 'y', dots: true, earlier: true },
    ],
  },
  {
    id: 'learningRate', title: 'Learning rate', yTitle: 'learning rate',
    series: (keys) => {
      const groups = withPrefix(keys, 'lr_groups.');
      // One line per parameter group; a single "default" group is the run's learning rate itself.
      if (groups.length > 1) return groups.map((key) => ({ key, label: `lr ${suffix(key)}`, axis: 'y' as const }));
      return [{ key: 'learningRate', label: 'learning rate', axis: 'y' }];
    },
  },
  {
    id: 'gradNorm', title: 'Gradient norm', yTitle: 'grad norm', band: GRAD_NORM_BAND,
    series: () => [{ key: 'gradNorm', label: 'grad norm', axis: 'y' }],
  },
  {
    id: 'tokensPerSec', title: 'Throughput', yTitle: 'tokens/s',
    series: () => [{ key: 'tokensPerSec', label: 'tokens/s', axis: 'y' }],
  },
  {
    id: 'gpu', title: 'GPU memory', yTitle: 'MB', y1Title: 'utilisation %',
    series: (keys) => [
      ...['gpu.allocated_mb', 'gpu.reserved_mb', 'gpu.peak_mb'].filter((k) => keys.has(k))
        .map((key) => ({ key, label: suffix(key).replace(' mb', ''), axis: 'y' as const, dashed: key === 'gpu.peak_mb' })),
      ...(keys.has('gpu.utilization') ? [{ key: 'gpu.utilization', label: 'utilisation', axis: 'y1' as const }] : []),
    ],
  },
  {
    id: 'lossTerms', title: 'Loss terms', yTitle: 'value',
    // An SFT run's only term is the cross-entropy, the loss chart's own line; the chart earns its place with a second term.
    series: (keys) => {
      const terms = withPrefix(keys, 'loss_terms.');
      return terms.length > 1 ? terms.map((key) => ({ key, label: suffix(key), axis: 'y' as const })) : [];
    },
  },
  {
    id: 'preference', title: 'Preference', yTitle: 'reward', y1Title: 'accuracy',
    series: (keys) => withPrefix(keys, 'preference.').map((key) => ({
      key, label: suffix(key), axis: key === 'preference.accuracy' ? 'y1' as const : 'y' as const,
    })),
  },
];
