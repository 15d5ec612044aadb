/**
 * The consumer's typed errors. The first four are properties of a message: its tick is
 * dead-lettered (the reason goes in the headers) and the partition moves on. BatchFailedError
 * is a failure of Kafka or the model: nothing of the chunk is committed and kafkajs retries.
 */

/** The value of a message that is not JSON at all. */
export class MalformedTickError extends Error {
  override readonly name = 'MalformedTickError';
}

/** A tick further behind its product's newest tick than the tolerance allows. */
export class OutOfOrderTickError extends Error {
  override readonly name = 'OutOfOrderTickError';
}

/** A valid tick whose features leave the model's domain (the API would answer 422 for that row). */
export class FeatureDomainError extends Error {
  override readonly name = 'FeatureDomainError';
}

/** A model output that is not a probability; its tick is dead-lettered, never published as null. */
export class NonFiniteOutputError extends Error {
  override readonly name = 'NonFiniteOutputError';
}

/** A produce, restore or inference failure: thrown out of eachBatch so kafkajs retries from the last committed offset. */
export class BatchFailedError extends Error {
  override readonly name = 'BatchFailedError';
}
