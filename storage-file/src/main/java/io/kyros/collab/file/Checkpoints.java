package io.kyros.collab.file;

import io.kyros.collab.file.Codec.Counters;
import io.kyros.collab.file.JournalCodec.JournalEntry;
import io.kyros.collab.file.JournalCodec.JournalWrite;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints: making everything the journal holds durable in the document and event files, then
 * emptying the journal, so that it stays small and recovery replays little.
 *
 * <p>On-disk format of {@code checkpoint.json}, replaced durably (temporary file, write, force,
 * rename, force the root) at every checkpoint:
 *
 * <pre>
 * {"revision":40,"eventId":329,"crc32c":"5e6f7a8b"}\n
 *
 *   revision   the revision counter when the journal was last emptied
 *   eventId    the last event id handed out then
 *   crc32c     as in every framed line ({@link Lines}); one without it (an earlier version) is read as is
 * </pre>
 *
 * <p>Guarantees: a checkpoint forces every document file and directory the journal's entries
 * touched (up to {@link FilePermissions#FORCE_THREADS} at once), the event segments they appended
 * to, {@code state/} and {@code events/}, whatever the JVM's durability option (another process on
 * the directory may be {@code FSYNC}); only then does it write {@code checkpoint.json}, set the lock
 * header's applied offset to 0 and empty the journal. A crash at any point leaves either the old
 * journal (replayed, idempotent) or forced files and an empty journal.
 *
 * <p>What the journal touched is remembered from this engine's own commits since its last
 * checkpoint, and from the journal as the store opens ({@link #adopt}); after a replay of other
 * processes' entries, a failed checkpoint or another process's commit ({@link #forget()}), the next
 * checkpoint reads the journal instead.
 *
 * <p>Early forces: while it remembers, the journal is cut into {@link #EARLY_STAGES} stages of
 * equal size. When a stage ends ({@link #forceEarly}), the files written in the stage before it but
 * not in it are cut into up to {@link FilePermissions#FORCE_THREADS} parts, forced at once by as many
 * background threads while commits go on (the disk serves many forces per flush: forced one after
 * another, they slowed commits down by more); a file written in every stage (a hot document) waits
 * for the checkpoint and is forced once. A checkpoint takes back the parts no thread has started
 * (their files are forced with the rest, in parallel), waits for the others (and fails if one
 * failed) and forces the files of the last two stages. Every file the journal touched is so forced
 * after its last write, as without early forces: a file written again is in a later stage's set.
 * What it changes is when the work happens: random writes over many documents touch thousands of
 * distinct files per checkpoint, and forcing them all at the threshold held up every commit
 * (measured in {@code docs/file-format.md}, "Commit protocol", step 7: the slowest write on 100,000
 * documents went from 145&ndash;171 ms to 38&ndash;60 ms; forcing a stage's files at once instead
 * of one after another, 2,510 instead of 2,191 writes a second).
 *
 * <p>Locks: every method runs with the store's writer lock and OS lock held. Not thread-safe on its
 * own.
 */
final class Checkpoints implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);
  static final String NAME = "checkpoint.json";

  private final Path root;
  private final FilePermissions permissions;
  private final Journal journal;
  private final DocumentFiles docs;
  private final EventSegments events;
  private final LockFile lockFile;
  private final StoreCounters counters;
  /** What the journal's entries touched, complete only while {@link #touchedComplete}. */
  private final Set<Path> touchedFiles = new HashSet<>();
  private final Set<Path> touchedDirectories = new HashSet<>();
  private long touchedFirstEvent = Long.MAX_VALUE;
  private boolean touchedComplete;
  /** The files written in the current stage. */
  private Set<Path> current = new HashSet<>();
  /** The files written in the previous stage and not forced since: forced early unless written again in this one. */
  private Set<Path> previous = new HashSet<>();
  /** Early forces under way or done since the journal was last emptied. */
  private final List<EarlyForce> earlyForces = new ArrayList<>();
  /** The journal size at which the next early force starts. */
  private long nextEarly;
  private final long stageBytes;
  /**
   * A part of one stage's early force: its files, forced one after another by an early thread once
   * it claims them, unless the checkpoint claimed them first.
   */
  private record EarlyForce(List<Path> files, AtomicBoolean claimed, Future<?> future) {}

  /** Threads forcing document files, started on first use, shut down (and awaited) on close. */
  private ExecutorService forcePool;
  /** The threads of the early forces, started on first use, shut down (and awaited) on close. */
  private ExecutorService earlyPool;

  private final Threads threads;

  /** How the forcing threads are made: the seam through which tests make starting one fail. */
  @FunctionalInterface
  interface Threads {
    /** New platform threads. */
    Threads PLATFORM = Thread::new;

    /**
     * @param task what the thread runs
     * @param name its name
     * @return a new thread, not started
     */
    Thread newThread(Runnable task, String name);
  }

  /** Early forces start at each of this many equal parts of the checkpoint threshold. */
  static final int EARLY_STAGES = 16;

  /**
   * @param checkpointBytes the journal size at which {@link #checkpoint()} is taken: early forces
   *     start at each {@link #EARLY_STAGES}th of it
   * @param threads how the forcing threads are made ({@link Threads#PLATFORM} but in tests)
   */
  Checkpoints(Path root, FilePermissions permissions, Journal journal, DocumentFiles docs, EventSegments events,
      LockFile lockFile, StoreCounters counters, long checkpointBytes, Threads threads) {
    this.threads = threads;
    this.stageBytes = Math.max(1, checkpointBytes / EARLY_STAGES);
    this.nextEarly = stageBytes;
    this.root = root;
    this.permissions = permissions;
    this.journal = journal;
    this.docs = docs;
    this.events = events;
    this.lockFile = lockFile;
    this.counters = counters;
  }

  /**
   * @param root the store's directory
   * @return the counters of {@code checkpoint.json}, or zeros if there is none
   * @throws CorruptFileException if it cannot be parsed
   */
  static Counters read(Path root) throws IOException {
    Path file = root.resolve(NAME);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return new Counters(0, 0, -1, null);
    }
    int end = bytes.length;
    while (end > 0 && Character.isWhitespace(bytes[end - 1])) {
      end--;
    }
    if (Lines.isFramed(bytes, 0, end) && !Lines.verify(bytes, 0, end)) {
      throw new CorruptFileException(file, 0, "checksum mismatch (crc32c) in the checkpoint", null);
    }
    Counters c = Codec.decodeCounters(bytes, end);
    if (c == null) {
      throw new CorruptFileException(file, 0, "not a checkpoint ({\"revision\":n,\"eventId\":n})", null);
    }
    return c;
  }

  /** Records what newly journaled entries touch, while this engine knows all the journal holds. */
  void touch(List<JournalEntry> entries) {
    if (!touchedComplete) {
      return;
    }
    record(entries);
  }

  /**
   * Ends the current stage if the journal has grown past it: starts forcing the files written in
   * the previous stage but not in this one. Call it after the entries passed to {@link #touch} are
   * applied.
   *
   * @param journalEnd the journal's end after the last commit
   */
  void forceEarly(long journalEnd) {
    if (!touchedComplete || journalEnd < nextEarly) {
      return;
    }
    nextEarly = (journalEnd / stageBytes + 1) * stageBytes;
    previous.removeAll(current); // written again: it stays for a later stage or the checkpoint
    if (!previous.isEmpty()) {
      for (List<Path> part : FilePermissions.parts(previous, FilePermissions.FORCE_THREADS)) {
        AtomicBoolean claimed = new AtomicBoolean();
        earlyForces.add(new EarlyForce(part, claimed, earlyPool().submit(() -> {
          if (claimed.compareAndSet(false, true)) { // else the checkpoint took these files back
            FilePermissions.forceEach(part);
          }
          return null;
        })));
      }
    }
    Set<Path> reuse = previous;
    reuse.clear();
    previous = current;
    current = reuse;
  }

  /**
   * Learns everything the journal holds, read while opening the store with the OS lock held, so that
   * early forces start with the first commit instead of after the first checkpoint (which would
   * otherwise read the journal and force every file it touched at once, holding up the commits).
   *
   * @param entries every entry of the journal, from its start
   */
  void adopt(List<JournalEntry> entries) {
    clearTouched();
    record(entries);
    touchedComplete = true;
  }

  /** Another process committed, or a replay happened: the next checkpoint reads the journal. */
  void forget() {
    touchedComplete = false;
  }

  /**
   * Makes everything the journal holds durable in the document and event files, records the
   * counters in {@code checkpoint.json} and empties the journal.
   */
  void checkpoint() throws IOException {
    try {
      forceAndEmpty();
    } catch (IOException | RuntimeException | Error e) {
      // what failed to force, early or now, is no longer in any set: the next one forces all the journal holds
      forget();
      throw e;
    }
  }

  private void forceAndEmpty() throws IOException {
    // early forces the thread has not started are taken back and forced below with the rest, in parallel; the
    // others are awaited (not Future.cancel: it also succeeds on a running task, whose failure would then be lost)
    Set<Path> notStarted = new HashSet<>();
    List<Future<?>> started = new ArrayList<>();
    for (EarlyForce e : earlyForces) {
      if (e.claimed().compareAndSet(false, true)) {
        notStarted.addAll(e.files());
      } else {
        started.add(e.future());
      }
    }
    earlyForces.clear();
    FilePermissions.awaitForces(started);
    current.addAll(notStarted);
    current.addAll(previous);
    if (!touchedComplete) {
      clearTouched();
      // the journal's end stays where it is: reading it moves nothing, and it was applied, so damage before it is
      // reported (the checkpoint fails and keeps the journal), never cut as a torn tail
      record(journal.readFrom(0, journal.end()));
    }
    Set<Path> dirs = touchedDirectories;
    dirs.add(root.resolve("state"));
    dirs.add(root.resolve("events"));
    // complete: the files of earlier stages were forced after their last write (awaited above)
    FilePermissions.forceFiles(touchedComplete ? current : touchedFiles, forcePool());
    if (touchedFirstEvent != Long.MAX_VALUE) {
      FilePermissions.forceFiles(events.segmentsFrom(touchedFirstEvent), null);
    }
    for (Path d : dirs) {
      if (Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
        FilePermissions.forceDirectory(d);
      }
    }
    DocumentFiles.replace(root.resolve(NAME),
        Lines.frame(Codec.encodeCheckpoint(counters.revision(), counters.eventId())), Sync.FORCE, permissions);
    FilePermissions.forceDirectory(root);
    // The header says "nothing applied" before the journal is cut: a crash in between replays the
    // whole journal (idempotent) instead of trusting an offset beyond the journal's end.
    lockFile.writeHeader(counters.revision(), counters.eventId(), 0);
    journal.empty();
    clearTouched();
    touchedComplete = true;
    LOG.debug("Checkpoint of {} at revision {}, event {}", root, counters.revision(), counters.eventId());
  }

  /**
   * Stops the forcing threads after the forces they were given (the early forces already handed over still run), and
   * waits for them, so that no thread of this store touches its files after close (at most
   * {@value #CLOSE_WAIT_SECONDS} s per pool; then a warning, and the force finishes in the background).
   */
  @Override
  public void close() {
    stop(earlyPool);
    stop(forcePool);
  }

  /** How long {@link #close()} waits for a running force. */
  static final long CLOSE_WAIT_SECONDS = 30;

  private void stop(ExecutorService pool) {
    if (pool == null) {
      return;
    }
    pool.shutdown();
    try {
      if (!pool.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
        LOG.warn("A force of {} still runs {} s after closing it; it goes on in the background", root,
            CLOSE_WAIT_SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // closing goes on; the force finishes in the background
    }
  }

  private void record(List<JournalEntry> entries) {
    for (JournalEntry e : entries) {
      for (JournalWrite w : e.writes()) {
        Path file = docs.file(w.key());
        touchedFiles.add(file);
        current.add(file);
        touchedDirectories.add(docs.directoryOf(w.key()));
      }
      if (!e.events().isEmpty()) {
        touchedFirstEvent = Math.min(touchedFirstEvent, e.events().get(0).id());
      }
    }
  }

  private void clearTouched() {
    touchedFiles.clear();
    current.clear();
    previous.clear();
    nextEarly = stageBytes;
    touchedDirectories.clear();
    touchedFirstEvent = Long.MAX_VALUE;
  }

  /** @return the threads that run early forces, each part's files one after another, started on first use */
  private ExecutorService earlyPool() {
    if (earlyPool == null) {
      earlyPool = forcingThreads("collab-file-early-force-");
    }
    return earlyPool;
  }

  /** @return the threads that force files during checkpoints, started on first use */
  private ExecutorService forcePool() {
    if (forcePool == null) {
      forcePool = forcingThreads("collab-file-force-");
    }
    return forcePool;
  }

  /**
   * @return up to {@link FilePermissions#FORCE_THREADS} daemon threads named {@code prefix}, the store's directory and
   *     a number; idle ones end after {@value #IDLE_SECONDS} s, so that a store that stops writing keeps none
   */
  private ExecutorService forcingThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor pool = new ThreadPoolExecutor(FilePermissions.FORCE_THREADS, FilePermissions.FORCE_THREADS,
        IDLE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
          Thread t = threads.newThread(r, prefix + root.getFileName() + "-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /** How long an idle forcing thread lives. */
  static final long IDLE_SECONDS = 10;
}
