package io.kyros.collab.jdbc;

import java.sql.SQLException;

/**
 * What differs between databases: SQL fragments and capability flags. Everything else in
 * {@link JdbcStorage} is plain JDBC and SQL every supported database understands.
 *
 * <p>Implementations are stateless and thread-safe.
 */
interface Dialect {

  /** @return the database this dialect is for */
  JdbcDialect kind();

  /**
   * @return a complete SELECT statement returning the database's current time as one BIGINT: microseconds since
   *     the Unix epoch, in UTC, never through a zone-less local time
   */
  String currentTimeMicros();

  /**
   * Statements that take the store-wide writer lock on the counter row, in order; the last one is a query
   * returning {@code last_revision, last_event_id}. Every commit runs them first, so commits are serialized.
   *
   * @param t the tables
   * @return the statements
   */
  default String[] lockCounters(Tables t) {
    return new String[] {"SELECT last_revision, last_event_id FROM " + t.meta() + " WHERE id = 1 FOR UPDATE"};
  }

  /**
   * An insert of {@code (collection, id, revision, hash, value_json)} that replaces an existing row.
   *
   * @param t the tables
   * @return the statement
   */
  default String upsert(Tables t) {
    return insertRecord(t) + " ON CONFLICT (collection, id) DO UPDATE SET revision = excluded.revision,"
        + " hash = excluded.hash, value_json = excluded.value_json";
  }

  /**
   * @param t the tables
   * @return a plain insert of {@code (collection, id, revision, hash, value_json)}
   */
  static String insertRecord(Tables t) {
    return "INSERT INTO " + t.records() + " (collection, id, revision, hash, value_json) VALUES (?, ?, ?, ?, ?)";
  }

  /**
   * An insert of {@code (collection, id, revision, hash, value_json)} that does nothing (update count 0) if the
   * row exists ({@code ON CONFLICT DO NOTHING}), or, where {@link #insertIfAbsentRaisesOnConflict()}, a plain insert
   * that fails with a unique violation.
   *
   * @param t the tables
   * @return the statement
   */
  default String insertIfAbsent(Tables t) {
    return insertRecord(t) + (insertIfAbsentRaisesOnConflict() ? "" : " ON CONFLICT (collection, id) DO NOTHING");
  }

  /** @return true if {@link #insertIfAbsent} reports an existing row by a unique violation that leaves the transaction usable */
  default boolean insertIfAbsentRaisesOnConflict() {
    return false;
  }

  /**
   * @param e a failure
   * @return true if it is a unique-key violation
   */
  default boolean isUniqueViolation(SQLException e) {
    return "23505".equals(e.getSQLState());
  }

  /**
   * Serialization failures, deadlocks, lock timeouts and busy databases: the transaction was rolled back and can
   * be run again.
   *
   * @param e a failure
   * @return true if running the transaction again may succeed
   */
  default boolean isRetryable(SQLException e) {
    String state = e.getSQLState();
    return "40001".equals(state) || "40P01".equals(state);
  }

  /**
   * A failure of COMMIT that means the transaction did not commit (and is rolled back, or is rolled back by the
   * caller): such a commit can be run again.
   *
   * @param e a failure of {@code Connection.commit()}
   * @return true if nothing was committed
   */
  default boolean commitRefused(SQLException e) {
    return "40001".equals(e.getSQLState());
  }

  /**
   * @param e a failure
   * @return true if it is a lock wait that timed out (also {@linkplain #isRetryable retryable})
   */
  default boolean isLockTimeout(SQLException e) {
    return false;
  }

  /**
   * A statement bounding how long the statements after it in the same transaction wait for a row lock, run first
   * in every commit so a stalled lock holder cannot stop writers for longer than the retry timeout.
   *
   * @param millis the bound, at least 1
   * @return the statement, or null if the database has no such setting (SQLite: the connection's busy timeout)
   */
  default String boundLockWait(long millis) {
    return null;
  }

  /**
   * Whether the driver sends several statements joined by {@code ;}, with {@code ?} parameters numbered across them,
   * in one round trip and reports each one's result in order (the PostgreSQL driver does). Commits then take the
   * lock, read the clock and the expectations in one round trip, and apply the writes, events and counters in a
   * second one. Requires a {@link #insertIfAbsent} that does not raise.
   *
   * @return true to send a commit's statements together
   */
  default boolean sendsStatementsTogether() {
    return false;
  }

  /**
   * Whether commits run in parallel (PostgreSQL): each locks only its own keys (advisory locks), takes revisions and
   * event ids from sequences, and readers of the log keep it gap-free with a read horizon ({@link EventHorizon})
   * instead of relying on commits being serialized on the counter row. Requires {@link #sendsStatementsTogether()};
   * the commit protocol is then {@link InlineCommit}.
   *
   * @return true if commits run in parallel
   */
  default boolean parallelCommits() {
    return false;
  }

  /**
   * The most {@code ?} parameters one round trip of statements sent together may carry (the PostgreSQL driver
   * refuses more than 65,535). A commit's writes and events are split into round trips that stay under it, and its
   * events into multi-row inserts that do. Used where {@link #sendsStatementsTogether()}; the statements sent one at
   * a time insert one event per statement (in a JDBC batch) and carry at most 6 parameters each.
   *
   * @return the limit, at least 6
   * @throws UnsupportedOperationException if statements are not sent together
   */
  default int maxParameters() {
    throw new UnsupportedOperationException(kind() + " sends a commit's statements one at a time");
  }

  /** How a page of an index ({@link SqlText#scanIndex}) states its start position, the entry it follows. */
  enum IndexPageStart {
    /** {@code (index_key, record_id) > (?, ?)}: one range starting at the position (PostgreSQL, SQLite). */
    ROW_VALUE,
    /**
     * {@code index_key > ? OR (index_key = ? AND record_id > ?)}, which MariaDB's range optimizer turns into a range
     * over all four key parts, while it uses only the first three for the row value.
     */
    KEY_OR_KEY_AND_ID,
    /**
     * Two ranges, each a derived table with its own {@code ORDER BY} and {@code LIMIT}, their union joined to the
     * records and limited again: the rest of the position's key ({@code index_key = ? AND record_id > ?}) and the keys
     * after it ({@code index_key >= ?}, bound to the position's key followed by a space: index keys are printable
     * ASCII, 0x21 to 0x7E, so every key greater than the position's is at least that string, which is never a key
     * itself). H2 starts an index range on a strict bound at the bound, reading and dropping every entry equal to it,
     * and uses only a row value's first column: with either form above a page of 10 after the 4,989th of 5,000 records
     * scanned 5,015 rows, against 115 among 100 records; with two ranges 55 and 55 ({@code ScanCostTest}, whose count
     * sums H2's {@code scanCount} over every level of the statement, the records' lookups included). Exact only where
     * H2 compares these columns byte-wise, as the schema's binary comparison has it (docs/jdbc.md, "Schema"): under
     * another collation ({@code SET COLLATION}) the two ranges would skip keys that the OR form would not.
     */
    TWO_RANGES
  }

  /**
   * How a page of an index states its start position. PostgreSQL and SQLite bound their range scan with the row
   * value (PostgreSQL filters the OR form row by row; SQLite uses neither arm of it and reads the index from the start
   * of the index name); MariaDB with the OR form; H2 with two ranges.
   *
   * @return the form of the start position
   */
  default IndexPageStart indexPageStart() {
    return IndexPageStart.KEY_OR_KEY_AND_ID;
  }

  /**
   * Whether an index page is read first and its records joined to it laterally, one primary-key lookup per entry
   * (PostgreSQL), rather than by a plain join of the two tables ordered and limited as a whole. PostgreSQL's planner
   * may otherwise join with a scan of every record of the collection per entry (an index scan bounded by
   * {@code collection} alone, {@code id} compared in a join filter) when its estimates make the two plans cost the
   * same: on tables it has no statistics for (new tables, or autovacuum off). In {@code TaskClaimBenchmark} a page of
   * 9 entries from a collection of about 500 records then compared 4,268 records in the join filter. The lateral
   * lookup has only the full key to go by, and its {@code LIMIT 1} keeps PostgreSQL from flattening it into a plain
   * join: it runs once per entry whatever the estimates (a nested loop even with {@code enable_nestloop} off).
   *
   * @return true to join the records laterally
   */
  default boolean lateralIndexPages() {
    return false;
  }

  /**
   * Whether an index page is read first, as a derived table of index entries with its own {@code ORDER BY} and
   * {@code LIMIT}, and its records joined to it (MariaDB), rather than by a plain join of the two tables ordered and
   * limited as a whole. MariaDB planned the plain join as a scan of every record of the collection, each looked up in
   * the index, then a sort: a page of 10 entries of a collection of 15,000 records read 15,000 rows and took 35 ms,
   * against 0.3 ms read first (found in review; {@code ScanCostTest} counts the rows a page reads).
   * {@link #lateralIndexPages} is PostgreSQL's way to the same end.
   *
   * @return true to read the page of index entries first
   */
  default boolean entryPagesFirst() {
    return false;
  }

  /**
   * Whether a page of an index ({@link SqlText#scanIndex}) and a page of a collection ({@link SqlText#listRecords}) are
   * ordered by their primary key's whole column list, the columns their {@code WHERE} fixes included ({@code ORDER BY
   * i.collection, i.index_name, i.index_key, i.record_id}; {@code ORDER BY collection, id}), rather than by the columns
   * that vary. The order is the same. H2 reads rows in an index's order, and stops at the {@code LIMIT}, only for an
   * {@code ORDER BY} that is a prefix of the index's columns: ordered by the varying columns, a page of 10 among 5,000
   * records scanned 14,906 rows (every entry of the index and its record, then a sort) and a page of the collection
   * 4,952, against 75 and 11 so, for pages starting after the 49th record ({@code ScanCostTest}; what was left of a
   * page's cost growing with its start position went with {@link IndexPageStart#TWO_RANGES}). MariaDB does the
   * opposite: with the whole key its page of 10 read 4,993 rows, against 42. PostgreSQL and SQLite read as little
   * either way; they keep the short form.
   *
   * @return whether pages are ordered by the whole key
   */
  default boolean pagesOrderedByWholeKey() {
    return false;
  }

  /** How a commit deletes the index entries of the records it writes, where it deletes them statement by statement. */
  enum EntryDeletes {
    /**
     * Up to {@value Queries#KEY_CHUNK} records per statement, {@code (collection = ? AND record_id = ?) OR ...}: the
     * database finds each record's entries through the unique key {@code (collection, record_id, index_name)}.
     */
    RECORDS_PER_STATEMENT,
    /** One record per statement, {@code collection = ? AND record_id = ?}, the statements sent as one batch. */
    ONE_RECORD_PER_STATEMENT
  }

  /**
   * How a commit on MariaDB, H2 or SQLite deletes the index entries of the records it writes ({@link
   * IndexWrites#apply}; PostgreSQL's commits take theirs in their own statement). H2 2.3 plans an OR of several records
   * as a scan of the whole collection's range of the unique key, filtering the record ids (30,001 rows read to delete
   * the entries of 2 records among 15,000, {@code EXPLAIN ANALYZE}), and one record's delete as a lookup of its
   * entries; so H2 deletes one record per statement. MariaDB plans the OR as one range per record.
   *
   * @return how to delete records' index entries
   */
  default EntryDeletes entryDeletes() {
    return EntryDeletes.RECORDS_PER_STATEMENT;
  }

  /**
   * The index table as a delete of records' index entries names it ({@link SqlText#deleteIndexEntries}). SQLite
   * without statistics on the table (it gathers them only on {@code ANALYZE}) estimates an equality on a key's first
   * column as selective, and looked a record's entries up by the primary key's first column, {@code collection},
   * instead of the unique key's {@code (collection, record_id)}: every entry of the collection read for each delete.
   * It names the unique key's index there ({@code INDEXED BY}).
   *
   * @param t the storage's tables
   * @return the index table's name, with whatever the database needs after it
   */
  default String indexTableForRecordEntries(Tables t) {
    return t.index();
  }

  /** How {@link Queries#scanIndexes} answers several index queries ({@link #indexScansTogether}). */
  enum IndexScansTogether {
    /**
     * One statement: the {@code UNION ALL} of the queries' pages, each a derived table carrying its records
     * ({@link SqlText#scanIndexes}); one round trip.
     */
    UNITED_PAGES_WITH_RECORDS,
    /**
     * One statement: the {@code UNION ALL} of the queries' pages of index entries, each a derived table, and the
     * records joined to that union once; one round trip.
     */
    RECORDS_JOINED_TO_UNITED_PAGES,
    /** The queries one after the other, on one connection in one transaction: for a database in the JVM. */
    ONE_BY_ONE
  }

  /**
   * How several index queries are answered together (a claim reads its candidates so). PostgreSQL unites pages that
   * carry their records (the default). MariaDB materializes every derived table of a union, and one holding a
   * {@code TEXT} column ({@code value_json}) as an on-disk temporary table: a statement of 14 queries created 15 and
   * took 31 ms, against 3 ms for the 14 queries one by one and 2.4 ms with the records joined to united pages of
   * index entries, which stay in memory (MariaDB 10.11, 200 runs through the {@code mariadb} client on the tables of
   * {@code MariaDbModelProperties}). H2 and SQLite run in the JVM, so there is no round trip to save, and one
   * statement was the slower way: 4 queries took 460 to 600 µs together against 140 to 200 µs one by one on H2,
   * 520 to 580 against 360 to 380 on SQLite (a table of 60 tasks; {@code benchmarks/experiments/index-scans-together}).
   *
   * @return how to answer several index queries
   */
  default IndexScansTogether indexScansTogether() {
    return IndexScansTogether.UNITED_PAGES_WITH_RECORDS;
  }

  /**
   * @param t the tables
   * @return a statement run first in {@code createSchema()}'s transaction that serializes concurrent runs of the
   *     schema script until the transaction ends, or null if the database needs none
   */
  default String schemaLock(Tables t) {
    return null;
  }

  /**
   * Whether the database can wake other nodes' waiters when events commit ({@code NOTIFY} / {@code LISTEN}).
   * Pairs with {@link #notifyEvents} and {@link #eventChannel}; without it, waiters poll.
   *
   * @return true if commits notify
   */
  default boolean supportsNotify() {
    return false;
  }

  /**
   * @param t the tables
   * @return the statement that wakes other nodes' subscribers when a commit with events commits
   * @throws UnsupportedOperationException unless {@link #supportsNotify()}
   */
  default String notifyEvents(Tables t) {
    throw new UnsupportedOperationException(kind() + " has no notifications; waiters poll");
  }

  /**
   * @param t the tables
   * @return the notification channel {@link #notifyEvents} notifies
   * @throws UnsupportedOperationException unless {@link #supportsNotify()}
   */
  default String eventChannel(Tables t) {
    throw new UnsupportedOperationException(kind() + " has no notifications; waiters poll");
  }
}
