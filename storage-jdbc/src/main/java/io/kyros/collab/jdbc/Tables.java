package io.kyros.collab.jdbc;

import java.util.regex.Pattern;

/**
 * The four tables' names for one table prefix.
 *
 * @param prefix the validated prefix, possibly empty
 * @param meta the one-row counter table
 * @param records the records (documents, leases, tasks)
 * @param events the event log
 * @param index the records' secondary-index entries (schema version 3)
 */
record Tables(String prefix, String meta, String records, String events, String index) {
  private static final Pattern PREFIX = Pattern.compile("([a-z][a-z0-9_]{0,29})?");

  static Tables of(String prefix) {
    if (!PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException(
          "tablePrefix must be empty or match [a-z][a-z0-9_]{0,29} (lower case, so every database folds it alike): '"
              + prefix + "'");
    }
    return new Tables(prefix, prefix + "collab_meta", prefix + "collab_records", prefix + "collab_events",
        prefix + "collab_index");
  }

  /** @return the sequence PostgreSQL's parallel commits take revisions from */
  String revisionSequence() {
    return prefix + "collab_revision_seq";
  }

  /** @return the sequence PostgreSQL's parallel commits take event ids from */
  String eventSequence() {
    return prefix + "collab_event_seq";
  }
}
