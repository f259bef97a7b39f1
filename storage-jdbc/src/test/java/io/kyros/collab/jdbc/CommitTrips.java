package io.kyros.collab.jdbc;

/**
 * Tells PostgreSQL commits' round trips apart among the statements a {@link FaultyDataSource} recorded: every commit
 * begins by bounding its lock wait: after {@code BEGIN} if its transaction is explicit, or first of all in the one
 * statement of a self-checked commit, which goes without {@code BEGIN} and {@code COMMIT} as PostgreSQL's implicit
 * transaction ({@code InlineCommit.Framing}).
 */
final class CommitTrips {
  private static final String BOUND = "set_config('lock_timeout', ";

  private CommitTrips() {}

  /**
   * @param sql a prepared statement's text
   * @return whether it is the first round trip of a commit, explicit or implicit
   */
  static boolean beginsCommit(String sql) {
    return explicit(sql) || implicit(sql);
  }

  /**
   * @param sql a prepared statement's text
   * @return whether it begins a commit's explicit transaction
   */
  static boolean explicit(String sql) {
    return sql.startsWith(InlineCommit.BEGIN + "; ");
  }

  /**
   * @param sql a prepared statement's text
   * @return whether it is a one-round-trip commit sent as an implicit transaction: the self-checked statement alone,
   *     without {@code BEGIN} and {@code COMMIT}
   */
  static boolean implicit(String sql) {
    return sql.startsWith("WITH l AS MATERIALIZED (SELECT count(*) FROM (SELECT " + BOUND) && !sql.contains("; ");
  }
}
