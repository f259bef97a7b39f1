package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.file.FileStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Durable event appends, 1 and 16 appender threads, each append its own call that returns once the event is on
 * disk, against the floor and two embedded databases in the same run.
 *
 * <ul>
 *   <li>{@link Target#COLLAB_FILE}: {@code EventLog.append} on the file backend ({@code Durability.FSYNC}): concurrent
 *       appends share journal forces (group commit).
 *   <li>{@link Target#RAW_FLOOR}: plain Java, one shared file opened for append; each append writes its line and
 *       calls {@code force} before returning (the per-append-fsync floor).
 *   <li>{@link Target#SQLITE}: xerial SQLite in WAL mode with {@code synchronous=FULL}, one {@code INSERT} of the same
 *       columns per append in auto-commit. SQLite has one writer at a time, so the threads share one connection
 *       behind a lock (the fastest way to use it from many threads; separate connections would only add busy
 *       waiting).
 *   <li>{@link Target#H2}: an embedded H2 file database, one auto-commit {@code INSERT} per append from a pool of 16
 *       connections. H2 as configured out of the box (MVStore) does not force each commit to disk, so it does less
 *       work per append than the others.
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
@State(Scope.Benchmark)
public class EventAppendBenchmark {

  /** What appends the events. */
  public enum Target {
    /** Collab's file storage, durable. */
    COLLAB_FILE,
    /** Append and force per event, in plain Java. */
    RAW_FLOOR,
    /** SQLite, WAL, synchronous=FULL. */
    SQLITE,
    /** H2, embedded file database. */
    H2
  }

  private static final String INSERT =
      "INSERT INTO events (ts, event_type, actor, target, details) VALUES (?, ?, ?, ?, ?)";

  /** What appends the events. */
  @Param
  public Target target;

  private Path dir;
  private Collab collab;
  private FileChannel floor;
  private Connection sqlite;
  private final ReentrantLock sqliteLock = new ReentrantLock();
  private HikariDataSource h2;
  private ObjectNode details;
  private String detailsJson;
  private byte[] line;

  /**
   * Opens a fresh store, file or database on the measured disk.
   *
   * @throws IOException if the floor's file cannot be opened
   * @throws SQLException if a database cannot be set up
   */
  @Setup(Level.Trial)
  public void open() throws IOException, SQLException {
    dir = BenchDirs.fresh("append");
    details = Payloads.eventDetails();
    detailsJson = details.toString();
    line = ("{\"id\":123456,\"ts\":\"2026-11-21T16:00:00.000000Z\",\"event\":\"build.step\",\"actor\":\"bench\","
        + "\"target\":\"builds/42\",\"details\":" + detailsJson + ",\"crc32c\":\"0a1b2c3d\"}\n")
        .getBytes(StandardCharsets.UTF_8);
    switch (target) {
      case COLLAB_FILE -> collab = Collab.builder().storage(FileStorage.open(dir)).holder("bench").build();
      case RAW_FLOOR -> floor = FileChannel.open(dir.resolve("events.jsonl"), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE, StandardOpenOption.APPEND);
      case SQLITE -> {
        sqlite = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("events.db"));
        try (Statement s = sqlite.createStatement()) {
          s.execute("PRAGMA journal_mode=WAL");
          s.execute("PRAGMA synchronous=FULL");
          s.execute("CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, "
              + "event_type TEXT NOT NULL, actor TEXT NOT NULL, target TEXT NOT NULL, details TEXT NOT NULL)");
        }
      }
      case H2 -> {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:h2:file:" + dir.resolve("events"));
        config.setMaximumPoolSize(16);
        config.setPoolName("h2-append");
        h2 = new HikariDataSource(config);
        try (Connection c = h2.getConnection(); Statement s = c.createStatement()) {
          s.execute("CREATE TABLE events (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ts BIGINT NOT NULL, "
              + "event_type VARCHAR NOT NULL, actor VARCHAR NOT NULL, target VARCHAR NOT NULL, details VARCHAR NOT NULL)");
        }
      }
      default -> throw new IllegalStateException("unknown target " + target);
    }
  }

  /**
   * Closes and deletes what {@link #open} made.
   *
   * @throws IOException if the floor's file cannot be closed
   * @throws SQLException if a database cannot be closed
   */
  @TearDown(Level.Trial)
  public void close() throws IOException, SQLException {
    if (collab != null) {
      collab.close();
    }
    if (floor != null) {
      floor.close();
    }
    if (sqlite != null) {
      sqlite.close();
    }
    if (h2 != null) {
      h2.close();
    }
    BenchDirs.delete(dir);
  }

  /**
   * @return what the append returned
   * @throws Exception if the append fails
   */
  @Benchmark
  @Threads(1)
  public Object oneAppender() throws Exception {
    return append();
  }

  /**
   * @return what the append returned
   * @throws Exception if the append fails
   */
  @Benchmark
  @Threads(16)
  public Object sixteenAppenders() throws Exception {
    return append();
  }

  private Object append() throws IOException, SQLException {
    switch (target) {
      case COLLAB_FILE:
        return collab.events().append("build.step", "builds/42", details);
      case RAW_FLOOR:
        floor.write(ByteBuffer.wrap(line));
        floor.force(false);
        return line;
      case SQLITE:
        sqliteLock.lock();
        try (PreparedStatement insert = sqlite.prepareStatement(INSERT)) {
          return insert(insert);
        } finally {
          sqliteLock.unlock();
        }
      case H2:
        try (Connection c = h2.getConnection(); PreparedStatement insert = c.prepareStatement(INSERT)) {
          return insert(insert);
        }
      default:
        throw new IllegalStateException("unknown target " + target);
    }
  }

  private Object insert(PreparedStatement insert) throws SQLException {
    insert.setLong(1, System.currentTimeMillis() * 1000);
    insert.setString(2, "build.step");
    insert.setString(3, "bench");
    insert.setString(4, "builds/42");
    insert.setString(5, detailsJson);
    return insert.executeUpdate();
  }
}
