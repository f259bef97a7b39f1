package io.kyros.collab;

/**
 * Where an attempt got the record it decides on. A remembered record is the one this instance last committed:
 * only a guess, since anyone may have changed it since, but a commit that relies on it expects its revision, so
 * a stale guess costs a conflict, never a wrong result. Only a read decides that something is lost.
 */
enum RecordSource {
  /** Just read from the storage. */
  READ,
  /** Remembered from this instance's own last commit, not read. */
  REMEMBERED
}
