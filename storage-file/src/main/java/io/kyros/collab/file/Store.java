package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import io.kyros.collab.StorageException;
import io.kyros.collab.file.Codec.Counters;
import io.kyros.collab.file.Codec.JournalEntry;
import io.kyros.collab.file.Codec.JournalWrite;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.ClosedWatchServiceException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine behind every {@link FileStorage} opened on one directory in this JVM. There is exactly
 * one per directory per JVM because the operating system's file locks belong to the process: two
 * channels on the lock file in one JVM would not exclude each other, and closing either would drop
 * the lock. The registry of open engines is the one piece of static state in Collab, and exists for
 * that reason only.
 *
 * <p>Writers: commits queue up for the engine's writer thread, which takes every queued commit (group
 * commit), then the OS lock on {@code collab.lock}, catches up with what other processes did, checks
 * and journals the commits, forces the journal once for all of them, applies them to the document
 * and event files, records the new counters in the lock file's header and releases the lock. All
 * writes happen on that one thread, which nobody else can interrupt: interrupting a thread in the
 * middle of a {@link FileChannel} operation closes the channel, and closing the lock file's channel
 * would drop the process's lock. A caller waits for its commit without reacting to interrupts (the
 * commit may already be durable) and finds its interrupt status kept.
 *
 * <p>Readers take no OS lock and open their own channels; in this JVM they take a read lock that the
 * apply step excludes, so they see each commit whole.
 *
 * <p>Thread-safe.
 */
final class Store {
  private static final Logger LOG = LoggerFactory.getLogger(Store.class);
  /** Open engines by real path; guarded by itself. */
  private static final Map<Path, Store> OPEN = new HashMap<>();
  static final int HEADER_BYTES = 256;
  static final String LOCK_FILE = "collab.lock";
  static final String FORMAT_FILE = "format.json";
  static final String CHECKPOINT_FILE = "checkpoint.json";
  static final String JOURNAL_FILE = "journal.jsonl";
  static final int FORMAT_VERSION = 1;
  private static final int MAX_BATCH = 4096;

  private final Path root;
  private final StoreOptions options;
  private final FilePermissions permissions;
  /** Linux's boot id: a header written in this boot describes what is in the page cache. */
  private final String bootId;
  private final Object appended = new Object();
  /** Held by the opening thread during recovery, then by the writer thread for every batch. */
  private final ReentrantLock writerLock = new ReentrantLock();
  private final ReentrantReadWriteLock visibility = new ReentrantReadWriteLock();
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private static final Pending[] NONE = new Pending[0];
  /** Queued to stop the writer thread. */
  private static final Pending STOP = new Pending(null, null);
  /** A commit of nothing: running it makes the writer thread catch up with the journal. */
  private static final Commit CATCH_UP = Commit.of(List.of(), List.of(), List.of());
  private Thread writer;
  /** Guards {@link #stopped} together with adding to the queue. */
  private final Object lifecycle = new Object();
  /** Set once by the last release; guarded by {@link #lifecycle}. */
  private boolean stopped;
  private FileChannel lockChannel;
  private Journal journal;
  private DocumentFiles docs;
  private EventSegments events;
  private long segmentBytes;
  /** Counters as of the last time this JVM held the lock; guarded by writerLock. */
  private long revision;
  private long eventId;
  /** Whether this engine replayed the whole journal once (trusting the header from then on). */
  private boolean recovered;
  /**
   * What the journal's entries touched, as this engine journaled them since its last checkpoint;
   * complete only while {@link #touchedComplete} (no other process committed meanwhile), else the
   * checkpoint reads the journal. Guarded by writerLock.
   */
  private final Set<Path> touchedFiles = new HashSet<>();
  private final Set<Path> touchedDirectories = new HashSet<>();
  private long touchedFirstEvent = Long.MAX_VALUE;
  private boolean touchedComplete;
  /** Threads forcing document files at checkpoints; guarded by writerLock, shut down on close. */
  private ExecutorService forcePool;
  private volatile long knownEventId;
  /** Journal forces and commits journaled by this engine, for tests and diagnostics. */
  private volatile long forces;
  private volatile long journaled;
  private WatchService watcher;
  /** Guarded by OPEN. */
  private int references;

  private Store(Path root, StoreOptions options) {
    this.root = root;
    this.options = options;
    this.permissions = FilePermissions.ownerOnly(root.getFileSystem());
    this.bootId = readBootId();
  }

  /** Options fixed per directory and JVM. */
  record StoreOptions(FileStorage.Durability durability, long segmentBytes, long checkpointBytes) {}

  /**
   * Opens (or shares) the engine of a directory.
   *
   * @throws IOException if the directory cannot be opened or recovered
   * @throws IllegalStateException if it is open in this JVM with other options
   */
  static Store acquire(Path directory, StoreOptions options) throws IOException {
    synchronized (OPEN) {
      Path dir = directory.toAbsolutePath().normalize();
      if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(dir)) {
        Path parent = dir.getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        try {
          Files.createDirectory(dir, FilePermissions.ownerOnly(dir.getFileSystem()).directory());
        } catch (FileAlreadyExistsException raced) {
          // another process created it
        }
      }
      Path real = dir.toRealPath();
      if (!Files.isDirectory(real)) {
        throw new IOException("not a directory: " + real);
      }
      Store store = OPEN.get(real);
      if (store == null) {
        store = new Store(real, options);
        store.open();
        OPEN.put(real, store);
      } else if (!store.options.equals(options)) {
        throw new IllegalStateException("directory " + real + " is already open in this JVM with other options: "
            + store.options + " (asked: " + options + ")");
      }
      store.references++;
      return store;
    }
  }

  /**
   * Drops one reference; the last stops the writer thread and closes the files. The engine stays in
   * the registry until its channels are closed, so an open racing this close waits for it instead of
   * creating a second channel on the lock file (closing the old one would drop the new one's lock).
   */
  void release() {
    synchronized (OPEN) {
      if (--references > 0) {
        return;
      }
      synchronized (lifecycle) {
        stopped = true;
        queue.add(STOP);
      }
      boolean interrupted = false;
      while (writer.isAlive()) {
        try {
          writer.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      writerLock.lock();
      try {
        synchronized (appended) {
          if (watcher != null) {
            watcher.close();
          }
        }
        if (forcePool != null) {
          forcePool.shutdown();
        }
        journal.close();
        events.close();
        lockChannel.close(); // last: closing it drops this process's lock
      } catch (IOException e) {
        LOG.warn("Closing {} failed", root, e);
      } finally {
        writerLock.unlock();
        OPEN.remove(root);
      }
    }
    notifyAppended();
  }

  Path root() {
    return root;
  }

  /** @return {journal forces, commits journaled} by this engine since it opened */
  long[] commitStatistics() {
    return new long[] {forces, journaled};
  }

  // ------------------------------------------------------------------------------ open/recover

  private void open() throws IOException {
    Path state = root.resolve("state");
    Path eventsDir = root.resolve("events");
    for (Path d : List.of(state, eventsDir)) {
      try {
        Files.createDirectory(d, permissions.directory());
      } catch (FileAlreadyExistsException e) {
        if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
          throw new IOException("not a directory inside the store (a link or a file): " + d, e);
        }
      }
    }
    lockChannel = FileChannel.open(root.resolve(LOCK_FILE), Set.of(StandardOpenOption.CREATE,
        StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), permissions.file());
    boolean ok = false;
    writerLock.lock();
    FileLock lock = null;
    try {
      lock = lockChannel.lock();
      segmentBytes = readOrWriteFormat();
      journal = new Journal(root.resolve(JOURNAL_FILE), permissions, journalCapacity(options.checkpointBytes()));
      docs = new DocumentFiles(state, permissions);
      events = new EventSegments(eventsDir, segmentBytes, permissions);
      int removed = docs.removeStrayTemporaryFiles() + removeRootTemporaryFiles();
      catchUp(true);
      if (removed > 0) {
        LOG.info("Removed {} temporary files left by interrupted writes in {}", removed, root);
      }
      knownEventId = eventId;
      writer = new Thread(this::writeLoop, "collab-file-writer-" + root.getFileName());
      writer.setDaemon(true);
      writer.start();
      ok = true;
      LOG.debug("Opened {} at revision {}, event {}", root, revision, eventId);
    } finally {
      try {
        if (lock != null && lock.isValid()) {
          lock.release();
        }
      } finally {
        writerLock.unlock();
        if (!ok) {
          closeQuietly();
        }
      }
    }
  }

  private void closeQuietly() {
    if (forcePool != null) {
      forcePool.shutdown();
    }
    for (AutoCloseable c : new AutoCloseable[] {journal, lockChannel}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        LOG.debug("Closing after a failed open", e);
      }
    }
    try {
      if (events != null) {
        events.close();
      }
    } catch (IOException e) {
      LOG.debug("Closing after a failed open", e);
    }
  }

  /** @return the segment size of this directory, from {@code format.json} (written if new) */
  private long readOrWriteFormat() throws IOException {
    Path file = root.resolve(FORMAT_FILE);
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      byte[] bytes = Files.readAllBytes(file);
      com.fasterxml.jackson.databind.JsonNode node;
      try {
        node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(bytes);
      } catch (IOException e) {
        throw new CorruptFileException(file, 0, "invalid JSON: " + e.getMessage(), e);
      }
      if (node == null || !"collab-file".equals(node.path("format").asText())) {
        throw new CorruptFileException(file, 0, "not a Collab store (\"format\" is not \"collab-file\")", null);
      }
      int version = node.path("version").asInt(-1);
      if (version != FORMAT_VERSION) {
        throw new IOException("unsupported store format version " + version + " in " + file
            + " (this Collab reads version " + FORMAT_VERSION + ")");
      }
      long bytesPerSegment = node.path("segmentBytes").asLong(-1);
      if (bytesPerSegment <= 0) {
        throw new CorruptFileException(file, 0, "missing or invalid \"segmentBytes\"", null);
      }
      return bytesPerSegment;
    }
    String json = "{\"format\":\"collab-file\",\"version\":" + FORMAT_VERSION + ",\"segmentBytes\":"
        + options.segmentBytes() + "}\n";
    writeDurably(file, json.getBytes(UTF_8));
    return options.segmentBytes();
  }

  private int removeRootTemporaryFiles() throws IOException {
    int removed = 0;
    try (DirectoryStream<Path> temps = Files.newDirectoryStream(root, ".*.tmp")) {
      for (Path t : temps) {
        LOG.warn("Removing temporary file {} left by an interrupted write", t);
        Files.deleteIfExists(t);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Brings the files up to date with every journaled commit, including one a crashed process
   * journaled but did not finish applying. Called with both locks held.
   */
  private void catchUp(boolean opening) throws IOException {
    Counters header = readHeader();
    // one read of the journal at the header's offset: is it a line boundary, and does anything follow?
    int probe = header == null ? -1 : journal.probe(header.journal());
    boolean trusted = probe >= 0 && (bootId != null ? bootId.equals(header.boot()) : recovered);
    long from;
    if (trusted) {
      if (header.revision() != revision || header.eventId() != eventId) {
        touchedComplete = false; // another process committed since this engine last held the lock
      }
      revision = header.revision();
      eventId = header.eventId();
      from = header.journal();
      if (probe == 0 && !opening) {
        return;
      }
      if (probe > 0) {
        LOG.info("Completing commits of {} that a process journaled but did not finish (journal from byte {})",
            root, from);
      }
    } else {
      Counters checkpoint = readCheckpoint();
      revision = checkpoint.revision();
      eventId = checkpoint.eventId();
      from = 0;
      LOG.info("Recovering {}: replaying the journal", root);
    }
    if (!opening) {
      docs.removeStrayTemporaryFiles();
    }
    long logLast = events.repairTail();
    List<JournalEntry> entries = journal.readFrom(from);
    if (!entries.isEmpty()) {
      touchedComplete = false;
    }
    apply(entries, null, logLast);
    long lastJournaled = 0;
    for (JournalEntry e : entries) {
      revision = Math.max(revision, e.revision());
      lastJournaled = Math.max(lastJournaled, e.eventId());
    }
    // The log holds every committed event once the journal is replayed; a last line cut off as torn
    // was never a committed event the log can serve, and its id is handed out again.
    eventId = Math.max(logLast, lastJournaled);
    recovered = true;
    writeHeader(journal.end());
    if (!trusted) {
      checkpoint();
    } else if (opening) {
      journal.preallocate();
    }
  }

  /** The journal is preallocated to the checkpoint size plus room for the batch that crosses it. */
  private static long journalCapacity(long checkpointBytes) {
    return checkpointBytes + Math.min(checkpointBytes, 1 << 20);
  }

  // ------------------------------------------------------------------------------------ commit

  /** A commit waiting for the writer thread, which sets its outcome before counting down. */
  private static final class Pending {
    final Commit commit;
    final Clock clock;
    final CountDownLatch done = new CountDownLatch(1);
    volatile CommitResult result;
    volatile Throwable failure;
    /** Commits of the same batch this one's caller wakes once woken (set before {@link #done} opens). */
    Pending[] wakes = NONE;

    Pending(Commit commit, Clock clock) {
      this.commit = commit;
      this.clock = clock;
    }
  }

  /**
   * Commits atomically and durably (per the durability option); see {@link Store}. Waits without
   * reacting to interrupts, keeping the thread's interrupt status.
   *
   * @param commit the commit
   * @param clock the caller's clock, read inside the atomic section
   * @return the result
   */
  CommitResult commit(Commit commit, Clock clock) {
    Pending p = new Pending(commit, clock);
    synchronized (lifecycle) {
      if (stopped) {
        throw new StorageException("FileStorage is closed: " + root);
      }
      queue.add(p);
    }
    boolean interrupted = false;
    while (true) {
      try {
        p.done.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    for (Pending next : p.wakes) {
      next.done.countDown();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    Throwable failure = p.failure;
    if (failure instanceof CorruptFileException c) {
      throw c;
    } else if (failure instanceof StorageException s) {
      // a failure set by the writer thread carries its stack; wrap it to add the caller's
      throw new StorageException(s.getMessage(), s);
    } else if (failure instanceof RuntimeException r) {
      throw r;
    } else if (failure instanceof Error e) {
      throw e;
    } else if (failure != null || p.result == null) {
      throw new StorageException("commit in " + root + " ended without an outcome", failure);
    }
    return p.result;
  }

  /** The writer thread: one group commit for everything queued, until stopped. */
  private void writeLoop() {
    List<Pending> batch = new ArrayList<>();
    boolean stop = false;
    while (!stop) {
      try {
        batch.add(queue.take());
      } catch (InterruptedException e) {
        continue; // nobody interrupts this thread; keep serving
      }
      queue.drainTo(batch, MAX_BATCH - 1);
      stop = batch.remove(STOP);
      if (!batch.isEmpty()) {
        boolean appendedEvents = true;
        writerLock.lock();
        try {
          appendedEvents = runBatch(batch);
        } catch (Throwable t) {
          // never let the writer thread die: every commit still waiting gets the failure
          LOG.error("Commit batch in {} failed unexpectedly", root, t);
          for (Pending p : batch) {
            if (p.failure == null && !(p.result instanceof CommitResult.Conflict)) {
              p.result = null;
              p.failure = new StorageException("commit in " + root + " failed (outcome unknown: it may apply when the"
                  + " next commit or open replays the journal): " + t, t);
            }
          }
        } finally {
          writerLock.unlock();
          wakeAll(batch);
        }
        if (appendedEvents) {
          notifyAppended();
        }
      }
      batch.clear();
    }
    // commits queued after the stop (a handle racing its own close) fail cleanly
    for (Pending p; (p = queue.poll()) != null; ) {
      p.failure = new StorageException("FileStorage is closed: " + root);
      p.done.countDown();
    }
  }

  /**
   * Wakes the callers of a batch as a binary tree: the writer thread wakes the first, and each
   * woken caller wakes two more, so the writer is free for the next batch after one wake-up instead
   * of one per commit.
   */
  private static void wakeAll(List<Pending> batch) {
    int n = batch.size();
    for (int i = 0; i < n; i++) {
      int left = 2 * i + 1;
      if (left < n) {
        batch.get(i).wakes = left + 1 < n ? new Pending[] {batch.get(left), batch.get(left + 1)}
            : new Pending[] {batch.get(left)};
      }
    }
    if (n > 0) {
      batch.get(0).done.countDown();
    }
  }

  /** Runs one group commit. Called on the writer thread with the writer lock held. */
  private boolean runBatch(List<Pending> batch) {
    List<Pending> committed = new ArrayList<>();
    List<JournalEntry> entries = new ArrayList<>();
    List<List<byte[]>> eventObjects = new ArrayList<>();
    boolean anyEvents = false;
    FileLock lock = null;
    try {
      lock = lockChannel.lock();
      catchUp(false);
      long logLast = eventId;
      Map<RecordKey, Long> overlay = new HashMap<>();
      for (Pending p : batch) {
        if (p.commit == CATCH_UP) {
          p.result = new CommitResult.Committed(List.of(), List.of(), p.clock.instant());
          continue;
        }
        JournalEntry entry = prepare(p, overlay);
        if (entry != null) {
          committed.add(p);
          entries.add(entry);
          anyEvents |= !entry.events().isEmpty();
        }
      }
      if (!entries.isEmpty()) {
        long before = journal.end();
        try {
          ByteArrayOutputStream bytes = new ByteArrayOutputStream();
          for (JournalEntry e : entries) {
            List<byte[]> objects = Codec.eventObjects(e.events());
            eventObjects.add(objects);
            bytes.writeBytes(Codec.encodeEntry(e, objects));
          }
          journal.append(bytes.toByteArray());
          if (options.durability() == FileStorage.Durability.FSYNC) {
            journal.force();
            forces++; // only the writer thread writes it
          }
          journaled += entries.size();
        } catch (IOException e) {
          boolean undone = undoJournal(before, e);
          // conflicts in this batch may have been judged against commits that now never happened
          failAll(batch, undone ? "commit failed before it was durable; nothing was applied"
              : "commit failed while journaling and the journal could not be cut back (outcome unknown: it may"
              + " apply when the next commit or open replays the journal)", e);
          return false;
        }
        if (touchedComplete) {
          touch(entries);
        }
        try {
          apply(entries, eventObjects, logLast);
          writeHeader(journal.end());
          knownEventId = eventId;
        } catch (IOException | RuntimeException e) {
          fail(committed, "commit is durable in " + journal.file() + " but applying it failed; the next commit or open"
              + " in any process completes it", e);
          return anyEvents;
        }
        if (journal.end() >= options.checkpointBytes()) {
          try {
            checkpoint();
          } catch (IOException | RuntimeException e) {
            LOG.error("Checkpoint of {} failed; the journal is kept and the files are rewritten from it", root, e);
            try {
              writeHeader(0); // the next catch-up rewrites every document the journal holds
            } catch (IOException again) {
              LOG.error("Resetting the header of {} failed too", root, again);
            }
          }
        }
      }
      return anyEvents;
    } catch (IOException | RuntimeException e) {
      // conflicts judged so far may rest on commits of this batch that were never journaled
      failAll(batch, "commit failed in " + root + " (outcome unknown: it may apply when the next commit or open"
          + " replays the journal)", e);
      return anyEvents;
    } finally {
      if (lock != null) {
        try {
          lock.release();
        } catch (IOException e) {
          LOG.warn("Releasing the lock of {} failed", root, e);
        }
      }
    }
  }

  private boolean undoJournal(long size, IOException cause) {
    try {
      journal.undo(size);
      return true;
    } catch (IOException e) {
      cause.addSuppressed(e);
      return false;
    }
  }

  private static void failAll(List<Pending> pendings, String message, Exception cause) {
    for (Pending p : pendings) {
      p.result = null;
      p.failure = new StorageException(message + ": " + cause, cause);
    }
  }

  private static void fail(List<Pending> pendings, String message, Exception cause) {
    for (Pending p : pendings) {
      if (p.result == null && p.failure == null) {
        p.failure = new StorageException(message + ": " + cause, cause);
      } else if (p.result instanceof CommitResult.Committed) {
        p.result = null;
        p.failure = new StorageException(message + ": " + cause, cause);
      }
    }
  }

  /**
   * Checks a commit's expectations against the files and the commits before it in this batch, and
   * prepares its journal entry. Sets the pending's result (or failure) when it does not commit.
   */
  private JournalEntry prepare(Pending p, Map<RecordKey, Long> overlay) throws IOException {
    Commit commit = p.commit;
    Instant now;
    List<NewEvent> newEvents;
    List<Long> revisions = new ArrayList<>(commit.writes().size());
    try {
      now = p.clock.instant();
      for (Expectation e : commit.expectations()) {
        Long pending = overlay.get(e.key());
        long actual = pending != null ? pending : docs.revision(e.key());
        if (!e.isMetBy(actual, now)) {
          p.result = new CommitResult.Conflict(e, actual);
          return null;
        }
      }
      for (int i = 0; i < commit.writes().size(); i++) {
        revisions.add(revision + 1 + i);
      }
      newEvents = commit.eventsFor(revisions);
      for (Write w : commit.writes()) {
        docs.file(w.key()); // validates the names before anything is journaled
      }
    } catch (RuntimeException | Error e) {
      p.failure = e;
      return null;
    }
    List<JournalWrite> writes = new ArrayList<>(revisions.size());
    for (int i = 0; i < revisions.size(); i++) {
      Write w = commit.writes().get(i);
      writes.add(new JournalWrite(w.key(), revisions.get(i), w.json(), w.hash()));
      overlay.put(w.key(), w.isDelete() ? Expectation.ABSENT : revisions.get(i));
    }
    List<StoredEvent> stored = new ArrayList<>(newEvents.size());
    for (NewEvent e : newEvents) {
      stored.add(StoredEvent.of(e, eventId + 1 + stored.size(), now));
    }
    revision += revisions.size();
    eventId += stored.size();
    p.result = new CommitResult.Committed(revisions, stored, now);
    return new JournalEntry(revision, eventId, writes, stored);
  }

  /**
   * Writes journaled commits to the document and event files, in order. Events with ids up to
   * {@code logLast} are already in the log. Readers in this JVM wait until it is done.
   *
   * @param eventObjects each entry's events as encoded for the journal, or null to encode them here
   */
  private void apply(List<JournalEntry> entries, List<List<byte[]>> eventObjects, long logLast) throws IOException {
    if (entries.isEmpty()) {
      return;
    }
    List<byte[]> lines = new ArrayList<>(entries.size());
    List<Long> firstIds = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      JournalEntry entry = entries.get(i);
      List<byte[]> objects = eventObjects != null ? eventObjects.get(i) : Codec.eventObjects(entry.events());
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      long first = -1;
      for (int j = 0; j < objects.size(); j++) {
        StoredEvent e = entry.events().get(j);
        if (e.id() > logLast) {
          out.writeBytes(Lines.frame(objects.get(j)));
          first = first < 0 ? e.id() : first;
        }
      }
      lines.add(out.toByteArray());
      firstIds.add(first);
    }
    // Only the last write per key: the result is the same, and a document read by another process
    // during a replay never goes back to an older version.
    Map<RecordKey, JournalWrite> last = new LinkedHashMap<>();
    for (JournalEntry entry : entries) {
      for (JournalWrite w : entry.writes()) {
        last.remove(w.key());
        last.put(w.key(), w);
      }
    }
    visibility.writeLock().lock();
    try {
      for (JournalWrite w : last.values()) {
        if (w.isDelete()) {
          docs.delete(w.key());
        } else {
          docs.write(w.key(), Codec.encodeDocument(w.revision(), w.hash(), w.json()));
        }
      }
      events.append(lines, firstIds);
    } finally {
      visibility.writeLock().unlock();
    }
  }

  /**
   * Makes everything the journal holds durable in the document and event files, records the
   * counters in {@code checkpoint.json} and empties the journal. Called with both locks held.
   */
  private void checkpoint() throws IOException {
    // Forced whatever this JVM's durability: another process on the directory may rely on it.
    if (!touchedComplete) {
      clearTouched();
      touch(journal.readFrom(0)); // the journal's end stays where it is: reading it moves nothing
    }
    Set<Path> files = touchedFiles;
    Set<Path> dirs = touchedDirectories;
    long firstEvent = touchedFirstEvent;
    dirs.add(root.resolve("state"));
    dirs.add(root.resolve("events"));
    FilePermissions.forceFiles(files, forcePool());
    if (firstEvent != Long.MAX_VALUE) {
      FilePermissions.forceFiles(events.segmentsFrom(firstEvent), null);
    }
    for (Path d : dirs) {
      if (Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
        FilePermissions.forceDirectory(d);
      }
    }
    DocumentFiles.replace(root.resolve(CHECKPOINT_FILE), Codec.encodeCounters(revision, eventId, -1, null), true,
        permissions);
    FilePermissions.forceDirectory(root);
    // The header says "nothing applied" before the journal is cut: a crash in between replays the
    // whole journal (idempotent) instead of trusting an offset beyond the journal's end.
    writeHeader(0);
    journal.empty();
    clearTouched();
    touchedComplete = true;
    LOG.debug("Checkpoint of {} at revision {}, event {}", root, revision, eventId);
  }

  /** @return the threads that force files during checkpoints, started on first use */
  private ExecutorService forcePool() {
    if (forcePool == null) {
      AtomicInteger n = new AtomicInteger();
      forcePool = Executors.newFixedThreadPool(FilePermissions.FORCE_THREADS, r -> {
        Thread t = new Thread(r, "collab-file-force-" + root.getFileName() + "-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
    }
    return forcePool;
  }

  /** Records what journaled entries touch, for the next checkpoint. */
  private void touch(List<JournalEntry> entries) {
    for (JournalEntry e : entries) {
      for (JournalWrite w : e.writes()) {
        touchedFiles.add(docs.file(w.key()));
        touchedDirectories.add(docs.directoryOf(w.key()));
      }
      if (!e.events().isEmpty()) {
        touchedFirstEvent = Math.min(touchedFirstEvent, e.events().get(0).id());
      }
    }
  }

  private void clearTouched() {
    touchedFiles.clear();
    touchedDirectories.clear();
    touchedFirstEvent = Long.MAX_VALUE;
  }

  private Counters readCheckpoint() throws IOException {
    Path file = root.resolve(CHECKPOINT_FILE);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return new Counters(0, 0, -1, null);
    }
    Counters c = Codec.decodeCounters(bytes, bytes.length);
    if (c == null) {
      throw new CorruptFileException(file, 0, "not a checkpoint ({\"revision\":n,\"eventId\":n})", null);
    }
    return c;
  }

  /** Replaces a small file durably: temporary file, write, force, rename, force the directory. */
  private void writeDurably(Path file, byte[] content) throws IOException {
    boolean durable = options.durability() == FileStorage.Durability.FSYNC;
    DocumentFiles.replace(file, content, durable, permissions);
    if (durable) {
      FilePermissions.forceDirectory(root);
    }
  }

  /** The lock file's header: the counters and how much of the journal is applied, space padded. */
  private Counters readHeader() throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(HEADER_BYTES);
    while (buf.hasRemaining() && lockChannel.read(buf, buf.position()) > 0) {
      // fill
    }
    return buf.position() == 0 ? null : Codec.decodeCounters(buf.array(), buf.position());
  }

  private void writeHeader(long journalSize) throws IOException {
    byte[] json = Codec.encodeCounters(revision, eventId, journalSize, bootId == null ? "" : bootId);
    byte[] header = new byte[HEADER_BYTES];
    Arrays.fill(header, (byte) ' ');
    System.arraycopy(json, 0, header, 0, json.length);
    header[HEADER_BYTES - 1] = '\n';
    ByteBuffer buf = ByteBuffer.wrap(header);
    while (buf.hasRemaining()) {
      lockChannel.write(buf, buf.position());
    }
  }

  private static String readBootId() {
    Path file = Path.of("/proc/sys/kernel/random/boot_id");
    try {
      return Files.exists(file) ? new String(Files.readAllBytes(file), US_ASCII).trim() : null;
    } catch (IOException e) {
      return null;
    }
  }

  // -------------------------------------------------------------------------------------- reads

  Optional<StoredRecord> read(RecordKey key, Clock clock) throws IOException {
    return readDocuments(() -> docs.read(key), clock);
  }

  List<StoredRecord> list(String collection, String afterId, int limit, Clock clock) throws IOException {
    return readDocuments(() -> docs.list(collection, afterId, limit), clock);
  }

  /** Something that reads document files. */
  private interface DocumentRead<T> {
    T run() throws IOException;
  }

  /**
   * Reads documents under the visibility lock. A process killed while overwriting a document leaves
   * it torn; its journal line completes it at the next catch-up. So on a damaged document: catch up
   * now (through the writer thread) and read once more; still damaged means damaged.
   */
  private <T> T readDocuments(DocumentRead<T> read, Clock clock) throws IOException {
    CorruptFileException damaged;
    visibility.readLock().lock();
    try {
      return read.run();
    } catch (CorruptFileException e) {
      damaged = e;
      LOG.debug("Document unreadable; catching up with the journal before reading again", e);
    } finally {
      visibility.readLock().unlock();
    }
    try {
      commit(CATCH_UP, clock);
    } catch (RuntimeException e) {
      damaged.addSuppressed(e);
      throw damaged; // the damage is the answer; why it could not be repaired rides along
    }
    visibility.readLock().lock();
    try {
      return read.run();
    } finally {
      visibility.readLock().unlock();
    }
  }

  List<StoredEvent> readEvents(long afterId, int limit) throws IOException {
    visibility.readLock().lock();
    try {
      return events.read(afterId, limit);
    } finally {
      visibility.readLock().unlock();
    }
  }

  long lastEventId() throws IOException {
    long known = knownEventId;
    long seen = events.lastId();
    return Math.max(known, seen);
  }

  // ------------------------------------------------------------------------------------- waiting

  void notifyAppended() {
    synchronized (appended) {
      appended.notifyAll();
    }
  }

  /**
   * Waits for an event after {@code afterId}: woken by commits in this JVM, by the file system's
   * change notifications for other processes, and by polling every {@code poll} as the fallback.
   */
  boolean awaitEvents(long afterId, Duration timeout, Duration poll, BooleanSupplier closed)
      throws InterruptedException, IOException {
    startWatcher();
    long timeoutNanos = timeout.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : timeout.toNanos();
    long start = System.nanoTime();
    synchronized (appended) {
      while (true) {
        if (closed.getAsBoolean()) {
          throw new StorageException("FileStorage is closed: " + root);
        }
        if (lastEventId() > afterId) {
          return true;
        }
        long left = timeoutNanos - (System.nanoTime() - start);
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(appended, Math.min(left, poll.toNanos()));
      }
    }
  }

  private void startWatcher() {
    synchronized (appended) {
      synchronized (lifecycle) {
        if (watcher != null || stopped) {
          return;
        }
      }
      try {
        watcher = root.getFileSystem().newWatchService();
        root.resolve("events").register(watcher, StandardWatchEventKinds.ENTRY_MODIFY,
            StandardWatchEventKinds.ENTRY_CREATE);
      } catch (IOException | UnsupportedOperationException e) {
        LOG.info("No file change notifications for {} ({}); waiting for events polls", root, e.toString());
        return;
      }
      WatchService service = watcher;
      Thread t = new Thread(() -> {
        try {
          while (true) {
            var key = service.take();
            key.pollEvents();
            key.reset();
            notifyAppended();
          }
        } catch (InterruptedException | ClosedWatchServiceException e) {
          // closed with the store
        }
      }, "collab-file-watch-" + root.getFileName());
      t.setDaemon(true);
      t.start();
    }
  }
}
