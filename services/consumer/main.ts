import { runService } from '../core/service-main';
import { loadConsumerConfig } from './config';
import { createConsumer } from './consumer';

// Out of crash restarts, `fatal` rejects: the process exits 1 so Kubernetes restarts the pod.
void runService({ name: 'volwatch-consumer', loadConfig: () => loadConsumerConfig(), create: (config, logger) => createConsumer(config, { logger }) });
