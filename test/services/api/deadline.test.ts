import { postJson, startApi } from '../../support/api';
import { validRow } from '../../support/fixtures';
import { writeSlowModel } from '../../support/slow-model';

describe('inference deadline', () => {
  it('answers 504 when inference exceeds INFERENCE_TIMEOUT_MS and keeps serving', async () => {
    const dir = writeSlowModel();
    const srv = await startApi({ MODEL_VARIANT: dir, INFERENCE_TIMEOUT_MS: '20', MAX_BATCH_ROWS: '256' });
    try {
      const res = await postJson(`${srv.url}/predict`, { instances: Array.from({ length: 256 }, validRow) });
      expect(res.status).toBe(504);
      expect(res.json.error.type).toBe('inference_timeout');
      expect((await fetch(`${srv.url}/health`)).status).toBe(200);
    } finally {
      await srv.api.stop();
    }
  });
});
