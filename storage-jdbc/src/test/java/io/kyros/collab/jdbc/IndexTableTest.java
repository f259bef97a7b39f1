package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The index table ({@code collab_index}) on every database, through the SPI: entries replaced by a put and removed by
 * a delete in the commit's transaction, scans in byte-wise (key, id) order joined with the values committed with
 * them, nothing left by a commit that conflicts, commits of more entries than one round trip (PostgreSQL) or one
 * statement (elsewhere) carries, and a store of schema version 1 brought up to date by {@code createSchema()}.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class IndexTableTest {
  private static final String TASKS = "_tasks";
  private static final String LEASES = "_task-leases";

  private static Write put(String id, IndexEntry... entries) {
    return Write.put(new RecordKey(TASKS, id), "{\"id\":\"" + id + "\"}", "h-" + id, List.of(entries));
  }

  private static CommitResult commit(JdbcStorage storage, Write... writes) {
    return storage.commit(Commit.of(List.of(), List.of(writes), List.of()));
  }

  /** Every hit of a scan, read page by page. */
  private static List<IndexHit> scanAll(JdbcStorage storage, IndexQuery first) {
    List<IndexHit> out = new ArrayList<>();
    IndexQuery q = first;
    while (true) {
      List<IndexHit> page = storage.scanIndex(q);
      out.addAll(page);
      if (page.size() < q.limit()) {
        return out;
      }
      q = q.after(page.get(page.size() - 1));
    }
  }

  private static List<String> ids(List<IndexHit> hits) {
    return hits.stream().map(h -> h.record().key().id()).toList();
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void aPutReplacesItsEntriesADeleteRemovesThemAndScansOrderByteWise(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "idx_");
        JdbcStorage storage = db.builder().build()) {
      assertThat(storage.indexes()).isTrue();
      commit(storage, put("r1", new IndexEntry("ready", "b"), new IndexEntry("status", "queued")),
          put("r2", new IndexEntry("ready", "B")), put("r3", new IndexEntry("ready", "b")),
          put("r4", new IndexEntry("ready", "_x")), put("r5", new IndexEntry("ready", "~")),
          put("r6", new IndexEntry("status", "queued")));
      commit(storage, Write.put(new RecordKey("other", "r9"), "{}", "h", List.of(new IndexEntry("ready", "A"))));

      // byte order: 'B' 0x42 < '_' 0x5F < 'b' 0x62 < '~' 0x7E; a tie ("b") is broken by record id
      List<IndexHit> ready = storage.scanIndex(IndexQuery.first(TASKS, "ready", 10));
      assertThat(ids(ready)).containsExactly("r2", "r4", "r1", "r3", "r5");
      assertThat(ready).extracting(IndexHit::key).containsExactly("B", "_x", "b", "b", "~");
      assertThat(scanAll(storage, IndexQuery.first(TASKS, "ready", 2))).isEqualTo(ready);
      assertThat(scanAll(storage, IndexQuery.first(TASKS, "ready", 1))).isEqualTo(ready);
      assertThat(ids(storage.scanIndex(IndexQuery.first(TASKS, "ready", 10).until("b")))).containsExactly("r2", "r4",
          "r1", "r3");
      assertThat(ids(storage.scanIndex(IndexQuery.first(TASKS, "ready", 10).after(ready.get(2)))))
          .containsExactly("r3", "r5");
      for (IndexHit hit : ready) {
        StoredRecord stored = storage.read(hit.record().key()).orElseThrow();
        assertThat(hit.record()).isEqualTo(stored);
      }
      assertThat(ids(storage.scanIndex(IndexQuery.first("other", "ready", 10)))).containsExactly("r9");

      // a put replaces every entry of its record, a put without entries removes them, a delete too
      commit(storage, put("r1", new IndexEntry("status", "done")), put("r4"), Write.delete(new RecordKey(TASKS, "r3")));
      assertThat(ids(storage.scanIndex(IndexQuery.first(TASKS, "ready", 10)))).containsExactly("r2", "r5");
      List<IndexHit> status = storage.scanIndex(IndexQuery.first(TASKS, "status", 10));
      assertThat(status).extracting(IndexHit::key).containsExactly("done", "queued");
      assertThat(ids(status)).containsExactly("r1", "r6");
      assertThat(status.get(0).record().json()).isEqualTo("{\"id\":\"r1\"}");
      assertThat(status.get(0).record().revision()).isEqualTo(storage.read(new RecordKey(TASKS, "r1")).orElseThrow()
          .revision());
      assertThat(rows(db)).isEqualTo(5); // r2, r5 (ready), r1, r6 (status), r9
    }
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void aCommitThatConflictsChangesNoEntry(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "idx_");
        JdbcStorage storage = db.builder().build()) {
      commit(storage, put("a", new IndexEntry("ready", "1")));
      long revision = storage.read(new RecordKey(TASKS, "a")).orElseThrow().revision();

      CommitResult stale = storage.commit(Commit.of(List.of(Expectation.revision(new RecordKey(TASKS, "a"),
          revision + 100)), List.of(put("a", new IndexEntry("ready", "2")), put("b", new IndexEntry("ready", "0"))),
          List.of()));
      CommitResult taken = storage.commit(Commit.of(List.of(Expectation.absent(new RecordKey(TASKS, "a"))),
          List.of(put("a", new IndexEntry("status", "x"))), List.of()));

      assertThat(stale).isInstanceOf(CommitResult.Conflict.class);
      assertThat(taken).isInstanceOf(CommitResult.Conflict.class);
      assertThat(storage.scanIndex(IndexQuery.first(TASKS, "ready", 10))).extracting(IndexHit::key)
          .containsExactly("1");
      assertThat(storage.scanIndex(IndexQuery.first(TASKS, "status", 10))).isEmpty();

      // create-only: a record deleted and created again starts with only the new entries
      commit(storage, Write.delete(new RecordKey(TASKS, "a")));
      assertThat(storage.commit(Commit.of(List.of(Expectation.absent(new RecordKey(TASKS, "a"))),
          List.of(put("a", new IndexEntry("status", "y"))), List.of()))).isInstanceOf(CommitResult.Committed.class);
      assertThat(storage.scanIndex(IndexQuery.first(TASKS, "ready", 10))).isEmpty();
      assertThat(ids(storage.scanIndex(IndexQuery.first(TASKS, "status", 10)))).containsExactly("a");
    }
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void commitsOfMoreEntriesThanOneRoundTripCarriesApplyWhole(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "idx_");
        JdbcStorage storage = db.builder().build()) {
      // PostgreSQL: 3 entries each, 21,000 rows of 4 parameters, plus 35,000 for the writes, over several round trips;
      // the others send statements one at a time, of at most 100 records or entries: 700 records cover their chunks
      int size = kind == TestDatabase.Kind.POSTGRESQL ? 7_000 : 700;
      List<Write> created = new ArrayList<>(size);
      List<Write> updated = new ArrayList<>(size);
      List<Write> deleted = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        String id = String.format("t%05d", i);
        String key = String.format("%05d", size - i);
        created.add(put(id, new IndexEntry("a", key), new IndexEntry("b", "x"), new IndexEntry("c", id)));
        updated.add(put(id, new IndexEntry("a", id), new IndexEntry("d", "y")));
        deleted.add(Write.delete(new RecordKey(TASKS, id)));
      }

      assertThat(storage.commit(Commit.of(List.of(), created, List.of()))).isInstanceOf(CommitResult.Committed.class);
      List<IndexHit> a = scanAll(storage, IndexQuery.first(TASKS, "a", 1_000));
      assertThat(a).hasSize(size);
      assertThat(a.get(0).record().key().id()).isEqualTo(String.format("t%05d", size - 1));
      assertThat(scanAll(storage, IndexQuery.first(TASKS, "b", 999))).hasSize(size);
      assertThat(rows(db)).isEqualTo(3L * size);

      assertThat(storage.commit(Commit.of(List.of(), updated, List.of()))).isInstanceOf(CommitResult.Committed.class);
      assertThat(ids(scanAll(storage, IndexQuery.first(TASKS, "a", 1_000)))).isSorted().hasSize(size);
      assertThat(storage.scanIndex(IndexQuery.first(TASKS, "b", 10))).isEmpty();
      assertThat(scanAll(storage, IndexQuery.first(TASKS, "d", 2_000))).hasSize(size);
      assertThat(rows(db)).isEqualTo(2L * size);

      assertThat(storage.commit(Commit.of(List.of(), deleted, List.of()))).isInstanceOf(CommitResult.Committed.class);
      assertThat(rows(db)).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void createSchemaBringsAVersion1StoreUpToDate(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "idx_");
        JdbcStorage storage = db.builder().build()) {
      db.dropTables();
      db.execute(Schema.statements(kind.dialect.schemaResource(), Tables.of(db.prefix)).toArray(String[]::new));
      db.execute("INSERT INTO " + db.prefix + "collab_records (collection, id, revision, hash, value_json)"
          + " VALUES ('docs', 'old', 7, 'h', '{}')", "UPDATE " + db.prefix + "collab_meta SET last_revision = 7");

      storage.createSchema();

      assertThat(storage.read(new RecordKey("docs", "old")).orElseThrow().revision()).isEqualTo(7);
      CommitResult.Committed c = (CommitResult.Committed) commit(storage, put("new", new IndexEntry("ready", "k")));
      assertThat(c.revisions()).containsExactly(8L);
      assertThat(ids(storage.scanIndex(IndexQuery.first(TASKS, "ready", 10)))).containsExactly("new");
    }
  }

  /**
   * A page of an index costs its entries and one record lookup each, however many records the collection holds, also
   * on tables PostgreSQL has no statistics for (here: just created, never analyzed; the build machine runs without
   * autovacuum). Joined as a whole, the planner looked each record up by collection alone there and compared ids in a
   * join filter: a page of 8 from these 2,000 records read 243 buffers (the lateral lookup: 27). Counted with EXPLAIN
   * ANALYZE, with custom and with generic plans (the driver's prepared statements may use generic ones after five).
   */
  @ParameterizedTest
  @ValueSource(strings = {"auto", "force_generic_plan"})
  void aPageOfAnIndexReadsOneRecordPerEntryOnTablesWithoutStatistics(String planCacheMode) throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "idx_");
        JdbcStorage storage = db.builder().build()) {
      List<Write> writes = new ArrayList<>();
      for (int i = 0; i < 2_000; i++) {
        // keys in the opposite order of ids, so the first page holds the last records by id
        writes.add(put(String.format("t%05d", i), new IndexEntry("ready", String.format("%05d", 1_999 - i))));
      }
      commit(storage, writes.toArray(Write[]::new));
      String scan = new SqlText(Tables.of(db.prefix), JdbcDialect.POSTGRESQL.sql()).scanIndex;
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        s.execute("SET plan_cache_mode = " + planCacheMode);
        s.execute("PREPARE page(text, text, text, text, text, int) AS " + numbered(scan));
        ObjectMapper json = new ObjectMapper();
        for (int run = 0; run < 6; run++) { // under "auto", custom plans, then (from the sixth) maybe a generic one
          JsonNode plan = explain(s, json, "EXECUTE page('" + TASKS + "', 'ready', '~', '', '', 8)");
          assertThat(plan.get("Actual Rows").asLong()).isEqualTo(8);
          assertThat(buffers(plan)).as("buffers read for a page of 8 (run %d), plan: %s", run, plan).isLessThan(100);
        }
      }
    }
  }

  /**
   * Reading several records by key, and deleting their index entries, look at those records' rows only, however many
   * records the collection holds, also on tables PostgreSQL has no statistics for. Written as one condition {@code
   * (collection = ? AND id = ?) OR ...}, PostgreSQL pulled the collection common to every arm out of the OR and scanned
   * the collection's whole range of the key, filtering the ids (here 1,992 of the 2,000 records removed by the
   * filter): a claim commit's delete of the entries of 4 tasks read about 290 buffers among 500 tasks, a cost growing
   * with the collection. So reads are one lookup per key, and a delete names records of distinct collections only
   * ({@link IndexWrites#deletes}: 8 tasks and their 8 claim leases take 8 deletes of a task and a lease each). Checked
   * with EXPLAIN ANALYZE (no row removed by a filter, and a few buffers a record), with custom and with generic plans,
   * for 8 of 2,000 records of each of two collections with 2 entries each.
   */
  @ParameterizedTest
  @ValueSource(strings = {"auto", "force_generic_plan"})
  void readingSeveralRecordsAndDeletingTheirEntriesReadsAFewBuffersEachOnTablesWithoutStatistics(String planCacheMode)
      throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "idx_");
        JdbcStorage storage = db.builder().build()) {
      List<Write> writes = new ArrayList<>();
      for (int i = 0; i < 2_000; i++) {
        writes.add(put(String.format("t%05d", i), new IndexEntry("ready", String.format("%05d", i)),
            new IndexEntry("status", String.format("%05d", i))));
        writes.add(Write.put(new RecordKey(LEASES, String.format("t%05d", i)), "{}", "h",
            List.of(new IndexEntry("expires", String.format("%05d", i)), new IndexEntry("held", "x"))));
      }
      commit(storage, writes.toArray(Write[]::new));
      SqlText sql = new SqlText(Tables.of(db.prefix), JdbcDialect.POSTGRESQL.sql());
      int keys = 8;
      List<Write> rewritten = new ArrayList<>();
      for (int k = 0; k < keys; k++) {
        String id = String.format("t%05d", 250 * k + 7);
        rewritten.add(put(id));
        rewritten.add(Write.put(new RecordKey(LEASES, id), "{}", "h"));
      }
      List<List<RecordKey>> deletes = IndexWrites.replacing(rewritten, w -> false).deletes();
      assertThat(deletes).hasSize(keys).allSatisfy(d -> assertThat(d).extracting(RecordKey::collection)
          .containsExactly(TASKS, LEASES));
      StringBuilder values = new StringBuilder();
      for (int k = 0; k < keys; k++) {
        values.append(k == 0 ? "" : ", ").append("'").append(TASKS).append("', 't").append(String.format("%05d",
            250 * k + 7)).append("'");
      }
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        s.execute("SET plan_cache_mode = " + planCacheMode);
        s.execute("PREPARE records(" + "text, ".repeat(2 * keys - 1) + "text) AS "
            + numbered(sql.selectRecords(keys, SqlText.Columns.RECORD)));
        s.execute("PREPARE clear(text, text, text, text) AS " + numbered(sql.deleteIndexEntries(2)));
        ObjectMapper json = new ObjectMapper();
        for (int run = 0; run < 6; run++) { // under "auto", custom plans, then (from the sixth) maybe a generic one
          JsonNode read = explain(s, json, "EXECUTE records(" + values + ")");
          assertThat(read.get("Actual Rows").asLong()).isEqualTo(keys);
          assertThat(filteredOut(read)).as("rows filtered out reading %d records (run %d), plan: %s", keys, run, read)
              .isZero();
          assertThat(buffers(read)).as("buffers read for %d records (run %d), plan: %s", keys, run, read)
              .isLessThan(6L * keys);
          s.execute("BEGIN");
          long cleared = 0;
          for (List<RecordKey> d : deletes) {
            JsonNode delete = explain(s, json, "EXECUTE clear('" + d.get(0).collection() + "', '" + d.get(0).id()
                + "', '" + d.get(1).collection() + "', '" + d.get(1).id() + "')");
            assertThat(delete.get("Plans").get(0).get("Actual Rows").asLong()).isEqualTo(4);
            assertThat(filteredOut(delete)).as("rows filtered out deleting entries (run %d), plan: %s", run, delete)
                .isZero();
            cleared += buffers(delete);
          }
          s.execute("ROLLBACK");
          assertThat(cleared).as("buffers read deleting the entries of %d records (run %d)", 2 * keys, run)
              .isLessThan(12L * 2 * keys);
        }
      }
    }
  }

  /** The plan of {@code EXPLAIN (ANALYZE, BUFFERS)} of a statement. */
  private static JsonNode explain(Statement s, ObjectMapper json, String statement) throws Exception {
    try (ResultSet rs = s.executeQuery("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement)) {
      rs.next();
      return json.readTree(rs.getString(1)).get(0).get("Plan");
    }
  }

  /** The rows a plan's nodes read and then removed by a filter or a recheck, in all. */
  private static long filteredOut(JsonNode plan) {
    long n = plan.path("Rows Removed by Filter").asLong() + plan.path("Rows Removed by Index Recheck").asLong();
    for (JsonNode child : plan.path("Plans")) {
      n += filteredOut(child);
    }
    return n;
  }

  private static long buffers(JsonNode plan) {
    return plan.get("Shared Hit Blocks").asLong() + plan.get("Shared Read Blocks").asLong();
  }

  /** A statement's {@code ?} placeholders as {@code $1, $2, ...}, for PREPARE. */
  private static String numbered(String statement) {
    StringBuilder b = new StringBuilder();
    int n = 0;
    for (char ch : statement.toCharArray()) {
      if (ch == '?') {
        b.append('$').append(++n);
      } else {
        b.append(ch);
      }
    }
    return b.toString();
  }

  private static long rows(TestDatabase db) {
    try (Connection c = db.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + db.prefix + "collab_index")) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
