import { Gauge, type Registry } from 'prom-client';
import { type Model, variantLabel } from './model';

/**
 * A `*_model_info` gauge: exactly one series, value 1, labelled with the served model's
 * name, version and variant. Returns the function that moves it to a newly served model.
 */
export function modelInfoMetric(registry: Registry, name: string): (model: Model) => void {
  const info = new Gauge({ name, help: 'The model being served (value 1), with its name, version and variant.', labelNames: ['name', 'version', 'variant'] as const, registers: [registry] });
  let current: [string, string, string] | undefined;
  return (model) => {
    if (current) info.remove(...current);
    current = [model.name, model.version, variantLabel(model.variant)];
    info.labels(...current).set(1);
  };
}
