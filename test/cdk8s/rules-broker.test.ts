import { BROKER_METRICS } from '../../cdk8s/kafka-metrics';
import { REFERENCE_TARGETS } from '../../cdk8s/slo';
import { BUILD_TIMEOUT_MS, monitoringTool } from '../support/monitoring-tools';
import { alertRule, counter, promtoolTest, renderedAnnotations, series, steps, synthesizedRuleGroups } from './promtool';

// Alerts on the broker's own metrics (JMX exporter), which keep working when the consumer is gone.
const groups = synthesizedRuleGroups();
const ruleGroups = [...groups.values()].flat();
const kafka = { job: 'kafka', namespace: REFERENCE_TARGETS.namespace };

let promtool = '';
beforeAll(() => {
  promtool = monitoringTool('promtool');
}, BUILD_TIMEOUT_MS);

function fired(alert: string, labels: Record<string, string>, values: Record<string, string> = {}) {
  const r = alertRule(groups.values(), alert);
  return { exp_labels: { ...(r.labels as Record<string, string>), ...labels }, exp_annotations: renderedAnnotations(r, values) };
}

function run(tests: object[]): void {
  expect(promtoolTest(promtool, ruleGroups, tests)).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
}

describe('broker alerts', () => {
  test('VolwatchKafkaBrokerDown fires after 5 minutes without a healthy exporter target', () => {
    run([
      { name: 'up', interval: '1m', input_series: [series('up', { ...kafka, instance: 'k' }, '1x12')], alert_rule_test: [{ eval_time: '11m', alertname: 'VolwatchKafkaBrokerDown', exp_alerts: [] }] },
      {
        name: 'down',
        interval: '1m',
        input_series: [series('up', { ...kafka, instance: 'k' }, '1x2 0x10')],
        alert_rule_test: [
          { eval_time: '7m30s', alertname: 'VolwatchKafkaBrokerDown', exp_alerts: [] },
          { eval_time: '8m', alertname: 'VolwatchKafkaBrokerDown', exp_alerts: [fired('VolwatchKafkaBrokerDown', {})] },
        ],
      },
    ]);
  });

  test('VolwatchKafkaOfflinePartitions: none is quiet, one offline partition fires after a minute', () => {
    run([
      { name: 'none', interval: '1m', input_series: [series(BROKER_METRICS.offlinePartitions, { ...kafka, instance: 'k' }, '0x10')], alert_rule_test: [{ eval_time: '9m', alertname: 'VolwatchKafkaOfflinePartitions', exp_alerts: [] }] },
      {
        name: 'one from minute 2',
        interval: '1m',
        input_series: [series(BROKER_METRICS.offlinePartitions, { ...kafka, instance: 'k' }, '0 0 1x8')],
        alert_rule_test: [
          { eval_time: '2m30s', alertname: 'VolwatchKafkaOfflinePartitions', exp_alerts: [] },
          { eval_time: '3m', alertname: 'VolwatchKafkaOfflinePartitions', exp_alerts: [fired('VolwatchKafkaOfflinePartitions', kafka, { '$value | printf "%.0f"': '1' })] },
        ],
      },
    ]);
  });

  test('VolwatchKafkaConsumerGroupStalled: ticks grow while nothing commits -> fires after 5 minutes; a committing group and an idle topic are quiet', () => {
    const leo = (partition: string, perMin: number) => series(BROKER_METRICS.logEndOffset, { ...kafka, instance: 'k', topic: 'ticks', partition }, counter(steps(perMin, 12)));
    // Commits write to __consumer_offsets, whose growth must not count as ticks arriving.
    const offsetsTopic = series(BROKER_METRICS.logEndOffset, { ...kafka, instance: 'k', topic: '__consumer_offsets', partition: '0' }, counter(steps(3, 12)));
    const commits = (perMin: number) => series(BROKER_METRICS.offsetCommits, { ...kafka, instance: 'k' }, counter(steps(perMin, 12)));
    run([
      { name: 'consuming', interval: '1m', input_series: [leo('0', 25), leo('1', 25), offsetsTopic, commits(3)], alert_rule_test: [{ eval_time: '11m', alertname: 'VolwatchKafkaConsumerGroupStalled', exp_alerts: [] }] },
      { name: 'idle', interval: '1m', input_series: [leo('0', 0), leo('1', 0), commits(0)], alert_rule_test: [{ eval_time: '11m', alertname: 'VolwatchKafkaConsumerGroupStalled', exp_alerts: [] }] },
      {
        // From minute 1 the 10m windows hold two samples: pending at 1m, firing at 6m. $value is
        // delta() over (-4m, 6m]: 300 appended, extrapolated half a sample interval back: 325.
        name: 'stalled',
        interval: '1m',
        input_series: [leo('0', 25), leo('1', 25), commits(0)],
        alert_rule_test: [
          { eval_time: '5m30s', alertname: 'VolwatchKafkaConsumerGroupStalled', exp_alerts: [] },
          { eval_time: '6m', alertname: 'VolwatchKafkaConsumerGroupStalled', exp_alerts: [fired('VolwatchKafkaConsumerGroupStalled', { ...kafka, topic: 'ticks' }, { '$labels.topic': 'ticks', '$value | printf "%.0f"': '325' })] },
        ],
      },
    ]);
  });
});
