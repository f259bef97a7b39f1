package io.kyros.collab.file;

import io.kyros.collab.file.Codec.Counters;
import io.kyros.collab.file.DocumentCodec.StoredDocument;
import io.kyros.collab.file.JournalCodec.JournalEntry;
import io.kyros.collab.file.JournalCodec.JournalWrite;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the store's {@link RecordIndex} current, and answers index scans from it. The index's
 * truth on disk is the entries stored with each record; {@link SavedIndex} is a copy as of a
 * revision, kept as a cache. So:
 *
 * <ul>
 *   <li><b>Built on first use</b>: the first {@code scanIndex} in this JVM makes the writer thread,
 *       holding the OS lock (no process writes meanwhile), take the saved index if the journal can
 *       bring it up to date (no checkpoint past its revision, and the journal holds every write
 *       after it: the same test as for other processes' commits, below), and otherwise read every
 *       document's entries (a listing of each collection: the only listing, once per engine). A
 *       store that is never scanned never pays for it. A saved index is published only once it
 *       reflects the counters.</li>
 *   <li><b>Saved when the engine stops</b> ({@link #saveAtStop}), if it is built and the journal
 *       brings it up to date (a stopping engine never reads every document), unless the saved one is
 *       the one this engine took and still usable; the journal is forced first. A checkpoint past
 *       the saved revision (another engine's, while this one runs) makes the next engine build from
 *       the documents, until an engine stops and saves again. An index whose build passed over
 *       damaged documents lacks their entries until the records are written ({@link RecordIndex#passOver});
 *       the build deletes the saved one, and the copy saved at stop names those still passed over, whose
 *       documents the engine that takes it reads again (so one repaired by hand is indexed again).</li>
 *   <li><b>This JVM's commits</b> change it in the apply step, under the visibility lock, together
 *       with the document files ({@link #applyOwn}).</li>
 *   <li><b>Other processes' commits</b> are read from the journal at the start of the next batch
 *       (every batch runs under the OS lock after {@link Recovery}'s catch-up): the entries between
 *       the position this index reached and the journal's end, applying the writes with revisions
 *       above the index's. A checkpoint of another process may have emptied the journal since; the
 *       checkpoint's counters tell: at or below the index's revision, the new journal is read from
 *       its start; above it, the writes in between are only in the documents and the index is built
 *       again (this needs another process to write a whole checkpoint's worth of journal, 4 MiB by
 *       default, while this JVM neither commits nor scans). The writes read must account for every
 *       revision in between, or the index is built again.</li>
 *   <li><b>As fresh as {@code read}</b>: before answering, a scan checks, without any lock, that
 *       nothing was journaled after its position ({@link #fresh()}: two bytes of the journal at the
 *       position and the checkpoint's counters); if something was, it first makes the writer thread
 *       catch up (one empty batch). Every commit acknowledged before a scan starts is therefore in
 *       its answer.</li>
 *   <li>Each hit is checked against its document, read under the visibility lock: a document whose
 *       revision is not the indexed one (another process changed it after the catch-up) makes the
 *       scan catch up and run again; at the last attempt such a record is returned with its newer
 *       value if that value still carries the entry, and left out otherwise. A damaged document is
 *       passed over with a warning, as a listing does.</li>
 * </ul>
 *
 * <p>Locks: {@link #catchUp}, {@link #applyOwn}, {@link #beforeAppend}, {@link #appended},
 * {@link #appendFailed}, {@link #checkpointed} and {@link #saveAtStop} run on the writer thread with
 * the writer lock and the OS lock held; the index changes under the write side of the visibility lock; {@link #scan}
 * runs under its read side; {@link #fresh()} needs no lock (it reads the volatile {@link #mark}).
 * Thread-safe on those terms.
 */
final class IndexFollower {
  private static final Logger LOG = LoggerFactory.getLogger(IndexFollower.class);

  /**
   * Where the index stands, for the writer thread: the counters it reflects, the journal offset up
   * to which it read, and the checkpoint's counters then.
   */
  private record Position(long revision, long eventId, long journal, long checkpointRevision,
      long checkpointEventId) {}

  /**
   * What {@link #fresh()} compares with the files: every journal byte before {@code journal} is in the
   * index or is an unacknowledged commit of this JVM in flight, as of the checkpoint with these
   * counters.
   */
  private record Mark(long journal, long checkpointRevision, long checkpointEventId) {}

  private final Path root;
  private final Journal journal;
  private final DocumentFiles docs;
  private final StoreCounters counters;
  private final ReadWriteLock visibility;
  private final FilePermissions permissions;
  /** The index; null until built and after a failure (guarded by the visibility lock). */
  private RecordIndex index;
  /** Writer thread only. */
  private Position position;
  private volatile Mark mark;
  /** Set by the first scan: from then on the writer builds and follows the index. */
  private volatile boolean wanted;
  private volatile long builds;
  private volatile long loads;
  /** The revision of the saved index this engine's index was taken from; -1 if it was built (writer thread only). */
  private long loadedRevision = -1;

  IndexFollower(Path root, Journal journal, DocumentFiles docs, StoreCounters counters, ReadWriteLock visibility,
      FilePermissions permissions) {
    this.root = root;
    this.journal = journal;
    this.docs = docs;
    this.counters = counters;
    this.visibility = visibility;
    this.permissions = permissions;
  }

  /** Asks for the index: the next batch builds it if it is not built. */
  void want() {
    wanted = true;
  }

  /** @return how many times the index was built from the documents (first use and rebuilds) */
  long builds() {
    return builds;
  }

  /** @return how many times the index was taken from the saved index ({@link SavedIndex}) */
  long loads() {
    return loads;
  }

  // ------------------------------------------------------------------------------ writer thread

  /**
   * Brings the index up to date with every journaled commit; runs after {@link Recovery#catchUp}.
   * Never throws: a failure drops the index (the next scan builds it again).
   */
  void catchUp() {
    try {
      if (index == null) {
        if (wanted) {
          build(builds + loads == 0 ? "first use" : "the previous index was dropped after a failure");
        }
        return;
      }
      if (atCounters()) {
        return; // nobody else committed
      }
      Followed f = follow(index);
      if (f.stale() != null) {
        build(f.stale());
      } else {
        record(f.checkpoint());
      }
    } catch (IOException | RuntimeException e) {
      drop(e);
    }
  }

  /** @return whether the index's position is the store's counters and the journal's end: nobody committed since */
  private boolean atCounters() {
    return counters.revision() == position.revision() && counters.eventId() == position.eventId()
        && journal.end() == position.journal();
  }

  /** What {@link #follow} did: brought the index up to date as of this checkpoint, or found it stale for a reason. */
  private record Followed(Counters checkpoint, String stale) {
    static Followed stale(String why) {
      return new Followed(null, why);
    }
  }

  /**
   * Applies the journaled writes after {@link #position} to {@code target}, if the journal holds every one of them
   * (the position is for the caller to record).
   *
   * @param target the index as of the position: the live one (changed under the write lock) or one not yet published
   * @return the checkpoint the target now reflects the counters with, or why it must be built from the documents
   */
  private Followed follow(RecordIndex target) throws IOException {
    Counters checkpoint = Checkpoints.read(root);
    long from;
    if (checkpoint.revision() == position.checkpointRevision()
        && checkpoint.eventId() == position.checkpointEventId()) {
      from = position.journal();
    } else if (checkpoint.revision() <= position.revision()) {
      from = 0;
    } else {
      return Followed.stale("another process took a checkpoint past this index (revision " + checkpoint.revision()
          + " > " + position.revision() + ")");
    }
    if (journal.probe(from) < 0) {
      return Followed.stale("the journal has no line boundary at this index's position " + from);
    }
    List<JournalEntry> entries;
    try {
      // every line here is applied and acknowledged (recovery's catch-up ran first): never cut one as a torn tail
      entries = journal.readWithoutCutting(from);
    } catch (CorruptFileException e) {
      LOG.warn("The journal of {} is damaged after this index's position {}; the index cannot follow it: it is built"
          + " from the documents, or not saved as the engine stops (recovery or a checkpoint reports the damage): {}",
          root, from, e.getMessage());
      return Followed.stale("the journal is damaged after this index's position " + from + ": " + e.getMessage());
    }
    Map<RecordKey, JournalWrite> last = new LinkedHashMap<>();
    long count = 0;
    long highest = position.revision();
    for (JournalEntry e : entries) {
      for (JournalWrite w : e.writes()) {
        if (w.revision() > position.revision()) {
          count++;
          highest = Math.max(highest, w.revision());
          last.remove(w.key());
          last.put(w.key(), w);
        }
      }
    }
    if (highest != counters.revision() || count != counters.revision() - position.revision()) {
      return Followed.stale("the journal holds " + count + " writes up to revision " + highest + " after this"
          + " index's revision " + position.revision() + ", the store is at " + counters.revision());
    }
    if (target == index) {
      visibility.writeLock().lock();
      try {
        put(target, last.values());
      } finally {
        visibility.writeLock().unlock();
      }
    } else {
      put(target, last.values()); // not published yet: no reader can see it
    }
    return new Followed(checkpoint, null);
  }

  /** Applies this JVM's own writes (the last per record of a batch), with the documents, under the write lock. */
  void applyOwn(Collection<JournalWrite> writes) {
    if (index != null) {
      put(index, writes);
    }
  }

  /** The writer is about to journal a batch ending at {@code end}: readers may look past it. */
  void beforeAppend(long end) {
    if (index != null) {
      mark = new Mark(end, position.checkpointRevision(), position.checkpointEventId());
    }
  }

  /** The batch was journaled and applied (documents, index, header): the index reflects the counters. */
  void appended() {
    if (index != null) {
      record(position.checkpointRevision(), position.checkpointEventId());
    }
  }

  /** Journaling or applying the batch failed: readers check from the last position again. */
  void appendFailed() {
    if (index != null) {
      publish();
    }
  }

  /** This engine took a checkpoint: the journal is empty and the checkpoint holds the counters. */
  void checkpointed() {
    if (index != null && position.revision() == counters.revision()) {
      record(counters.revision(), counters.eventId());
    }
  }

  private void build(String why) throws IOException {
    if (loadSaved(why)) {
      return;
    }
    long started = System.nanoTime();
    RecordIndex fresh = new RecordIndex();
    long damaged = 0;
    for (String collection : docs.collections()) {
      for (String id : docs.ids(collection)) {
        if (!indexDocument(fresh, new RecordKey(collection, id))) {
          damaged++;
        }
      }
    }
    Counters checkpoint = Checkpoints.read(root);
    visibility.writeLock().lock();
    try {
      index = fresh;
    } finally {
      visibility.writeLock().unlock();
    }
    record(checkpoint);
    loadedRevision = -1;
    builds++;
    LOG.info("Built the secondary index of {} from its documents ({}): {} entries, {} damaged documents passed"
        + " over, {} ms", root, why, fresh.size(), damaged, (System.nanoTime() - started) / 1_000_000);
    if (damaged > 0 && Files.exists(root.resolve(SavedIndex.NAME), LinkOption.NOFOLLOW_LINKS)) {
      // it was of no use to this engine, and it does not name the damaged documents: the next engine must not take
      // it, but this engine's own (which names them, so that they are read again) or a build
      LOG.warn("Deleting the saved secondary index of {}: this engine's build passed over {} damaged documents", root,
          damaged);
      deleteSaved();
    }
  }

  /**
   * Reads a record's document into the index: its entries if it has any, none if it is absent; passed over (noted in
   * the index) if it is damaged.
   *
   * @return false if the document is damaged
   */
  private boolean indexDocument(RecordIndex into, RecordKey key) throws IOException {
    try {
      Optional<StoredDocument> d = docs.readIndexed(key);
      if (d.isPresent()) {
        into.put(key, d.get().record().revision(), d.get().index());
      } else {
        into.remove(key);
      }
      return true;
    } catch (CorruptFileException e) {
      into.passOver(key);
      LOG.warn("Index of {} passes over the damaged document {}/{}: {}", root, key.collection(), key.id(),
          e.getMessage());
      return false;
    }
  }

  /**
   * Takes the saved index ({@link SavedIndex}) instead of reading every document, if there is one the journal can
   * bring up to date: no checkpoint was taken past its revision, and the journal holds every write after it. A damaged
   * one is deleted (the next close saves a new one), after a warning.
   *
   * @param why why the index is needed, for the log
   * @return whether the index was taken from it and now reflects the counters
   */
  private boolean loadSaved(String why) {
    long started = System.nanoTime();
    SavedIndex.Loaded saved;
    try {
      saved = SavedIndex.read(root);
    } catch (CorruptFileException e) {
      LOG.warn("Ignoring the saved secondary index of {} and deleting it ({}); building it from the documents", root,
          e.getMessage());
      deleteSaved();
      return false;
    } catch (IOException | RuntimeException | OutOfMemoryError e) {
      LOG.warn("Cannot read the saved secondary index of {} ({}); building it from the documents", root, e.toString());
      return false;
    }
    if (saved == null) {
      return false;
    }
    if (saved.revision() > counters.revision() || saved.eventId() > counters.eventId()) {
      LOG.warn("Ignoring the saved secondary index of {}: it is ahead of the store (revision {}, event {}; the store is"
          + " at {}, {}); building it from the documents", root, saved.revision(), saved.eventId(), counters.revision(),
          counters.eventId());
      deleteSaved();
      return false;
    }
    // no checkpoint matches: follow() reads the journal from its start, if no checkpoint was taken past the revision;
    // the index is published only once it reflects the counters, so no scan ever reads it behind an acknowledged commit
    position = new Position(saved.revision(), saved.eventId(), 0, -1, -1);
    Followed f;
    try {
      f = follow(saved.index());
    } catch (IOException | RuntimeException | OutOfMemoryError e) {
      f = Followed.stale(e.toString());
    }
    if (f.stale() != null) {
      position = null;
      LOG.info("The saved secondary index of {} (revision {}) is out of date: {}; building it from the documents", root,
          saved.revision(), f.stale());
      return false;
    }
    // the documents it names as damaged (and no write has passed since): read again, so one repaired by hand is
    // indexed again; the journal has brought every other record up to date
    long stillDamaged = 0;
    try {
      for (RecordKey key : saved.index().passedOver()) {
        if (!indexDocument(saved.index(), key)) {
          stillDamaged++;
        }
      }
    } catch (IOException | RuntimeException e) {
      position = null;
      LOG.info("Cannot read again the damaged documents the saved secondary index of {} names ({}); building it from"
          + " the documents", root, e.toString());
      return false;
    }
    visibility.writeLock().lock();
    try {
      index = saved.index();
    } finally {
      visibility.writeLock().unlock();
    }
    record(f.checkpoint());
    loadedRevision = saved.revision();
    loads++;
    LOG.info("Loaded the secondary index of {} ({}) from {} at revision {} and the journal up to revision {}: {}"
        + " entries, {} damaged documents passed over, {} ms", root, why, SavedIndex.NAME, saved.revision(),
        counters.revision(), index.size(), stillDamaged, (System.nanoTime() - started) / 1_000_000);
    return true;
  }

  private void deleteSaved() {
    try {
      Files.deleteIfExists(root.resolve(SavedIndex.NAME));
    } catch (IOException e) {
      LOG.warn("Cannot delete the saved secondary index of {}: {}", root, e.toString());
    }
  }

  /**
   * Saves the index ({@link SavedIndex}) as the engine stops. Run on the writer thread with the OS lock held. It first
   * follows the journal if another process committed since (never builds: a stopping engine does not read every
   * document; if the journal cannot bring the index up to date, nothing is saved), then writes the copy unless the
   * saved one is the one this engine took and no checkpoint has passed it; the copy names the records passed over as
   * damaged and not written since. The journal is forced first, so that every write the copy reflects survives a power
   * loss, whatever the durability of the engines that journaled it: a revision the copy holds is never handed out
   * again.
   *
   * @throws IOException if the journal cannot be read or forced, or the copy written
   */
  void saveAtStop() throws IOException {
    if (index == null) {
      return;
    }
    if (!atCounters()) {
      Followed f = follow(index);
      if (f.stale() != null) {
        LOG.info("Not saving the secondary index of {} as the store closes: {}", root, f.stale());
        return;
      }
      record(f.checkpoint());
    }
    SavedIndex.Header old = SavedIndex.header(root);
    Counters checkpoint = Checkpoints.read(root);
    if (old != null && old.revision() == loadedRevision && old.revision() >= checkpoint.revision()) {
      return; // the copy this engine took: the journal still brings it up to date
    }
    journal.force();
    long started = System.nanoTime();
    long bytes = SavedIndex.write(root, index, counters.revision(), counters.eventId(), permissions);
    LOG.info("Saved the secondary index of {} at revision {}: {} records, {} bytes, {} ms", root, counters.revision(),
        index.records(), bytes, (System.nanoTime() - started) / 1_000_000);
  }

  /** @return whether the index is built, so {@link #saveAtStop} may have something to save (writer thread) */
  boolean built() {
    return index != null;
  }

  private static void put(RecordIndex index, Collection<JournalWrite> writes) {
    for (JournalWrite w : writes) {
      if (w.isDelete()) {
        index.remove(w.key());
      } else {
        index.put(w.key(), w.revision(), w.index());
      }
    }
  }

  private void record(Counters checkpoint) {
    record(checkpoint.revision(), checkpoint.eventId());
  }

  /**
   * Records that the index reflects the counters and the journal up to its end. When nothing was
   * committed since the checkpoint, the offset is 0: a later checkpoint with the same counters (one
   * that followed only empty commits) empties the journal without changing {@code checkpoint.json},
   * and reading from the start is then right in either case.
   */
  private void record(long checkpointRevision, long checkpointEventId) {
    long revision = counters.revision();
    long eventId = counters.eventId();
    long at = revision == checkpointRevision && eventId == checkpointEventId ? 0 : journal.end();
    position = new Position(revision, eventId, at, checkpointRevision, checkpointEventId);
    publish();
  }

  private void publish() {
    mark = new Mark(position.journal(), position.checkpointRevision(), position.checkpointEventId());
  }

  private void drop(Exception e) {
    LOG.warn("Dropping the secondary index of {} (the next scan builds it again): {}", root, e.toString(), e);
    visibility.writeLock().lock();
    try {
      index = null;
    } finally {
      visibility.writeLock().unlock();
    }
    mark = null;
  }

  // ------------------------------------------------------------------------------------ readers

  /**
   * Tells, without a lock, whether the index holds every commit acknowledged so far: nothing was
   * journaled after its mark (the journal holds a newline before the mark and a zero byte at it) and
   * no checkpoint was taken since (the checkpoint's counters are the mark's). The journal is read
   * first: a checkpoint replaces {@code checkpoint.json} before it empties the journal.
   *
   * @return false if the writer must catch up first (or build the index)
   */
  boolean fresh() throws IOException {
    Mark m = mark;
    if (m == null) {
      return false;
    }
    ByteBuffer two = ByteBuffer.allocate(2);
    long at = m.journal() == 0 ? 0 : m.journal() - 1;
    try (FileChannel ch = FileChannel.open(journal.file(), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      while (two.hasRemaining() && ch.read(two, at + two.position()) > 0) {
        // fill
      }
    }
    int read = two.position();
    if (m.journal() > 0 && (read == 0 || two.get(0) != '\n')) {
      return false;
    }
    int next = m.journal() == 0 ? 0 : 1;
    if (read > next && two.get(next) != 0) {
      return false;
    }
    Counters checkpoint = Checkpoints.read(root);
    return checkpoint.revision() == m.checkpointRevision() && checkpoint.eventId() == m.checkpointEventId();
  }

  /** One pass of a scan: its hits, whether a hit's document was newer than its entry, the damaged ones. */
  record Scan(List<IndexHit> hits, boolean stale, List<CorruptFileException> damaged) {}

  /**
   * Scans the index and reads each hit's document. Call under the read side of the visibility lock.
   *
   * @param last whether this is the last attempt: a document newer than its entry is then returned
   *     if it still carries the entry, instead of making the scan stale
   * @return the pass, or null if the index is not built
   */
  Scan scan(IndexQuery query, boolean last) throws IOException {
    if (index == null) {
      return null;
    }
    List<IndexHit> hits = new ArrayList<>(Math.min(query.limit(), 64));
    List<CorruptFileException> damaged = new ArrayList<>();
    int want = query.limit();
    IndexQuery from = query;
    while (hits.size() < want) {
      List<RecordIndex.Candidate> candidates = index.scan(from, want - hits.size());
      if (candidates.isEmpty()) {
        break;
      }
      for (RecordIndex.Candidate c : candidates) {
        RecordKey key = new RecordKey(query.collection(), c.id());
        Optional<StoredDocument> d;
        try {
          d = docs.readIndexed(key);
        } catch (CorruptFileException e) {
          if (!last) {
            return new Scan(hits, true, damaged);
          }
          damaged.add(e);
          continue;
        }
        if (d.isPresent() && d.get().record().revision() == c.revision()) {
          hits.add(new IndexHit(c.key(), d.get().record()));
        } else if (!last) {
          return new Scan(hits, true, damaged);
        } else if (d.isPresent() && d.get().index().contains(new IndexEntry(query.index(), c.key()))) {
          hits.add(new IndexHit(c.key(), d.get().record()));
        }
      }
      RecordIndex.Candidate end = candidates.get(candidates.size() - 1);
      from = new IndexQuery(query.collection(), query.index(), end.key(), end.id(), query.untilKey(), query.limit());
    }
    return new Scan(hits, false, damaged);
  }

  /** @return the index's entries (see {@link RecordIndex#snapshot()}), or null if it is not built; under the read lock */
  Map<String, Map<String, Map<String, Long>>> snapshot() {
    return index == null ? null : index.snapshot();
  }
}
