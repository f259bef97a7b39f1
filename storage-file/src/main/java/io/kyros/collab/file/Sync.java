package io.kyros.collab.file;

/** Whether a file written by {@link DocumentFiles#replace} is forced to disk before it is renamed into place. */
enum Sync {
  /** Force the temporary file before the rename. */
  FORCE,
  /** Leave it to the page cache (the journal, or a later checkpoint, makes it durable). */
  NO_FORCE
}
