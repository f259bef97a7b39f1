package io.kyros.collab;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives the running batches of a store written before the index of running batches ({@link BatchRecord#RUNNING_INDEX})
 * their entry, once, when a {@link Collab} opens on a storage that keeps indexes: so that idle worker pools find a
 * batch that an earlier version left running with a missed update, too. A marker record, {@code
 * _collab/indexes.batches} ({@code {"runningIndex": 1}}), says it was done; if it is absent, every running batch
 * record is rewritten unchanged with its entry (one commit each, expecting the revision read: one that conflicts was
 * rewritten meanwhile by a writer that writes the entry), then the marker (expected absent: of two openers, one writes
 * it; a store without batches gets none, and is looked at again by the next opener). The rewrites record no event and change the records' revisions (so their ETags), not their values.
 * Idempotent; thread-safe.
 */
final class BatchReindex {
  private static final Logger LOG = LoggerFactory.getLogger(BatchReindex.class);
  private static final RecordKey MARKER = new RecordKey(RecordKeys.META, "indexes.batches");

  private final Core core;

  BatchReindex(Core core) {
    this.core = core;
  }

  /** Rewrites the running batches with their entry if the marker says it was not done yet. */
  void ensure() {
    if (!core.indexed() || core.storage().read(MARKER).isPresent()) {
      return;
    }
    int rewritten = 0;
    List<StoredRecord> batches = core.scan(BatchRecord.COLLECTION);
    if (batches.isEmpty()) {
      return; // nothing to index, and no marker either: a new store's first revisions stay its first writes'
    }
    for (StoredRecord r : batches) {
      List<io.kyros.collab.spi.IndexEntry> entries = BatchRecord.entries(core.parse(r), true);
      if (entries.isEmpty()) {
        continue; // not running: no entry to give
      }
      CommitResult c = core.commit(Commit.of(List.of(Expectation.revision(r.key(), r.revision())),
          List.of(Write.put(r.key(), r.json(), r.hash(), entries)), List.of()));
      rewritten += c instanceof CommitResult.Committed ? 1 : 0;
    }
    Core.Encoded marker = core.encode(core.object().put("runningIndex", 1), "the batch index marker");
    core.commit(Commit.of(List.of(Expectation.absent(MARKER)), List.of(Write.put(MARKER, marker.json(),
        marker.hash())), List.of()));
    if (rewritten > 0) {
      LOG.info("indexed {} running batches (index of running batches)", rewritten);
    }
  }
}
