import { runService } from '../core/service-main';
import { createApi } from './app';
import { loadApiConfig } from './config';

void runService({ name: 'volwatch-api', loadConfig: () => loadApiConfig(), create: (config, logger) => createApi(config, { logger }) });
