package io.kyros.collab.file;

import io.kyros.collab.file.Codec.Counters;
import io.kyros.collab.file.JournalCodec.JournalEntry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recovery: brings the document and event files up to date with every journaled commit, including
 * one that a crashed process journaled but did not finish applying. It runs when the store opens
 * and at the start of every batch (the catch-up with other processes' commits).
 *
 * <p>Guarantees:
 * <ul>
 *   <li>The lock file's header is trusted only when it was written in this boot and its applied
 *       offset is a line boundary of the journal; then only the journal after that offset is
 *       replayed (usually nothing: one read of two bytes tells).</li>
 *   <li>Otherwise the counters start from {@code checkpoint.json} and the whole journal is
 *       replayed, after which a checkpoint is taken.</li>
 *   <li>A torn tail of the newest event segment and of the journal (never acknowledged) is cut off,
 *       but never an event line at or before the checkpoint's event id (forced whole: its damage is
 *       reported, trusted header or not); when the header is not trusted (a power loss may have
 *       dropped unforced pages in any order), the newest segment is cut at its first line that is not
 *       whole, and the journal replays the rest; damage anywhere else is reported as
 *       {@link CorruptFileException}, never skipped.</li>
 *   <li>The revision is the largest of the header (or checkpoint) and the replayed entries; the
 *       event id is the log's last id after the replay.</li>
 * </ul>
 *
 * <p>Locks: runs with the store's writer lock and OS lock held. Not thread-safe on its own.
 */
final class Recovery {
  private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

  /** When a catch-up runs. */
  enum Occasion {
    /** The store is being opened in this JVM: recover whatever a crash left, preallocate the journal. */
    OPEN,
    /** A batch is about to commit: apply what other processes journaled since. */
    BATCH
  }

  private final Path root;
  private final LockFile lockFile;
  private final Journal journal;
  private final DocumentFiles docs;
  private final EventSegments events;
  private final Checkpoints checkpoints;
  private final Applier applier;
  private final StoreCounters counters;
  /** Whether this engine replayed the whole journal once (trusting the header from then on). */
  private boolean recovered;

  Recovery(Path root, LockFile lockFile, Journal journal, DocumentFiles docs, EventSegments events,
      Checkpoints checkpoints, Applier applier, StoreCounters counters) {
    this.root = root;
    this.lockFile = lockFile;
    this.journal = journal;
    this.docs = docs;
    this.events = events;
    this.checkpoints = checkpoints;
    this.applier = applier;
    this.counters = counters;
  }

  /**
   * Brings the files up to date with every journaled commit and sets the counters.
   *
   * @param occasion why it runs
   * @throws CorruptFileException on damage that must not be skipped
   */
  void catchUp(Occasion occasion) throws IOException {
    Counters header = lockFile.readHeader();
    // one read of the journal at the header's offset: is it a line boundary, and does anything follow?
    int probe = header == null ? -1 : journal.probe(header.journal());
    String bootId = lockFile.bootId();
    boolean trusted = probe >= 0 && (bootId != null ? bootId.equals(header.boot()) : recovered);
    long from;
    if (trusted) {
      if (!counters.equalTo(header.revision(), header.eventId())) {
        checkpoints.forget(); // another process committed since this engine last held the lock
      }
      counters.set(header.revision(), header.eventId());
      from = header.journal();
      if (probe == 0 && occasion == Occasion.BATCH) {
        return;
      }
      if (probe > 0) {
        LOG.info("Completing commits of {} that a process journaled but did not finish (journal from byte {})",
            root, from);
      }
    } else {
      Counters checkpoint = Checkpoints.read(root);
      counters.set(checkpoint.revision(), checkpoint.eventId());
      from = 0;
      LOG.info("Recovering {}: replaying the journal", root);
    }
    if (occasion == Occasion.BATCH) {
      docs.removeStrayTemporaryFiles();
    }
    // Opening, or replaying the whole journal: check the files against every record of what was handed out.
    Floors floors = trusted && occasion == Occasion.BATCH ? null : floors(header);
    // the checkpoint forced the log's lines through its event id: damage there is reported, never cut as a torn tail
    long forcedThrough = (floors != null ? floors.checkpoint() : Checkpoints.read(root)).eventId();
    if (!trusted) {
      events.cutAtFirstDamagedLine(forcedThrough); // after a power loss, not only the last line may be damaged
    }
    long logLast = events.repairTail(forcedThrough);
    if (floors != null && logLast < floors.eventId() && from > 0) {
      // a damaged last line of an acknowledged event was cut: the journal may still hold it
      LOG.warn("The log of {} ends at event {} but event {} was handed out; replaying the whole journal", root,
          logLast, floors.eventId());
      from = 0;
    }
    List<JournalEntry> entries = journal.readFrom(from, floors == null ? 0 : appliedEnd(header, floors));
    if (floors != null) {
      checkContinuity(entries, logLast);
    }
    if (!entries.isEmpty()) {
      checkpoints.forget();
      // a dead process's lines may never have been forced: force them before the replay writes their documents and
      // the header records them as applied, or a power loss could keep part of a commit and lose the line that
      // completes it (or have the next open refuse the store: "journaled commits were lost")
      journal.force();
    }
    applier.replay(entries, logLast);
    long revision = counters.revision();
    long lastJournaled = 0;
    for (JournalEntry e : entries) {
      revision = Math.max(revision, e.revision());
      lastJournaled = Math.max(lastJournaled, e.eventId());
    }
    // The log holds every committed event once the journal is replayed; a last line cut off as torn
    // was never a committed event the log can serve, and its id is handed out again.
    long eventId = Math.max(logLast, lastJournaled);
    if (floors != null) {
      events.verifyChain();
      if (eventId < floors.eventId()) {
        throw new CorruptFileException(events.segmentFile(eventId + 1), 0, "missing: the log ends at event "
            + eventId + " but " + floors.eventSource() + " records event " + floors.eventId()
            + " as handed out (a removed or truncated segment)", null);
      }
      revision = Math.max(revision, floors.revision());
    }
    counters.set(revision, eventId);
    recovered = true;
    lockFile.writeHeader(counters.revision(), counters.eventId(), journal.end());
    if (!trusted) {
      checkpoints.checkpoint();
    } else if (occasion == Occasion.OPEN) {
      // what earlier engines journaled since the last checkpoint: this engine's checkpoints force it too. The bytes
      // before the header's offset were applied: a damaged line there is reported, never cut as a torn tail
      checkpoints.adopt(from == 0 ? entries : journal.readFrom(0, from));
      journal.preallocate();
    }
  }

  /**
   * The least each counter must be: what durable records prove was handed out.
   *
   * @param revision the highest revision any record names
   * @param eventId the highest event id any record names
   * @param eventSource which file names that event id, for the message
   * @param checkpoint the checkpoint's counters
   */
  private record Floors(long revision, long eventId, String eventSource, Counters checkpoint) {}

  /**
   * Collects the floors from the checkpoint and the lock header (of any boot: it was written after
   * its commits were journaled); when the header is lost, also from the documents' revisions.
   */
  private Floors floors(Counters header) throws IOException {
    Counters checkpoint = Checkpoints.read(root);
    long revision = checkpoint.revision();
    long eventId = checkpoint.eventId();
    String eventSource = Checkpoints.NAME;
    if (header != null) {
      revision = Math.max(revision, header.revision());
      if (header.eventId() > eventId) {
        eventId = header.eventId();
        eventSource = "the header of " + LockFile.NAME;
      }
    } else {
      revision = Math.max(revision, docs.highestRevision());
    }
    return new Floors(revision, eventId, eventSource, checkpoint);
  }

  /**
   * @return where the journal's entries must at least reach: the header's applied offset, unless a
   *     checkpoint covered it (the checkpoint is written before the journal is emptied, the header
   *     after); a journal ending before it lost journaled commits
   */
  private static long appliedEnd(Counters header, Floors floors) {
    if (header == null) {
      return 0;
    }
    Counters checkpoint = floors.checkpoint();
    boolean covered = checkpoint.revision() >= header.revision() && checkpoint.eventId() >= header.eventId();
    return covered ? 0 : header.journal();
  }

  /** The events a replay appends must continue the log: a gap means a segment is missing. */
  private void checkContinuity(List<JournalEntry> entries, long logLast) {
    for (JournalEntry e : entries) {
      for (var event : e.events()) {
        if (event.id() > logLast) {
          if (event.id() != logLast + 1) {
            throw new CorruptFileException(events.segmentFile(logLast + 1), 0, "missing: the log ends at event "
                + logLast + " and the journal continues at event " + event.id(), null);
          }
          return;
        }
      }
    }
  }

}
