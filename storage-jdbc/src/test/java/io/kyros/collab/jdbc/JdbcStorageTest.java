package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.params.provider.EnumSource;

/** The builder, dialect detection, the shipped schema, closing, and transparent retries. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class JdbcStorageTest {

  private static JdbcDataSource h2(String name, String options) {
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL("jdbc:h2:mem:" + name + ";DB_CLOSE_DELAY=-1" + options);
    ds.setUser("sa");
    return ds;
  }

  @Test
  void builderOptionsAreCheckedAndSetOnce() {
    assertThatThrownBy(() -> JdbcStorage.builder(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("dataSource");
    JdbcStorage.Builder b = JdbcStorage.builder(h2("builder", ""));
    assertThatThrownBy(() -> b.tablePrefix("Bad-")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tablePrefix must be empty or match");
    assertThatThrownBy(() -> b.tablePrefix("x; DROP TABLE y")).isInstanceOf(IllegalArgumentException.class);
    b.tablePrefix("ok_");
    assertThatThrownBy(() -> b.tablePrefix("again_")).isInstanceOf(IllegalStateException.class)
        .hasMessage("tablePrefix is already set");
    assertThatThrownBy(() -> b.retryTimeout(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("retryTimeout must not be negative");
    assertThatThrownBy(() -> b.pollInterval(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pollInterval must be positive");
    assertThatThrownBy(() -> b.clock(null)).isInstanceOf(NullPointerException.class).hasMessage("clock");
    try (JdbcStorage storage = b.build()) {
      assertThat(storage.dialect()).isEqualTo(JdbcDialect.H2);
      assertThat(storage.tablePrefix()).isEqualTo("ok_");
    }
  }

  @Test
  void dialectsAreDetectedFromTheMetadata() {
    assertThat(JdbcDialect.detect("PostgreSQL", "15.20")).isEqualTo(JdbcDialect.POSTGRESQL);
    assertThat(JdbcDialect.detect("MariaDB", "10.11.19-MariaDB-0+deb12u1")).isEqualTo(JdbcDialect.MARIADB);
    assertThat(JdbcDialect.detect("MySQL", "5.5.5-10.11.19-MariaDB")).isEqualTo(JdbcDialect.MARIADB);
    assertThat(JdbcDialect.detect("MySQL", "8.0.36")).isEqualTo(JdbcDialect.MYSQL);
    assertThat(JdbcDialect.detect("H2", "2.3.232 (2024-08-11)")).isEqualTo(JdbcDialect.H2);
    assertThat(JdbcDialect.detect("SQLite", "3.51.0")).isEqualTo(JdbcDialect.SQLITE);
    assertThat(JdbcDialect.detect("Oracle", "23ai")).isNull();
  }

  @ParameterizedTest
  @EnumSource(JdbcDialect.class)
  void everyDialectShipsItsSchemaWithThePrefixPlaceholder(JdbcDialect dialect) {
    List<String> statements = Schema.statements(dialect, Tables.of("app_"));
    // V1: three tables and the counter row; V3: the index table; PostgreSQL's V2: two sequences, moved past what exists
    boolean pg = dialect == JdbcDialect.POSTGRESQL;
    assertThat(statements).hasSize(pg ? 9 : 5).allSatisfy(s -> assertThat(s).doesNotContain("${").doesNotEndWith(";"));
    assertThat(String.join("\n", statements)).contains("app_collab_meta", "app_collab_records", "app_collab_events",
        "app_collab_index");
    assertThat(dialect.schemaResources()).hasSize(pg ? 3 : 2).first().isEqualTo(dialect.schemaResource());
    if (pg) {
      assertThat(String.join("\n", statements)).contains("app_collab_revision_seq", "app_collab_event_seq");
    }
  }

  @Test
  void createSchemaIsIdempotentAndTheStoreWorksAfterIt() {
    try (JdbcStorage storage = JdbcStorage.builder(h2("schema", "")).build()) {
      storage.createSchema();
      storage.createSchema();
      assertThat(storage.commit(Commit.of(List.of(), List.of(Write.put(new RecordKey("c", "a"), "{}", "h")),
          List.of(new NewEvent("e", "a", "t", "{}"))))).isInstanceOf(CommitResult.Committed.class);
      assertThat(storage.lastEventId()).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {30, 365L * 10_000})
  void aRetryTimeoutOfMonthsOrCenturiesStillCommits(long days) {
    // the lock wait sent to the database must stay within what it accepts (int milliseconds on H2 and
    // PostgreSQL), and toNanos() of centuries overflows: deadlines computed from it once wrapped into the past
    try (JdbcStorage storage = JdbcStorage.builder(h2("forever" + days, "")).retryTimeout(Duration.ofDays(days))
        .build()) {
      storage.createSchema();
      assertThat(storage.commit(Commit.of(List.of(), List.of(Write.put(new RecordKey("c", "a"), "{}", "h")),
          List.of(new NewEvent("e", "a", "t", "{}"))))).isInstanceOf(CommitResult.Committed.class);
    }
  }

  @Test
  void aMissingSchemaIsAStorageExceptionWithTheSqlState() {
    try (JdbcStorage storage = JdbcStorage.builder(h2("missing", "")).build()) {
      assertThatThrownBy(() -> storage.read(new RecordKey("c", "a"))).isInstanceOf(StorageException.class)
          .hasMessageContaining("JDBC read failed (SQLState 42S0").hasCauseInstanceOf(SQLException.class);
    }
  }

  @Test
  void aClosedStorageRefusesWorkAndWakesItsWaiters() throws Exception {
    JdbcStorage storage = JdbcStorage.builder(h2("closing", "")).build();
    storage.createSchema();
    CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
      try {
        return storage.awaitEvents(0, Duration.ofMinutes(5));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    storage.close();
    assertThatThrownBy(() -> waiter.get(1, TimeUnit.MINUTES)).hasCauseInstanceOf(StorageException.class);
    assertThatThrownBy(() -> storage.read(new RecordKey("c", "a"))).isInstanceOf(StorageException.class)
        .hasMessage("JdbcStorage is closed");
  }

  @Test
  void lockWaitsAreBoundedByTheRetryTimeout() throws Exception {
    JdbcDataSource ds = h2("locked", ";LOCK_TIMEOUT=50");
    AtomicInteger attempts = new AtomicInteger();
    try (JdbcStorage storage = JdbcStorage.builder(ds).retryTimeout(Duration.ofMillis(300)).build();
        JdbcStorage patient = JdbcStorage.builder(counting(ds, attempts)).dialect(JdbcDialect.H2)
            .retryTimeout(Duration.ofSeconds(30)).build();
        Connection holder = ds.getConnection()) {
      storage.createSchema();
      Commit commit = Commit.of(List.of(), List.of(), List.of(new NewEvent("e", "a", "t", "{}")));
      holder.setAutoCommit(false);
      try (Statement s = holder.createStatement()) {
        s.executeQuery("SELECT * FROM collab_meta WHERE id = 1 FOR UPDATE").close();
      }
      // the URL's LOCK_TIMEOUT=50 is replaced in each commit by what is left of the retry timeout
      assertThatThrownBy(() -> storage.commit(commit)).isInstanceOf(StorageException.class)
          .hasMessageContaining("could not be obtained within the retry timeout of 300 ms")
          .hasMessageContaining("rolled back");
      CompletableFuture<CommitResult> waiting = CompletableFuture.supplyAsync(() -> patient.commit(commit));
      Await.until("the patient commit's first attempt", () -> attempts.get() >= 1);
      holder.rollback(); // the lock goes away well inside the patient commit's retry timeout
      assertThat(waiting.get(1, TimeUnit.MINUTES)).isInstanceOf(CommitResult.Committed.class);
    }
  }

  /** @return the data source, counting connections borrowed: one per attempt */
  private static DataSource counting(DataSource ds, AtomicInteger borrowed) {
    return (DataSource) Proxy.newProxyInstance(DataSource.class.getClassLoader(), new Class<?>[] {DataSource.class},
        (proxy, method, args) -> {
          if (method.getName().equals("getConnection")) {
            borrowed.incrementAndGet();
          }
          try {
            return method.invoke(ds, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  /**
   * Under SERIALIZABLE, commits queued on the counter row's lock fail with SQLState 40001 once the holder commits;
   * they are retried, and every commit lands exactly once.
   */
  @Test
  void serializationFailuresOnPostgresAreRetriedTransparently() throws Exception {
    try (TestDatabase db = TestDatabase.open(TestDatabase.Kind.POSTGRESQL, "serial_", 8,
        c -> c.setTransactionIsolation("TRANSACTION_SERIALIZABLE"));
        JdbcStorage storage = db.builder().build()) {
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
          int thread = t;
          futures.add(pool.submit(() -> {
            for (int i = 0; i < 25; i++) {
              storage.commit(Commit.of(List.of(), List.of(Write.put(new RecordKey("s", thread + "-" + i), "{}", "h")),
                  List.of(new NewEvent("e", "a", "t", "{}"))));
            }
            return null;
          }));
        }
        for (Future<?> f : futures) {
          f.get(1, TimeUnit.MINUTES);
        }
      } finally {
        pool.shutdownNow();
      }
      assertThat(storage.lastEventId()).isEqualTo(200);
      assertThat(storage.readEvents(0, 1000)).hasSize(200);
      assertThat(storage.list("s", null, 1000)).hasSize(200);
    }
  }
}
