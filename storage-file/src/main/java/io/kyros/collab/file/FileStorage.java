package io.kyros.collab.file;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A {@link Storage} on a plain directory, shared by every thread and every process of one machine
 * that opens it. Documents are JSON files, the event log is checksummed JSON lines; the layout is
 * documented in {@code docs/file-format.md} and readable with {@code cat} and {@code jq}:
 *
 * <pre>
 * &lt;root&gt;/
 *   format.json                   {"format":"collab-file","version":2,"segmentBytes":67108864}
 *   collab.lock                   OS lock for writers; header: counters and applied journal bytes
 *   journal.jsonl                 write-ahead journal: one checksummed line per commit since the checkpoint,
 *                                 then zero bytes (preallocated, so forcing a line changes no file-system metadata)
 *   checkpoint.json               {"revision":r,"eventId":e} as of the last checkpoint
 *   state/&lt;collection&gt;/&lt;id&gt;.json   {"revision":r,"hash":"h","index":{"name":"key"},"value":...,"crc32c":"..."}  (ETag "r-h")
 *   events/&lt;first id&gt;.jsonl       {"id":n,"ts":"...","event":"...","actor":"...","target":"...","details":{...},"crc32c":"..."}
 * </pre>
 *
 * <p>Guarantees:
 * <ul>
 *   <li><b>Atomic</b>: a commit's documents and events are written from one journal line; after a
 *       crash at any instant (kill -9, power loss) the next commit or open replays it whole, or it
 *       was never acknowledged and leaves no trace;</li>
 *   <li><b>Durable</b> by default ({@link Durability#FSYNC}): a commit returns once its journal
 *       line is forced to disk; concurrent commits in one JVM share one force (group commit);</li>
 *   <li><b>Multi-process</b>: writers exclude each other with an OS lock on {@code collab.lock}
 *       (one channel per JVM, shared by every FileStorage on the directory) plus in-JVM locks;
 *       readers take no OS lock and never return a torn document (documents are overwritten in
 *       place under a checksum: a reader meeting one half written reads it again, and one left
 *       torn by a killed writer is completed from the journal);
 *       subscribers see other processes' events through file change notifications, with polling
 *       as the fallback;</li>
 *   <li><b>Recovering</b>: a torn last line is cut off; damage anywhere else is reported as a
 *       {@link CorruptFileException} naming the file and offset, and other records stay readable (a
 *       listing passes over a damaged document with a warning; {@link #removeDamaged} removes one);
 *       a missing journal or segment is reported, never forgotten: revisions and event ids never go
 *       below what a checkpoint, the lock header or a document records; {@link #check(Path)}
 *       verifies a whole store without changing it;</li>
 *   <li><b>Scaling</b>: writing a document touches only its file; reading events after a position
 *       finds it by binary search in the segment holding it; memory does not grow with the log;
 *       {@link #scanIndex} reads only its hits' documents, from an index kept in memory (about 0.5 KB
 *       per indexed record with two entries) and built from the documents on first use;</li>
 *   <li><b>Private</b>: new files are {@code 0600} and directories {@code 0700} on POSIX systems;
 *       names are validated before any path is built and links are not followed out of the root.</li>
 * </ul>
 *
 * <p>Within one JVM, readers see each commit whole. Across processes, a reader may see a commit's
 * documents a moment before its events; a tailing reader that sees an event can always read
 * documents at least that new.
 *
 * <p>Do not open {@code collab.lock} in a process that uses the store: closing any channel on it
 * releases the process's lock.
 *
 * <p>Thread-safe.
 */
public final class FileStorage implements Storage {
  /** Default size at which a new event segment starts: 64 MiB. */
  public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
  /** Default journal size that triggers a checkpoint: 4 MiB. */
  public static final long DEFAULT_CHECKPOINT_BYTES = 4L << 20;
  /** Default cross-process polling interval while waiting for events: 100 ms. */
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(100);

  /** How far a commit is on disk when it returns. */
  public enum Durability {
    /** The commit's journal line is forced to disk before the commit returns (the default). */
    FSYNC,
    /**
     * Nothing is forced: a commit survives a crash of its process (the data is in the operating
     * system's cache) but not a power loss or kernel crash. For tests and scratch data only.
     */
    NONE
  }


  private final Store store;
  private final Clock clock;
  private final Duration pollInterval;
  private volatile boolean closed;

  private FileStorage(Store store, Clock clock, Duration pollInterval) {
    this.store = store;
    this.clock = clock;
    this.pollInterval = pollInterval;
  }

  /**
   * Opens a directory with the default options, creating it if needed and recovering it if a
   * previous process crashed.
   *
   * @param root the store's directory
   * @return the storage
   * @throws NullPointerException if root is null
   * @throws StorageException if the directory cannot be opened or recovered
   * @throws CorruptFileException if recovery meets damage it must not skip
   */
  public static FileStorage open(Path root) {
    return builder(root).open();
  }

  /**
   * @param root the store's directory
   * @return a builder for a storage on that directory
   * @throws NullPointerException if root is null
   */
  public static Builder builder(Path root) {
    return new Builder(Objects.requireNonNull(root, "root"));
  }

  /**
   * Checks a whole store without changing anything: every document's checksum and hash, every event
   * line's checksum and id, the chain of segments, the journal, and that the counters cover every
   * revision and event id a file records. It takes no lock; whatever looks wrong while another process writes gets a
   * second look against the counters read again. Torn tails a crash leaves (never acknowledged, cut at the next open)
   * are not problems.
   *
   * <p>Run it in a process that does not have this store open: the OS lock on {@code collab.lock} belongs to the
   * process, and a checker in the same JVM has been seen to make it drop the lock while a commit held it (an open
   * bug), which would let another process write at the same time.
   *
   * @param root the store's directory
   * @return the report, listing each problem with its file and byte offset
   * @throws NullPointerException if root is null
   * @throws StorageException if a directory of the store cannot be listed
   */
  public static CheckReport check(Path root) {
    Objects.requireNonNull(root, "root");
    try {
      return Checker.check(root.toAbsolutePath().normalize());
    } catch (IOException | UncheckedIOException e) {
      throw new StorageException("checking " + root + " failed: " + e, e);
    }
  }

  /**
   * Removes a damaged document: the repair path for a document file that fails its checksum or is
   * not a valid document, which no API call can replace or delete (they read it first). The removal
   * is a commit like any other: journaled, given a revision, and recorded in the log as a
   * {@code document_deleted} event whose details name the damage ({@code "damage"}). Afterwards the
   * document is absent and can be created again.
   *
   * @param key the damaged document
   * @throws NullPointerException if key is null
   * @throws IllegalArgumentException if a name could not be a safe file name
   * @throws IllegalStateException if the document is readable (change it through the API) or absent, also when another caller repaired or replaced it before this removal commits
   * @throws StorageException if the storage is closed or the commit fails
   */
  public void removeDamaged(RecordKey key) {
    Objects.requireNonNull(key, "key");
    checkOpen();
    try {
      DamageRepair.remove(store, key, clock);
    } catch (IOException e) {
      throw failure("reading " + key, e);
    }
  }

  /** @return the store's directory, as a real path */
  public Path root() {
    return store.root();
  }

  /** @return {journal forces, commits journaled} by this directory's engine in this JVM */
  long[] commitStatistics() {
    return store.commitStatistics();
  }

  @Override
  public Instant now() {
    return clock.instant();
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException if a name could not be a safe file name
   * @throws CorruptFileException if the document's file is damaged
   * @throws StorageException if the storage is closed or the file cannot be read
   */
  @Override
  public Optional<StoredRecord> read(RecordKey key) {
    Objects.requireNonNull(key, "key");
    checkOpen();
    try {
      return store.read(key, clock);
    } catch (IOException e) {
      throw failure("reading " + key, e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>A damaged document does not fail the listing: it is passed over, with a warning naming its
   * file and key (reading it reports the damage; {@link #removeDamaged} removes it).
   *
   * @throws IllegalArgumentException if limit is not positive or a name could not be a file name
   * @throws StorageException if the storage is closed or the directory cannot be read
   */
  @Override
  public List<StoredRecord> list(String collection, String afterId, int limit) {
    Objects.requireNonNull(collection, "collection");
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive: " + limit);
    }
    checkOpen();
    try {
      return store.list(collection, afterId, limit, clock);
    } catch (IOException e) {
      throw failure("listing " + collection, e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * @return true: index entries are stored with the records and kept in memory (see {@link #scanIndex})
   */
  @Override
  public boolean indexes() {
    return true;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Answered from an index kept in memory per directory and JVM, built from the documents on first use
   * and kept current from the journal, including other processes' commits; only the hits' documents are
   * read. A commit acknowledged (in any process) before the scan starts is in its answer. A damaged
   * document is passed over, with a warning naming its file, as {@link #list} does.
   *
   * @throws NullPointerException if query is null
   * @throws IllegalArgumentException if the collection name could not be a file name
   * @throws StorageException if the storage is closed, or the index cannot be built or the files read
   */
  @Override
  public List<IndexHit> scanIndex(IndexQuery query) {
    Objects.requireNonNull(query, "query");
    checkOpen();
    try {
      return store.scanIndex(query, clock);
    } catch (IOException e) {
      throw failure("scanning index " + query.index() + " of " + query.collection(), e);
    }
  }

  /** @return this handle's engine, for tests that look at its index */
  Store store() {
    return store;
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException if a written name could not be a safe file name, or a written value or an
   *     event's details is not one JSON value on one line (documents, event lines and the journal embed it raw);
   *     nothing of the commit is written
   * @throws StorageException if the storage is closed or the files cannot be written; the message
   *     says whether the commit may still apply
   */
  @Override
  public CommitResult commit(Commit commit) {
    Objects.requireNonNull(commit, "commit");
    checkOpen();
    return store.commit(commit, clock);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Damage past the first event returned does not fail the read: it returns the events before
   * the damaged line, and the read that would return that line fails.
   *
   * @throws IllegalArgumentException if afterId is negative or limit not positive
   * @throws CorruptFileException if the first event it would return is damaged, or a segment is
   *     missing or empty where that event should be
   * @throws StorageException if the storage is closed or the log cannot be read
   */
  @Override
  public List<StoredEvent> readEvents(long afterId, int limit) {
    if (afterId < 0) {
      throw new IllegalArgumentException("afterId must not be negative: " + afterId);
    }
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive: " + limit);
    }
    checkOpen();
    try {
      return store.readEvents(afterId, limit);
    } catch (IOException e) {
      throw failure("reading events after " + afterId, e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * @throws StorageException if the storage is closed or the log cannot be read
   */
  @Override
  public long lastEventId() {
    checkOpen();
    try {
      return store.lastEventId();
    } catch (IOException e) {
      throw failure("reading the last event id", e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Commits in this JVM wake waiters at once; other processes' appends are seen through the
   * file system's change notifications, or at the latest after the poll interval.
   *
   * @throws StorageException if the storage is closed, also while waiting
   */
  @Override
  public boolean awaitEvents(long afterId, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout");
    checkOpen();
    try {
      return store.awaitEvents(afterId, timeout, pollInterval, () -> closed);
    } catch (IOException e) {
      throw failure("waiting for events", e);
    }
  }

  /** Closes this handle; the directory's files close with the last handle in the JVM. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    StoreRegistry.release(store);
  }

  @Override
  public String toString() {
    return "FileStorage[" + store.root() + "]";
  }

  private void checkOpen() {
    if (closed) {
      throw new StorageException("FileStorage is closed: " + store.root());
    }
  }

  private StorageException failure(String what, IOException e) {
    return new StorageException(what + " in " + store.root() + " failed: " + e, e);
  }

  /**
   * Builds a {@link FileStorage}. Each option may be set once. Not thread-safe.
   */
  public static final class Builder {
    private final Path root;
    private Clock clock;
    private Durability durability;
    private Duration pollInterval;
    private long segmentBytes;
    private long checkpointBytes;
    private Journal.Writes journalWrites = Journal.CHANNEL;
    private Checkpoints.Threads forcingThreads = Checkpoints.Threads.PLATFORM;

    private Builder(Path root) {
      this.root = root;
    }

    /**
     * @param clock the storage's clock: lease expiry and timestamps (default the system UTC clock)
     * @return this builder
     * @throws NullPointerException if clock is null
     * @throws IllegalStateException if already set
     */
    public Builder clock(Clock clock) {
      Objects.requireNonNull(clock, "clock");
      once(this.clock, "clock");
      this.clock = clock;
      return this;
    }

    /**
     * @param durability how far a commit is on disk when it returns (default {@link Durability#FSYNC})
     * @return this builder
     * @throws NullPointerException if durability is null
     * @throws IllegalStateException if already set
     */
    public Builder durability(Durability durability) {
      Objects.requireNonNull(durability, "durability");
      once(this.durability, "durability");
      this.durability = durability;
      return this;
    }

    /**
     * @param pollInterval how often a waiting subscriber checks for other processes' events when
     *     no change notification arrives (default 100 ms)
     * @return this builder
     * @throws NullPointerException if pollInterval is null
     * @throws IllegalArgumentException if not between 1 ms and 1 minute
     * @throws IllegalStateException if already set
     */
    public Builder pollInterval(Duration pollInterval) {
      Objects.requireNonNull(pollInterval, "pollInterval");
      if (pollInterval.compareTo(Duration.ofMillis(1)) < 0 || pollInterval.compareTo(Duration.ofMinutes(1)) > 0) {
        throw new IllegalArgumentException("pollInterval must be between 1 ms and 1 minute: " + pollInterval);
      }
      once(this.pollInterval, "pollInterval");
      this.pollInterval = pollInterval;
      return this;
    }

    /**
     * @param segmentBytes the size at which a new event segment starts, for a new directory (an
     *     existing one keeps the size in its {@code format.json}); default 64 MiB
     * @return this builder
     * @throws IllegalArgumentException if below 4 KiB
     * @throws IllegalStateException if already set
     */
    public Builder segmentBytes(long segmentBytes) {
      if (segmentBytes < 4096) {
        throw new IllegalArgumentException("segmentBytes must be at least 4096: " + segmentBytes);
      }
      once(this.segmentBytes == 0 ? null : this.segmentBytes, "segmentBytes");
      this.segmentBytes = segmentBytes;
      return this;
    }

    /**
     * @param checkpointBytes the journal size at which the files are forced and the journal emptied
     *     (default 4 MiB); smaller means faster recovery and more frequent forcing
     * @return this builder
     * @throws IllegalArgumentException if below 4 KiB
     * @throws IllegalStateException if already set
     */
    public Builder checkpointBytes(long checkpointBytes) {
      if (checkpointBytes < 4096) {
        throw new IllegalArgumentException("checkpointBytes must be at least 4096: " + checkpointBytes);
      }
      once(this.checkpointBytes == 0 ? null : this.checkpointBytes, "checkpointBytes");
      this.checkpointBytes = checkpointBytes;
      return this;
    }

    /** How the journal writes its preallocated zeros: the seam through which tests fill the disk. */
    Builder journalWrites(Journal.Writes writes) {
      this.journalWrites = Objects.requireNonNull(writes, "writes");
      return this;
    }

    /** How the threads that force files are made: the seam through which tests make starting one fail. */
    Builder forcingThreads(Checkpoints.Threads threads) {
      this.forcingThreads = Objects.requireNonNull(threads, "threads");
      return this;
    }

    /**
     * Opens the directory: creates it if needed, takes the writer lock briefly to recover whatever
     * a crashed process left (replaying the journal, cutting torn tails, removing temporary files).
     *
     * @return the storage
     * @throws StorageException if the directory cannot be opened or recovered
     * @throws CorruptFileException if recovery meets damage it must not skip
     * @throws IllegalStateException if the directory is open in this JVM with other durability,
     *     segment or checkpoint options
     */
    public FileStorage open() {
      Store.Options options = new Store.Options(
          durability == null ? Durability.FSYNC : durability,
          segmentBytes == 0 ? DEFAULT_SEGMENT_BYTES : segmentBytes,
          checkpointBytes == 0 ? DEFAULT_CHECKPOINT_BYTES : checkpointBytes);
      try {
        return new FileStorage(StoreRegistry.acquire(root, options, journalWrites, forcingThreads),
            clock == null ? Clock.systemUTC() : clock, pollInterval == null ? DEFAULT_POLL_INTERVAL : pollInterval);
      } catch (CorruptFileException e) {
        throw e;
      } catch (IOException | UncheckedIOException e) {
        throw new StorageException("opening " + root + " failed: " + e, e);
      }
    }

    private static void once(Object current, String name) {
      if (current != null) {
        throw new IllegalStateException(name + " is already set");
      }
    }
  }
}
