package io.kyros.collab;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Storage;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordination core for a team of workers: an ETag {@link #documents() document store},
 * {@link #leases() leases} with fencing, an append-only {@link #events() event log} and
 * {@link #tasks() tasks} claimed through leases, over a pluggable {@link Storage}.
 *
 * <pre>{@code
 * try (Collab collab = Collab.builder().storage(MemoryStorage.create()).build()) {
 *   Document d = collab.documents().create("orders", "42", Map.of("state", "new"));
 *   collab.documents().replace("orders", "42", Map.of("state", "paid"), d.etag());
 * }
 * }</pre>
 *
 * <p>Thread-safe; calls are synchronous. One instance per storage and identity is typical; several
 * instances (in one or many processes) on one storage coordinate through it. {@link #close()} stops
 * subscriptions and keep-alives; it does not close a storage passed to {@link Builder#storage}.
 */
public final class Collab implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Collab.class);
  private static final AtomicLong SCHEDULER_THREADS = new AtomicLong();

  private final Core core;
  private final Storage ownedStorage;
  private final Documents documents;
  private final Leases leases;
  private final EventLog events;
  private final Tasks tasks;
  private final Batches batches;
  private final Agents agents;
  private final Object schedulerLock = new Object();
  private KeepAlive.Schedulers schedulers;
  private volatile boolean closed;

  private Collab(Builder b) {
    Storage storage = b.storage;
    this.ownedStorage = storage == null ? MemoryStorage.create(b.clock == null ? Clock.systemUTC() : b.clock) : null;
    if (storage == null) {
      storage = ownedStorage;
    }
    this.core = new Core(storage, b.mapper == null ? new ObjectMapper() : b.mapper, new CoreSettings(
        b.holder == null ? defaultHolder() : b.holder, b.maxValueBytes, b.updateTimeout,
        b.workflow == null ? Workflow.kanban() : b.workflow, b.maxAttempts, b.retryBackoff, b.maxRetryBackoff,
        b.cacheSize, b.acquireRecheck));
    LeaseCommits leaseCommits = new LeaseCommits(core);
    this.leases = new Leases(core, leaseCommits, this::schedulers);
    this.documents = new Documents(core, leaseCommits, null);
    this.events = new EventLog(core);
    this.tasks = new Tasks(core, leaseCommits);
    this.batches = new Batches(core, events);
    this.agents = new Agents(core, leases, leaseCommits);
    LOG.debug("Collab started on {} as {}", storage.getClass().getSimpleName(), core.holder());
  }

  /** @return a new builder */
  public static Builder builder() {
    return new Builder();
  }

  /** @return the ETag document store */
  public Documents documents() {
    return documents;
  }

  /** @return leases with fencing */
  public Leases leases() {
    return leases;
  }

  /** @return the event log */
  public EventLog events() {
    return events;
  }

  /** @return tasks */
  public Tasks tasks() {
    return tasks;
  }

  /** @return batches of items run by worker pools under a concurrency limit and a failure policy */
  public Batches batches() {
    return batches;
  }

  /** @return the registry of agents (worker pools register themselves) */
  public Agents agents() {
    return agents;
  }

  /** @return what this instance's parts share, for rooms built on it (worker pools) */
  Core core() {
    return core;
  }

  /**
   * The storage's clock: the time that judges lease expiry (a lease is stale when
   * {@code now() > heartbeatAt + ttl}), stamps events and acquisitions, and against which
   * {@link Leases#releaseAt} instants are read. It is the database's clock on JDBC and the injected
   * {@link Builder#clock} on the default in-memory storage, not necessarily this JVM's; compute deadlines
   * for leases from it, not from {@link java.time.Instant#now()}. Delegates to {@link Storage#now()}.
   *
   * @return the storage's current time
   * @throws StorageException if the storage cannot tell it
   */
  public Instant now() {
    return core.storage().now();
  }

  /** @return this instance's holder identity, the actor of the events it records */
  public String holder() {
    return core.holder();
  }

  /**
   * Stops subscriptions and keep-alives (their holders are told the leases are lost, since nobody
   * renews them any more); closes the storage only if the builder created it. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    events.close();
    leases.shutdown();
    synchronized (schedulerLock) {
      if (schedulers != null) {
        schedulers.renewals().shutdownNow();
        schedulers.watchdogs().shutdownNow();
      }
    }
    if (ownedStorage != null) {
      ownedStorage.close();
    }
  }

  private KeepAlive.Schedulers schedulers() {
    synchronized (schedulerLock) {
      if (closed) {
        throw new IllegalStateException("Collab is closed");
      }
      if (schedulers == null) {
        // renewals may hang in the storage (a dead connection), on both their threads at once: the deadline checks
        // run on a thread of their own, which never touches the storage, so no hung renewal delays them
        schedulers = new KeepAlive.Schedulers(scheduler("collab-keepalive-", 2),
            scheduler("collab-keepalive-watch-", 1));
      }
      return schedulers;
    }
  }

  private static ScheduledExecutorService scheduler(String name, int threads) {
    ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(threads, r -> {
      Thread t = new Thread(r, name + SCHEDULER_THREADS.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    s.setRemoveOnCancelPolicy(true);
    return s;
  }

  /**
   * A holder identity unique per process: {@code host:pid:random}.
   *
   * @return the identity
   */
  static String defaultHolder() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException | SecurityException e) {
      host = "localhost";
    }
    long pid = ProcessHandle.current().pid();
    byte[] random = new byte[6];
    new SecureRandom().nextBytes(random);
    String id = host + ":" + pid + ":" + HexFormat.of().formatHex(random);
    return id.length() > Names.MAX_LABEL_LENGTH ? id.substring(id.length() - Names.MAX_LABEL_LENGTH) : id;
  }

  /**
   * Builds a {@link Collab}. Each option can be set once; unset options take the documented defaults.
   *
   * <p>Not thread-safe; use from one thread.
   */
  public static final class Builder {
    private Storage storage;
    private Clock clock;
    private ObjectMapper mapper;
    private String holder;
    private int maxValueBytes = 1 << 20;
    private boolean maxValueBytesSet;
    private Duration updateTimeout = Duration.ofSeconds(10);
    private boolean updateTimeoutSet;
    private Workflow workflow;
    private int maxAttempts = 3;
    private boolean maxAttemptsSet;
    private Duration retryBackoff = Duration.ofSeconds(1);
    private Duration maxRetryBackoff = Duration.ofMinutes(5);
    private boolean retryBackoffSet;
    private long cacheSize = 10_000;
    private boolean cacheSizeSet;
    private Duration acquireRecheck = Duration.ofSeconds(1);
    private boolean acquireRecheckSet;

    private Builder() {}

    private static void once(boolean alreadySet, String option) {
      if (alreadySet) {
        throw new IllegalStateException(option + " was already set");
      }
    }

    /**
     * The storage to run on. Default: a new {@link MemoryStorage} using {@link #clock(Clock)}.
     *
     * @param storage the storage
     * @return this builder
     * @throws IllegalStateException if already set, or if a clock was set (the storage owns its clock)
     */
    public Builder storage(Storage storage) {
      once(this.storage != null, "storage");
      if (clock != null) {
        throw new IllegalStateException("clock applies to the default in-memory storage only; give the storage its own clock");
      }
      this.storage = Objects.requireNonNull(storage, "storage");
      return this;
    }

    /**
     * The clock of the default in-memory storage, the single time source for lease expiry and
     * timestamps. A storage given to {@link #storage} brings its own clock (the database's on JDBC).
     *
     * @param clock the clock
     * @return this builder
     * @throws IllegalStateException if already set, or if a storage was set
     */
    public Builder clock(Clock clock) {
      once(this.clock != null, "clock");
      if (storage != null) {
        throw new IllegalStateException("clock applies to the default in-memory storage only; give the storage its own clock");
      }
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The mapper for typed access and converting values. Default: a plain {@code new ObjectMapper()}.
     *
     * @param mapper the mapper
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder objectMapper(ObjectMapper mapper) {
      once(this.mapper != null, "objectMapper");
      this.mapper = Objects.requireNonNull(mapper, "mapper");
      return this;
    }

    /**
     * This instance's identity: lease holder and event actor. Default: {@code host:pid:random},
     * unique per process.
     *
     * @param holder 1 to 300 characters without control characters
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder holder(String holder) {
      once(this.holder != null, "holder");
      this.holder = Names.requireLabel("holder", holder);
      return this;
    }

    /**
     * The largest canonical JSON value accepted (documents, tasks, event details). Default 1 MiB.
     *
     * @param bytes the limit, positive
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder maxValueBytes(int bytes) {
      once(maxValueBytesSet, "maxValueBytes");
      this.maxValueBytes = Names.requirePositive("maxValueBytes", bytes);
      maxValueBytesSet = true;
      return this;
    }

    /**
     * How long a contended read-modify-write keeps retrying before
     * {@link UpdateConflictException}. Default 10 seconds.
     *
     * @param timeout the deadline, positive
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder updateTimeout(Duration timeout) {
      once(updateTimeoutSet, "updateTimeout");
      this.updateTimeout = Names.requireBounded("updateTimeout", timeout);
      updateTimeoutSet = true;
      return this;
    }

    /**
     * The task workflow. Default {@link Workflow#kanban()}.
     *
     * @param workflow the workflow
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder workflow(Workflow workflow) {
      once(this.workflow != null, "workflow");
      this.workflow = Objects.requireNonNull(workflow, "workflow");
      return this;
    }

    /**
     * Default attempts before a task fails for good. Default 3.
     *
     * @param attempts positive
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder taskMaxAttempts(int attempts) {
      once(maxAttemptsSet, "taskMaxAttempts");
      this.maxAttempts = Names.requirePositive("taskMaxAttempts", attempts);
      maxAttemptsSet = true;
      return this;
    }

    /**
     * Backoff before a failed task is claimable again: {@code initial * 2^(attempts-1)}, at most
     * {@code max}. Default 1 second, at most 5 minutes.
     *
     * @param initial the first delay, positive
     * @param max the largest delay, at least {@code initial}
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder taskRetryBackoff(Duration initial, Duration max) {
      once(retryBackoffSet, "taskRetryBackoff");
      Names.requireBounded("initial", initial);
      Names.requireBounded("max", max);
      if (max.compareTo(initial) < 0) {
        throw new IllegalArgumentException("max must not be less than initial: " + max + " < " + initial);
      }
      this.retryBackoff = initial;
      this.maxRetryBackoff = max;
      retryBackoffSet = true;
      return this;
    }

    /**
     * How many parsed values to cache (by revision, so entries never go stale). Default 10,000.
     *
     * @param entries the maximum number of entries, zero to disable
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder valueCacheSize(long entries) {
      once(cacheSizeSet, "valueCacheSize");
      if (entries < 0) {
        throw new IllegalArgumentException("valueCacheSize must not be negative: " + entries);
      }
      this.cacheSize = entries;
      cacheSizeSet = true;
      return this;
    }

    /**
     * How often a waiting {@link Leases#acquire} re-reads the lease when nothing about it shows up in
     * the log (it always wakes on a release or reclaim event, and when the holder is due to expire).
     * Default 1 second.
     *
     * @param interval the longest time between re-checks, positive
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder acquireRecheck(Duration interval) {
      once(acquireRecheckSet, "acquireRecheck");
      this.acquireRecheck = Names.requireBounded("acquireRecheck", interval);
      acquireRecheckSet = true;
      return this;
    }

    /** @return the configured Collab */
    public Collab build() {
      return new Collab(this);
    }
  }
}
