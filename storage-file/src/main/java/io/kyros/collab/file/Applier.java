package io.kyros.collab.file;

import io.kyros.collab.file.JournalCodec.JournalEntry;
import io.kyros.collab.file.JournalCodec.JournalWrite;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReadWriteLock;

/**
 * The apply step: writes journaled commits to the document and event files, in order, for the
 * writer (commits it just journaled) and for recovery (entries replayed from the journal).
 *
 * <p>Guarantees: idempotent: each document ends as its last journaled write and only events with
 * ids beyond the log's last line are appended, so a replay of entries already applied changes
 * nothing. This engine's own commits change the in-memory index ({@link IndexFollower}) in the same
 * step as the files. Only the last write per document is written, so a document read by another process
 * during a replay never goes back to an older version. Readers in this JVM see each apply whole.
 *
 * <p>Locks: called with the store's writer lock and OS lock held; takes the write side of the
 * store's visibility lock while it writes, which excludes this JVM's readers. Not thread-safe on
 * its own.
 */
final class Applier {
  private final DocumentFiles docs;
  private final EventSegments events;
  private final ReadWriteLock visibility;
  private final IndexFollower index;

  Applier(DocumentFiles docs, EventSegments events, ReadWriteLock visibility, IndexFollower index) {
    this.docs = docs;
    this.events = events;
    this.visibility = visibility;
    this.index = index;
  }

  /**
   * Applies entries read back from the journal, encoding their events here.
   *
   * @param logLast the last event id already in the log
   */
  void replay(List<JournalEntry> entries, long logLast) throws IOException {
    List<List<byte[]>> eventObjects = new ArrayList<>(entries.size());
    for (JournalEntry e : entries) {
      eventObjects.add(Codec.eventObjects(e.events()));
    }
    apply(entries, eventObjects, logLast, false);
  }

  /**
   * Applies entries just journaled.
   *
   * @param eventObjects each entry's events as encoded for the journal
   * @param logLast the last event id already in the log
   */
  void apply(List<JournalEntry> entries, List<List<byte[]>> eventObjects, long logLast) throws IOException {
    apply(entries, eventObjects, logLast, true);
  }

  /**
   * @param own whether these are this engine's commits, which the index takes here; replayed
   *     entries reach the index through {@link IndexFollower#catchUp}, which reads the journal from
   *     the index's own position
   */
  private void apply(List<JournalEntry> entries, List<List<byte[]>> eventObjects, long logLast, boolean own)
      throws IOException {
    if (entries.isEmpty()) {
      return;
    }
    List<byte[]> lines = new ArrayList<>(entries.size());
    List<Long> firstIds = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      JournalEntry entry = entries.get(i);
      List<byte[]> objects = eventObjects.get(i);
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
          docs.write(w.key(), DocumentCodec.encodeDocument(w.key(), w.revision(), w.hash(), w.json(), w.index()));
        }
      }
      if (own) {
        index.applyOwn(last.values()); // with the documents: readers here see both or neither
      }
      events.append(lines, firstIds);
    } finally {
      visibility.writeLock().unlock();
    }
  }
}
