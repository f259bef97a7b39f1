package io.kyros.collab.file;

import io.kyros.collab.StorageException;
import io.kyros.collab.file.Codec.Counters;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import java.io.IOException;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine behind every {@link FileStorage} opened on one directory in this JVM (one per
 * directory per JVM: see {@link StoreRegistry}). It opens the directory's files, recovers them, and
 * serves reads; commits go to its {@link GroupCommitWriter}. The parts, each one concern:
 *
 * <pre>
 * Store               open and close, reads, the locks         (this class)
 * StoreRegistry       one engine per directory per JVM
 * FormatFile          format.json
 * LockFile            collab.lock: the OS lock and the header
 * GroupCommitWriter   the writer thread: batch, check, journal, force, apply, hand back
 * Recovery            catch-up and replay of the journal
 * Applier             writing journaled commits to documents and segments
 * Checkpoints         forcing files, checkpoint.json, emptying the journal
 * EventWaiter         waiting for events: wake-ups, change notifications, polling
 * IndexFollower       the in-memory secondary index (RecordIndex): built on first use, following the journal
 * SavedIndex          index.saved: the index's cache on disk, saved when the engine stops
 * Journal, DocumentFiles, EventSegments   the files themselves
 * </pre>
 *
 * <p>Guarantees: a reader in this JVM sees each commit whole (the apply step excludes readers); a
 * document found damaged is read once more after the writer caught up with the journal (which
 * completes a document torn by a killed writer) before the damage is reported.
 *
 * <p>Locks, in the order they are taken:
 * <ol>
 *   <li>the registry's monitor (looking up and registering an engine only: never held while one opens or closes,
 *       see {@link StoreRegistry});</li>
 *   <li>{@link #writerLock}: held by the opening thread during recovery, then by the writer thread
 *       for every batch, and by the closing thread;</li>
 *   <li>the OS lock on {@code collab.lock} (cross-process), taken under the writer lock;</li>
 *   <li>{@link #visibility}: readers share it, the apply step takes it exclusively;</li>
 *   <li>the writer's lifecycle monitor and the waiter's monitor, never held while taking another.</li>
 * </ol>
 *
 * <p>Thread-safe.
 */
final class Store {
  private static final Logger LOG = LoggerFactory.getLogger(Store.class);
  private static final int SCAN_ATTEMPTS = 3;

  /** Options fixed per directory and JVM. */
  record Options(FileStorage.Durability durability, long segmentBytes, long checkpointBytes) {}

  private final Path root;
  private final Options options;
  private final ReentrantLock writerLock = new ReentrantLock();
  private final ReentrantReadWriteLock visibility = new ReentrantReadWriteLock();
  private final LockFile lockFile;
  private final Journal journal;
  private final DocumentFiles docs;
  private final EventSegments events;
  private final StoreCounters counters = new StoreCounters();
  private final Checkpoints checkpoints;
  private final Recovery recovery;
  private final EventWaiter waiter;
  private final IndexFollower index;
  private final GroupCommitWriter writer;

  private Store(Path root, Options options, FilePermissions permissions, LockFile lockFile, long segmentBytes,
      Journal.Writes journalWrites, Checkpoints.Threads threads) throws IOException {
    this.root = root;
    this.options = options;
    this.lockFile = lockFile;
    this.journal = new Journal(root.resolve(Journal.NAME), permissions, journalCapacity(options.checkpointBytes()),
        journalWrites);
    this.docs = new DocumentFiles(root.resolve("state"), permissions);
    this.events = new EventSegments(root.resolve("events"), segmentBytes, permissions);
    this.index = new IndexFollower(root, journal, docs, counters, visibility, permissions);
    Applier applier = new Applier(docs, events, visibility, index);
    this.checkpoints = new Checkpoints(root, permissions, journal, docs, events, lockFile, counters,
        options.checkpointBytes(), threads);
    this.recovery = new Recovery(root, lockFile, journal, docs, events, checkpoints, applier, counters);
    this.waiter = new EventWaiter(root, this::anyEventAfter);
    this.writer = new GroupCommitWriter(new GroupCommitWriter.Parts(root, options.durability(),
        options.checkpointBytes(), writerLock, lockFile, journal, docs, recovery, checkpoints, applier, counters,
        waiter, index));
  }

  /**
   * Opens a directory's files and recovers them, under the OS lock. Called by {@link StoreRegistry}.
   *
   * @param root the directory, a real path
   * @throws IOException if it cannot be opened or recovered
   */
  static Store open(Path root, Options options, Journal.Writes journalWrites, Checkpoints.Threads threads)
      throws IOException {
    // the opening thread works on the shared channels (the lock file, under the OS lock, and the journal): a set
    // interrupt status would close them at the first operation, dropping the lock mid-recovery; the open runs with it
    // cleared and keeps it, as a commit does
    boolean interrupted = Thread.interrupted();
    try {
      return openUninterrupted(root, options, journalWrites, threads);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static Store openUninterrupted(Path root, Options options, Journal.Writes journalWrites,
      Checkpoints.Threads threads) throws IOException {
    FilePermissions permissions = FilePermissions.ownerOnly(root.getFileSystem());
    Created created = new Created();
    for (Path d : List.of(root.resolve("state"), root.resolve("events"))) {
      try {
        Files.createDirectory(d, permissions.directory());
        created.add(d);
      } catch (FileAlreadyExistsException e) {
        if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
          throw new IOException("not a directory inside the store (a link or a file): " + d, e);
        }
      }
    }
    LockFile lockFile = created.keep(() -> LockFile.open(root, permissions));
    Store store = null;
    FileLock lock = null;
    boolean ok = false;
    try {
      lock = lockFile.lock();
      Path format = root.resolve(FormatFile.NAME);
      boolean newStore = !Files.exists(format, LinkOption.NOFOLLOW_LINKS);
      if (newStore && holdsData(root, lockFile)) {
        throw new CorruptFileException(format, 0, "missing, but the directory holds a store's files", null);
      }
      if (newStore) {
        Files.deleteIfExists(root.resolve(SavedIndex.NAME)); // left by an earlier store: not this one's index
      }
      long segmentBytes = created.track(format,
          () -> FormatFile.readOrCreate(root, options.segmentBytes(), options.durability(), permissions));
      Path journal = root.resolve(Journal.NAME);
      if (!Files.exists(journal, LinkOption.NOFOLLOW_LINKS) && holdsData(root, lockFile)) {
        throw new CorruptFileException(journal, 0, "missing: the store holds commits (a checkpoint of commits, events,"
            + " documents or a header with counters) but no journal; its entries since the last checkpoint are lost",
            null);
      }
      created.track(journal, () -> null);
      created.track(root.resolve(Checkpoints.NAME), () -> null);
      store = new Store(root, options, permissions, lockFile, segmentBytes, journalWrites, threads);
      store.recover();
      ok = true;
      return store;
    } finally {
      try {
        if (!ok) {
          // under the OS lock: a process waiting for it must not find (and commit into) a half-removed store
          closeQuietly(store, null);
          created.removeAfterFailedOpen(root);
        }
        if (lock != null && lock.isValid()) {
          lock.release();
        }
      } finally {
        if (!ok) {
          closeQuietly(null, lockFile);
        }
      }
    }
  }

  /**
   * @return whether the directory holds anything a store writes once it has committed: a checkpoint recording a commit,
   *     an event segment, a collection, or a lock header with counters
   */
  private static boolean holdsData(Path root, LockFile lockFile) throws IOException {
    // the first open writes a checkpoint with both counters at zero; a power cut can keep its directory entry and
    // lose the journal's, and such a checkpoint records no commit, so nothing can be lost with the journal; a
    // checkpoint that cannot be read counts as data (a missing one reads as zeros)
    try {
      if (Checkpoints.read(root).countedACommit()) {
        return true;
      }
    } catch (CorruptFileException e) {
      return true;
    }
    for (String sub : List.of("events", "state")) {
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(root.resolve(sub))) {
        if (entries.iterator().hasNext()) {
          return true;
        }
      }
    }
    Counters header = lockFile.readHeader();
    return header != null && header.countedACommit();
  }

  /** Recovers what a crashed process left and starts the writer thread. */
  private void recover() throws IOException {
    writerLock.lock();
    try {
      int removed = docs.removeStrayTemporaryFiles() + removeRootTemporaryFiles();
      recovery.catchUp(Recovery.Occasion.OPEN);
      if (removed > 0) {
        LOG.info("Removed {} temporary files left by interrupted writes in {}", removed, root);
      }
      counters.publish();
      writer.start();
      LOG.debug("Opened {} at revision {}, event {}", root, counters.revision(), counters.eventId());
    } finally {
      writerLock.unlock();
    }
  }

  private static void closeQuietly(Store store, LockFile lockFile) {
    List<AutoCloseable> parts = new ArrayList<>();
    if (store != null) {
      parts.addAll(List.of(store.checkpoints, store.journal, store.events::close));
    }
    if (lockFile != null) {
      parts.add(lockFile); // last: closing it drops the OS lock
    }
    for (AutoCloseable c : parts) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.debug("Closing after a failed open", e);
      }
    }
  }

  /** The journal is preallocated to the checkpoint size plus room for the batch that crosses it. */
  private static long journalCapacity(long checkpointBytes) {
    return checkpointBytes + Math.min(checkpointBytes, 1 << 20);
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
   * Stops the writer thread and closes the files; the lock file last, since closing it drops this
   * process's lock. Called by {@link StoreRegistry} when the last handle closes.
   */
  void close() {
    writer.stop();
    writerLock.lock();
    try {
      // each part closed whatever the one before did: a failure must not leave the lock file's channel open, which
      // a later open of the directory in this JVM would then share the lock with (and closing it late would drop it)
      closePart("the event waiter", waiter::close);
      closePart("the checkpoints", checkpoints::close);
      closePart("the journal", journal::close);
      closePart("the event segments", events::close);
      closePart("the lock file", lockFile::close);
    } finally {
      writerLock.unlock();
    }
  }

  private void closePart(String what, AutoCloseable part) {
    try {
      part.close();
    } catch (Exception e) {
      LOG.warn("Closing {} of {} failed", what, root, e);
    }
  }

  /**
   * Reads the lock header through this engine's channel on the lock file ({@link StoreRegistry#readLockHeader}), on
   * a thread of its own that nobody interrupts: an interrupt during a read closes a {@code FileChannel}
   * ({@code ClosedByInterruptException}), which would close the engine's lock file and drop this process's lock (a
   * cancelled health check, found by review). The caller waits without being interruptible; the read is 256 bytes.
   *
   * @return the header's bytes
   * @throws IOException if the read fails
   */
  byte[] lockHeaderBytes() throws IOException {
    CompletableFuture<byte[]> read = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try {
        read.complete(lockFile.headerBytes());
      } catch (Throwable e) {
        read.completeExceptionally(e);
      }
    }, "collab-file-lock-header-" + root.getFileName());
    reader.setDaemon(true);
    reader.start();
    try {
      return read.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw e;
    }
  }

  Path root() {
    return root;
  }

  Options options() {
    return options;
  }

  /** @return {journal forces, commits journaled} by this engine since it opened */
  long[] commitStatistics() {
    return writer.statistics();
  }

  /**
   * Commits atomically and durably (per the durability option) through the writer thread.
   *
   * @param clock the caller's clock, read inside the atomic section
   */
  CommitResult commit(Commit commit, Clock clock) {
    return writer.commit(commit, clock);
  }

  // -------------------------------------------------------------------------------------- reads
  // Every read runs through Interrupts.uninterrupted: it works on a thread whose interrupt status is set, as a commit
  // does, and keeps the status. Reads open channels of their own (documents, segments, the journal for
  // IndexFollower.fresh, checkpoint.json), never a shared one: an interrupt closes only the reader's channel.

  Optional<StoredRecord> read(RecordKey key, Clock clock) throws IOException {
    return Interrupts.uninterrupted(() -> readDocuments(() -> docs.read(key), clock));
  }

  /**
   * Lists one page of a collection. A damaged document is passed over with a warning naming its
   * file, after one catch-up with the journal (which completes a document torn by a killed writer);
   * reading it directly reports the damage.
   */
  List<StoredRecord> list(String collection, String afterId, int limit, Clock clock) throws IOException {
    return Interrupts.uninterrupted(() -> listPage(collection, afterId, limit, clock));
  }

  private List<StoredRecord> listPage(String collection, String afterId, int limit, Clock clock) throws IOException {
    DocumentFiles.Page page = underReadLock(() -> docs.list(collection, afterId, limit));
    if (!page.damaged().isEmpty()) {
      try {
        commit(GroupCommitWriter.CATCH_UP, clock);
        page = underReadLock(() -> docs.list(collection, afterId, limit));
      } catch (RuntimeException e) {
        LOG.warn("Catching up with the journal of {} before passing over damaged documents failed", root, e);
      }
    }
    for (CorruptFileException e : page.damaged()) {
      String name = e.file().getFileName().toString();
      LOG.warn("Listing passes over the damaged document {}/{} ({}): {}; reading it reports the damage,"
          + " FileStorage.removeDamaged removes it", collection, name.substring(0, name.length() - ".json".length()),
          e.file(), e.getMessage());
    }
    return page.records();
  }

  private <T> T underReadLock(DocumentRead<T> read) throws IOException {
    visibility.readLock().lock();
    try {
      return read.run();
    } finally {
      visibility.readLock().unlock();
    }
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
      commit(GroupCommitWriter.CATCH_UP, clock);
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

  /**
   * @return whether the document's file is damaged right now; for the writer thread (inside a
   *     commit's atomic section), so it neither catches up nor waits for the writer
   */
  boolean damaged(RecordKey key) {
    if (writer.writtenEarlierInBatch(key)) {
      return false; // deleted or re-created by a commit before this one in the batch: not the damaged document
    }
    try {
      docs.read(key);
      return false;
    } catch (CorruptFileException e) {
      return true;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Scans a secondary index; see {@link IndexFollower}. Catches up first when another process
   * journaled since the index's position, and again (up to {@value #SCAN_ATTEMPTS} passes) when a
   * hit's document is newer than its entry.
   */
  List<IndexHit> scanIndex(IndexQuery query, Clock clock) throws IOException {
    DocumentFiles.checkName(query.collection(), "collection");
    return Interrupts.uninterrupted(() -> scan(query, clock));
  }

  private List<IndexHit> scan(IndexQuery query, Clock clock) throws IOException {
    index.want();
    if (!index.fresh()) {
      commit(GroupCommitWriter.CATCH_UP, clock);
    }
    for (int attempt = 1; ; attempt++) {
      boolean last = attempt == SCAN_ATTEMPTS;
      IndexFollower.Scan scan = underReadLock(() -> index.scan(query, last));
      if (scan != null && (!scan.stale() || last)) {
        for (CorruptFileException e : scan.damaged()) {
          LOG.warn("Index scan of {}/{} passes over the damaged document {}: {}; reading it reports the damage,"
              + " FileStorage.removeDamaged removes it", query.collection(), query.index(), e.file(), e.getMessage());
        }
        return scan.hits();
      }
      if (scan == null && last) {
        throw new StorageException("the secondary index of " + root + " could not be built (see the log)");
      }
      commit(GroupCommitWriter.CATCH_UP, clock);
    }
  }

  /** @return the index's entries, for tests; null if it is not built */
  Map<String, Map<String, Map<String, Long>>> indexSnapshot() throws IOException {
    return underReadLock(index::snapshot);
  }

  /** @return how many times the index was built from the documents */
  long indexBuilds() {
    return index.builds();
  }

  /** @return how many times the index was taken from {@link SavedIndex} */
  long indexLoads() {
    return index.loads();
  }

  List<StoredEvent> readEvents(long afterId, int limit) throws IOException {
    return Interrupts.uninterrupted(() -> {
      visibility.readLock().lock();
      try {
        return events.read(afterId, limit);
      } finally {
        visibility.readLock().unlock();
      }
    });
  }

  long lastEventId() throws IOException {
    return Math.max(counters.published(), Interrupts.uninterrupted(events::lastId));
  }

  /**
   * Whether the log holds an event after {@code afterId}: this JVM's own published commits answer without touching a
   * file (a waiter woken by a commit here); only otherwise are the segment files looked at, for other processes'.
   */
  private boolean anyEventAfter(long afterId) throws IOException {
    // on the waiting caller's thread: an interrupted waiter looks at the log and then gets its InterruptedException
    // from the wait, instead of a StorageException(ClosedByInterruptException) from the look
    return counters.published() > afterId || Interrupts.uninterrupted(events::lastId) > afterId;
  }

  // ------------------------------------------------------------------------------------- waiting

  /** Wakes every thread waiting for events. */
  void wakeWaiters() {
    waiter.notifyAppended();
  }

  /**
   * Waits for an event after {@code afterId}; see {@link EventWaiter}.
   *
   * @param closed whether the caller's handle was closed meanwhile
   */
  boolean awaitEvents(long afterId, Duration timeout, Duration poll, BooleanSupplier closed)
      throws InterruptedException, IOException {
    return waiter.await(afterId, timeout, poll, closed);
  }
}
