package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.EventListener;
import io.kyros.collab.Subscription;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Storage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
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
 * Append-to-delivery latency of push subscriptions: each operation appends one event with
 * {@code EventLog.append} and returns once a subscriber ({@code EventLog.subscribe} after the log's end, all
 * events) has received that very event. One benchmark thread; JMH's {@code SampleTime} percentiles (p50, p99) of
 * the samples are the tail latency.
 *
 * <p>A sample includes the whole append (on {@link Backend#FILE} and {@link Backend#FILE_OTHER_PROCESS} a durable
 * commit, so one journal {@code fsync}; on {@link Backend#POSTGRESQL} a transaction), the wake-up of the
 * subscription's thread, its read of the new event, the listener call, and the hand-back to the benchmark thread
 * ({@link LockSupport#unpark}, a few microseconds). A lost wake-up cannot hang the run: the benchmark thread waits at
 * most {@link #DELIVERY_TIMEOUT_SECONDS} seconds for each event and then fails with a message naming the event.
 *
 * <p>Its iterations, here and in the paired runner ({@code RoundSettings.STEADY_STATE_CLASSES}), are the steady
 * state's, 8 × 3 s of warm-up: a 99th percentile measured while the JIT still compiles is the compiler's (a
 * {@code FILE} fork's p99 fell from 6.2 ms in its first 2 s to under 1 ms after 10 to 12 s;
 * {@code benchmarks/experiments/file-tail-latency}).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 8, time = 3)
@Measurement(iterations = 3, time = 2)
@Fork(1)
@Threads(1)
@State(Scope.Benchmark)
public class TailLatencyBenchmark {
  /** How long the benchmark thread waits for one event to be delivered before it fails. */
  public static final long DELIVERY_TIMEOUT_SECONDS = 10;
  /** How long the subscriber process may take to start and subscribe. */
  private static final long START_TIMEOUT_SECONDS = 60;

  /** Where the log lives and where its subscriber runs. */
  public enum Backend {
    /** {@code MemoryStorage}, subscriber in this JVM. */
    MEMORY,
    /** {@code FileStorage} on the measured disk, durable ({@code FSYNC}), subscriber in this JVM. */
    FILE,
    /**
     * {@code FileStorage} as {@link #FILE}, but the subscriber is a child JVM ({@link TailSubscriberProcess}) with its
     * own {@code FileStorage} on the same directory, woken by file change notifications; it acknowledges each
     * event with a line on its stdout, which a reader thread here passes on. That pipe and thread hop add a few
     * microseconds (tens at worst on a busy machine) to each sample.
     */
    FILE_OTHER_PROCESS,
    /** {@code JdbcStorage} on PostgreSQL (fresh {@code bench_tail_} tables), subscriber in this JVM. */
    POSTGRESQL
  }

  /** Where the log lives and where its subscriber runs. */
  @Param
  public Backend backend;

  private final Acknowledgements acks = new Acknowledgements();
  private Path dir;
  private HikariDataSource pool;
  private Storage storage;
  private Collab collab;
  private Subscription subscription;
  private Process subscriber;
  private Thread ackReader;
  private ObjectNode details;

  /**
   * Opens a fresh store and subscribes after its last event, in this JVM or in a child JVM that has said it is
   * ready.
   *
   * @throws IOException if the subscriber process cannot be started
   * @throws InterruptedException if interrupted while waiting for it
   */
  @Setup(Level.Trial)
  public void open() throws IOException, InterruptedException {
    details = Payloads.eventDetails();
    switch (backend) {
      case MEMORY -> storage = MemoryStorage.create();
      case FILE, FILE_OTHER_PROCESS -> {
        dir = BenchDirs.fresh("tail");
        storage = FileStorage.open(dir);
      }
      case POSTGRESQL -> {
        pool = Postgres.pool("bench-tail", 4);
        storage = Postgres.freshStorage(pool, "bench_tail_");
      }
      default -> throw new IllegalStateException("unknown backend " + backend);
    }
    collab = Collab.builder().storage(storage).holder("bench").build();
    long after = collab.events().lastId();
    if (backend == Backend.FILE_OTHER_PROCESS) {
      startSubscriberProcess(after);
    } else {
      subscription = collab.events().subscribe(after, EventFilter.all(), new EventListener() {
        @Override
        public void onEvent(Event event) {
          acks.acknowledged(event.id());
        }

        @Override
        public void onError(Throwable error) {
          acks.failed(error);
        }
      });
    }
  }

  private void startSubscriberProcess(long after) throws IOException, InterruptedException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    subscriber = new ProcessBuilder(List.of(java.toString(), "-Xmx64m", "-cp", System.getProperty("java.class.path"),
        TailSubscriberProcess.class.getName(), dir.toString(), Long.toString(after)))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    CountDownLatch ready = new CountDownLatch(1);
    Process process = subscriber;
    ackReader = new Thread(() -> readAcknowledgements(process, ready), "tail-ack-reader");
    ackReader.setDaemon(true);
    ackReader.start();
    if (!ready.await(START_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the subscriber process did not report ready within " + START_TIMEOUT_SECONDS
          + " s (alive: " + process.isAlive() + ")");
    }
    acks.check();
  }

  /** Runs on the reader thread: the ready line, then one event id per line until the child's stdout ends. */
  private void readAcknowledgements(Process process, CountDownLatch ready) {
    try (BufferedReader in = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII))) {
      String line = in.readLine();
      if (!TailSubscriberProcess.READY.equals(line)) {
        throw new IllegalStateException("the subscriber process said " + line + " instead of "
            + TailSubscriberProcess.READY);
      }
      ready.countDown();
      while ((line = in.readLine()) != null) {
        acks.acknowledged(Long.parseLong(line));
      }
      acks.failed(new IllegalStateException("the subscriber process closed its stdout"));
    } catch (IOException | RuntimeException e) {
      acks.failed(e);
    } finally {
      ready.countDown();
    }
  }

  /**
   * Stops the subscription (or the subscriber process), closes the store and deletes its files.
   *
   * @throws InterruptedException if interrupted while waiting for the subscriber process to end
   */
  @TearDown(Level.Trial)
  public void close() throws InterruptedException {
    if (subscription != null) {
      subscription.close();
    }
    if (subscriber != null) {
      acks.closing();
      try {
        subscriber.getOutputStream().close(); // the child exits when its stdin ends
      } catch (IOException e) {
        // it is gone already
      }
      if (!subscriber.waitFor(5, TimeUnit.SECONDS)) {
        subscriber.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
      ackReader.join(TimeUnit.SECONDS.toMillis(5));
    }
    if (collab != null) {
      collab.close();
    }
    if (storage != null) {
      storage.close();
    }
    if (pool != null) {
      pool.close();
    }
    BenchDirs.delete(dir);
  }

  /**
   * Appends one event and waits until the subscriber has received it.
   *
   * @return the id of the delivered event
   */
  @Benchmark
  public long appendToDelivery() {
    long id = collab.events().append("bench.tail", "tails/1", details).id();
    acks.await(id, TimeUnit.SECONDS.toNanos(DELIVERY_TIMEOUT_SECONDS), backend);
    return id;
  }

  /**
   * The newest event id the subscriber has acknowledged, and the benchmark thread's bounded wait for one id. The
   * waiter publishes itself before checking, and the acknowledger publishes the id before unparking, so a wake-up
   * is never lost; the bound is there in case the subscriber itself loses one.
   */
  static final class Acknowledgements {
    private volatile long newest;
    private volatile Thread waiter;
    private volatile Throwable failure;
    private volatile boolean closing;

    void acknowledged(long id) {
      if (id > newest) {
        newest = id;
      }
      Thread w = waiter;
      if (w != null) {
        LockSupport.unpark(w);
      }
    }

    void failed(Throwable error) {
      if (closing) {
        return;
      }
      failure = error;
      Thread w = waiter;
      if (w != null) {
        LockSupport.unpark(w);
      }
    }

    void closing() {
      closing = true;
    }

    void check() {
      Throwable f = failure;
      if (f != null) {
        throw new IllegalStateException("the subscriber failed: " + f, f);
      }
    }

    void await(long id, long timeoutNanos, Backend backend) {
      waiter = Thread.currentThread();
      long deadline = System.nanoTime() + timeoutNanos;
      while (newest < id) {
        check();
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new IllegalStateException("event " + id + " was not delivered within "
              + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s on " + backend + " (newest delivered: " + newest
              + "): a lost wake-up in the subscription");
        }
        LockSupport.parkNanos(this, left);
      }
    }
  }
}
