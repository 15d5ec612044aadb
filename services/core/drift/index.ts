export { buildReferenceProfile, parseReferenceProfile, ReferenceProfileError, type ReferenceProfile, type FeatureProfile, type BuildProfileOptions } from './profile';
export { createDriftMonitor, driftMetricNames, DRIFT_METRIC_SUFFIXES, type DriftMonitor, type DriftMonitorOptions, type DriftSnapshot, type DriftMetricNames } from './monitor';
export { DEFAULT_THRESHOLDS, type DriftThresholds, type DriftOptions, type DriftMethod, type FeatureDrift, type DatasetDrift } from './evaluate';
