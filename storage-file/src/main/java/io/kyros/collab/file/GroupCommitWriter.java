package io.kyros.collab.file;

import io.kyros.collab.StorageException;
import io.kyros.collab.file.JournalCodec.JournalEntry;
import io.kyros.collab.file.JournalCodec.JournalWrite;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The group-commit writer: the one thread per directory per JVM that writes. Callers queue their
 * commits and wait; the thread takes every commit queued so far (up to {@value #MAX_BATCH}), then
 * the OS lock, catches up with other processes ({@link Recovery}), checks each commit's
 * expectations, journals the batch with one write and forces the journal once (the commit point),
 * applies it ({@link Applier}), writes the lock header, releases the OS lock and hands the results
 * back; when the journal has grown past {@code checkpointBytes} it takes a checkpoint
 * ({@link Checkpoints}). Under the OS lock it also brings the in-memory index up to date with other
 * processes' commits ({@link IndexFollower}) before checking expectations.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>Atomic and durable per commit: a commit's result is {@code Committed} only once its journal
 *       line is forced (with {@link FileStorage.Durability#FSYNC}); a failure says whether the commit
 *       may still apply ("outcome unknown") or certainly did not.</li>
 *   <li>Only this thread touches the shared channels, and nobody interrupts it: interrupting a
 *       thread inside a {@link FileChannel} operation closes the channel, and a closed lock channel
 *       would drop the process's lock. A caller waits without reacting to interrupts (its commit may
 *       already be durable) and keeps its interrupt status.</li>
 *   <li>No interrupt status survives into a channel operation of this thread: the callers' code it runs (a commit's
 *       clock and event function) may set it, so it is cleared after each, and before each batch and its journal
 *       append. Nothing here uses the interrupt: the thread ignores it while it waits for commits, and {@link #stop()}
 *       queues {@link #STOP} (and sets {@link #stopped}) instead of interrupting, so a cleared status never loses a
 *       stop. Should an interrupt still arrive from elsewhere, the store does not stay broken: one that arrives while
 *       the thread waits for another process's OS lock does not end the wait ({@link LockFile#lock()} opens the file
 *       again and waits on); one that closes a channel during another step fails that batch (with the outcome its
 *       step gives), and the next batch opens the closed channel again ({@link LockFile#lock()},
 *       {@link Journal#reopenIfClosed()}, the event segments' writer).</li>
 *   <li>The thread never dies of a failure: every commit of a failed batch gets the failure.</li>
 *   <li>The thread wakes the first {@value #DIRECT_WAKES} callers of a batch itself; in a larger batch each of those
 *       wakes two more, and so on.</li>
 *   <li>A commit queued after {@link #stop()} fails with "closed" instead of waiting forever.</li>
 * </ul>
 *
 * <p>Locks: the thread holds the store's writer lock (a {@link ReentrantLock}, which orders it with
 * opening and closing) and the OS lock for each batch; {@link #lifecycle} guards the stopped flag
 * together with adding to the queue. Thread-safe.
 */
final class GroupCommitWriter {
  private static final Logger LOG = LoggerFactory.getLogger(GroupCommitWriter.class);
  private static final int MAX_BATCH = 4096;
  /** How many callers of a batch the writer thread wakes itself (see {@link #wakeAll}). */
  static final int DIRECT_WAKES = 64;
  /** How long a stopping engine waits for another process's OS lock to save its index before giving up. */
  static final long SAVE_LOCK_WAIT_MILLIS = 200;
  private static final Pending[] NONE = new Pending[0];
  /** Queued to stop the writer thread. */
  private static final Pending STOP = new Pending(null, null);
  /** A commit of nothing: running it makes the writer thread catch up with the journal. */
  static final Commit CATCH_UP = Commit.of(List.of(), List.of(), List.of());

  /** What the writer works with; all of it used under the writer lock only. */
  record Parts(Path root, FileStorage.Durability durability, long checkpointBytes, ReentrantLock writerLock,
      LockFile lockFile, Journal journal, DocumentFiles docs, Recovery recovery, Checkpoints checkpoints,
      Applier applier, StoreCounters counters, EventWaiter waiter, IndexFollower index) {}

  private final Parts parts;
  private final Path root;
  private final Journal journal;
  private final StoreCounters counters;
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Thread thread;
  /** Guards {@link #stopped} together with adding to the queue. */
  private final Object lifecycle = new Object();
  /** Set once by {@link #stop()}; guarded by {@link #lifecycle}. */
  private boolean stopped;
  /** Journal forces and commits journaled, for tests and diagnostics; written by the thread only. */
  private volatile long forces;
  private volatile long journaled;

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

  GroupCommitWriter(Parts parts) {
    this.parts = parts;
    this.root = parts.root();
    this.journal = parts.journal();
    this.counters = parts.counters();
    this.thread = new Thread(this::writeLoop, "collab-file-writer-" + root.getFileName());
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** @return {journal forces, commits journaled} since the store opened */
  long[] statistics() {
    return new long[] {forces, journaled};
  }

  /**
   * Commits atomically and durably (per the durability option). Waits without reacting to
   * interrupts, keeping the thread's interrupt status.
   *
   * @param commit the commit, or {@link #CATCH_UP}
   * @param clock the caller's clock, read inside the atomic section
   * @return the result
   * @throws StorageException if the store is closed or the commit failed
   */
  CommitResult commit(Commit commit, Clock clock) {
    // the values are checked here, on the caller's thread, not on the writer's, which every commit waits for; the
    // events' details only exist once the writer has given the commit its revisions (prepare)
    for (Write w : commit.writes()) {
      if (!w.isDelete()) {
        Codec.requireEmbeddable(w.json(), "the value of " + w.key());
      }
    }
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

  /** Stops the thread after the commits queued so far and waits for it, keeping the interrupt status. */
  void stop() {
    synchronized (lifecycle) {
      stopped = true;
      queue.add(STOP);
    }
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
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
        parts.writerLock().lock();
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
          parts.writerLock().unlock();
          wakeAll(batch);
        }
        if (appendedEvents) {
          parts.waiter().notifyAppended();
        }
      }
      batch.clear();
    }
    // commits queued after the stop (a handle racing its own close) fail cleanly
    for (Pending p; (p = queue.poll()) != null; ) {
      p.failure = new StorageException("FileStorage is closed: " + root);
      p.done.countDown();
    }
    saveIndex();
  }

  /**
   * Saves the secondary index as the engine stops ({@link IndexFollower#saveAtStop}), under the writer lock and the OS
   * lock, after catching up with a crashed process's journal tail as a batch does. The stop never waits long for
   * another process: if the OS lock is not free within {@value #SAVE_LOCK_WAIT_MILLIS} ms, nothing is saved. A failure
   * (an {@link Error} included: the thread is ending anyway) is logged; it only means the next engine builds the index
   * from the documents.
   */
  private void saveIndex() {
    if (!parts.index().built()) {
      return; // never scanned, or dropped: nothing to save, and no reason to take the OS lock
    }
    parts.writerLock().lock();
    FileLock lock = null;
    try {
      Thread.interrupted(); // as before a batch: a set status would close the lock file's channel
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SAVE_LOCK_WAIT_MILLIS);
      while ((lock = parts.lockFile().tryLock()) == null && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
      }
      if (lock == null) {
        LOG.info("Not saving the secondary index of {} as the store closes: another process holds the lock", root);
        return;
      }
      journal.reopenIfClosed();
      parts.recovery().catchUp(Recovery.Occasion.BATCH);
      parts.index().saveAtStop();
    } catch (IOException | RuntimeException | Error e) {
      LOG.warn("Cannot save the secondary index of {} as the store closes (the next engine builds it from the"
          + " documents): {}", root, e.toString());
    } finally {
      release(lock);
      parts.writerLock().unlock();
    }
  }

  /** Releases the OS lock if it was taken; a failure is logged (closing the lock file's channel drops it anyway). */
  private void release(FileLock lock) {
    if (lock != null) {
      try {
        lock.release();
      } catch (IOException e) {
        LOG.warn("Releasing the lock of {} failed", root, e);
      }
    }
  }

  /**
   * Wakes the callers of a batch. The writer thread wakes the first {@value #DIRECT_WAKES} itself, one after another,
   * and each of those wakes two of the rest when the batch is larger (a forest: caller {@code i} wakes callers
   * {@code DIRECT_WAKES + 2i} and {@code DIRECT_WAKES + 2i + 1}), so a batch of thousands does not keep the writer from
   * its next batch for thousands of wake-ups. Waking the usual batch directly matters: in a binary tree from the first
   * caller the last ones were woken three or four context switches late and queued their next commit after the writer
   * had started the next batch without them, which halved the batches of 16 appenders
   * (benchmarks/experiments/file-append-batches, section 3).
   */
  private static void wakeAll(List<Pending> batch) {
    int n = batch.size();
    for (int i = 0; DIRECT_WAKES + 2 * i < n; i++) {
      int first = DIRECT_WAKES + 2 * i;
      batch.get(i).wakes = first + 1 < n ? new Pending[] {batch.get(first), batch.get(first + 1)}
          : new Pending[] {batch.get(first)};
    }
    for (int i = 0; i < Math.min(n, DIRECT_WAKES); i++) {
      batch.get(i).done.countDown();
    }
  }

  /** The writes of the batch being prepared, by key; empty otherwise. Writer thread only. */
  private Map<RecordKey, Long> batchOverlay = Map.of();

  /**
   * Runs one group commit. Called on the writer thread with the writer lock held.
   *
   * @return whether any event was appended
   */
  private boolean runBatch(List<Pending> batch) {
    List<Pending> committed = new ArrayList<>();
    List<JournalEntry> entries = new ArrayList<>();
    List<List<byte[]>> eventObjects = new ArrayList<>();
    boolean anyEvents = false;
    FileLock lock = null;
    try {
      try {
        Thread.interrupted(); // a status set since the last batch would close the lock file's channel (see the class)
        lock = parts.lockFile().lock();
        Thread.interrupted(); // lock() keeps an interrupt that arrived during its wait; nothing here wants it
        journal.reopenIfClosed();
      } catch (IOException e) {
        failAll(batch, "commit failed in " + root + " before anything of it was written (it did not apply): the lock"
            + " file or the journal could not be locked or opened", e);
        return false;
      }
      parts.recovery().catchUp(Recovery.Occasion.BATCH);
      parts.index().catchUp(); // other processes' commits since this engine last held the lock
      long logLast = counters.eventId();
      Map<RecordKey, Long> overlay = new HashMap<>();
      batchOverlay = overlay;
      for (Pending p : batch) {
        if (p.commit == CATCH_UP) {
          try {
            p.result = new CommitResult.Committed(List.of(), List.of(), p.clock.instant());
          } finally {
            Thread.interrupted(); // the caller's clock ran on this thread (see the class)
          }
          continue;
        }
        JournalEntry entry = prepare(p, overlay);
        if (entry != null) {
          committed.add(p);
          entries.add(entry);
          anyEvents |= !entry.events().isEmpty();
        }
      }
      batchOverlay = Map.of();
      if (entries.isEmpty()) {
        return anyEvents;
      }
      long before = journal.end();
      try {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (JournalEntry e : entries) {
          List<byte[]> objects = Codec.eventObjects(e.events());
          eventObjects.add(objects);
          bytes.writeBytes(JournalCodec.encodeEntry(e, objects));
        }
        parts.index().beforeAppend(before + bytes.size());
        Thread.interrupted(); // an interrupt status would close the journal's channel for good (see the class)
        journal.append(bytes.toByteArray());
        if (parts.durability() == FileStorage.Durability.FSYNC) {
          journal.force();
          forces++; // only the writer thread writes it
        }
        journaled += entries.size();
      } catch (IOException e) {
        boolean undone = undoJournal(before, e);
        parts.index().appendFailed();
        // conflicts in this batch may have been judged against commits that now never happened
        failAll(batch, undone ? "commit failed before it was durable; nothing was applied"
            : "commit failed while journaling and the journal could not be cut back (outcome unknown: it may"
            + " apply when the next commit or open replays the journal)", e);
        return false;
      }
      parts.checkpoints().touch(entries);
      try {
        parts.applier().apply(entries, eventObjects, logLast);
        parts.lockFile().writeHeader(counters.revision(), counters.eventId(), journal.end());
        counters.publish();
        parts.index().appended();
      } catch (IOException | RuntimeException e) {
        parts.index().appendFailed();
        fail(committed, "commit is durable in " + journal.file() + " but applying it failed; the next commit or open"
            + " in any process completes it", e);
        return anyEvents;
      }
      if (journal.end() >= parts.checkpointBytes()) {
        checkpoint();
      } else {
        try {
          parts.checkpoints().forceEarly(journal.end());
        } catch (RuntimeException | OutOfMemoryError e) { // the error: no native thread for another forcing thread
          // the batch is durable and applied; what was not submitted stays for a later stage or the checkpoint
          LOG.warn("Starting early forces of {} failed; a later stage or the checkpoint forces those files", root, e);
        }
      }
      return anyEvents;
    } catch (IOException | RuntimeException e) {
      // conflicts judged so far may rest on commits of this batch that were never journaled
      failAll(batch, "commit failed in " + root + " (outcome unknown: it may apply when the next commit or open"
          + " replays the journal)", e);
      return anyEvents;
    } finally {
      release(lock);
    }
  }

  /** Takes a checkpoint; a failure keeps the journal and makes the next catch-up rewrite from it. */
  private void checkpoint() {
    try {
      parts.checkpoints().checkpoint();
      parts.index().checkpointed();
    } catch (IOException | RuntimeException | OutOfMemoryError e) { // the error: no native thread to force with
      LOG.error("Checkpoint of {} failed; the journal is kept and the files are rewritten from it", root, e);
      try {
        parts.lockFile().writeHeader(counters.revision(), counters.eventId(), 0);
      } catch (IOException again) {
        LOG.error("Resetting the header of {} failed too", root, again);
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
   * Whether a commit earlier in the batch being prepared writes {@code key}: its files do not show that yet, only the
   * batch's overlay does. Called on the writer thread only, from a commit's event source ({@link DamageRepair}: a
   * document a commit before it deleted or re-created is no longer the damaged one).
   *
   * @param key the record
   * @return true if the batch being prepared already writes it
   */
  boolean writtenEarlierInBatch(RecordKey key) {
    return batchOverlay.containsKey(key);
  }

  /**
   * Checks a commit's expectations against the files and the commits before it in this batch, and
   * prepares its journal entry. Sets the pending's result (or failure) when it does not commit.
   *
   * @return the entry, or null if the commit does not go ahead
   */
  private JournalEntry prepare(Pending p, Map<RecordKey, Long> overlay) throws IOException {
    Commit commit = p.commit;
    Instant now;
    List<NewEvent> newEvents;
    List<Long> revisions = new ArrayList<>(commit.writes().size());
    long revision = counters.revision();
    long eventId = counters.eventId();
    try {
      now = p.clock.instant();
      Thread.interrupted(); // before the expectations read documents: the clock may have set it (see the class)
      for (Expectation e : commit.expectations()) {
        Long pending = overlay.get(e.key());
        long actual = pending != null ? pending : parts.docs().revision(e.key());
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
        parts.docs().file(w.key()); // validates the names before anything is journaled
      }
      for (NewEvent e : newEvents) {
        Codec.requireEmbeddable(e.detailsJson(), "the details of event " + e.type());
      }
    } catch (RuntimeException | Error e) {
      p.failure = e;
      return null;
    } finally {
      // the caller's clock and event function ran on this thread; an interrupt status they set (code that caught an
      // InterruptedException and restored it) would make the next channel operation close its channel (see the class)
      Thread.interrupted();
    }
    List<JournalWrite> writes = new ArrayList<>(revisions.size());
    for (int i = 0; i < revisions.size(); i++) {
      Write w = commit.writes().get(i);
      writes.add(new JournalWrite(w.key(), revisions.get(i), w.json(), w.hash(), w.index()));
      overlay.put(w.key(), w.isDelete() ? Expectation.ABSENT : revisions.get(i));
    }
    List<StoredEvent> stored = new ArrayList<>(newEvents.size());
    for (NewEvent e : newEvents) {
      stored.add(StoredEvent.of(e, eventId + 1 + stored.size(), now));
    }
    counters.advance(revisions.size(), stored.size());
    p.result = new CommitResult.Committed(revisions, stored, now);
    return new JournalEntry(counters.revision(), counters.eventId(), writes, stored);
  }
}
