package io.kyros.collab.file;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The repair path behind {@link FileStorage#removeDamaged}: removes a damaged document by a commit like
 * any other (journaled, given a revision, recorded as a {@code document_deleted} event by
 * {@code collab-file-repair} whose details name the damage), and only while it is still damaged inside the
 * commit's atomic section, so a racing repair or re-create is never deleted. Stateless and thread-safe.
 */
final class DamageRepair {
  private static final Logger LOG = LoggerFactory.getLogger(DamageRepair.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private DamageRepair() {}

  /**
   * @throws IllegalStateException if the document is readable or absent, also when another caller repaired or
   *     replaced it before this removal commits
   * @throws StorageException if the commit fails
   * @throws IOException if the document cannot be read
   */
  static void remove(Store store, RecordKey key, Clock clock) throws IOException {
    CorruptFileException damage;
    try {
      Optional<StoredRecord> current = store.read(key, clock);
      throw new IllegalStateException(current.isPresent()
          ? "document " + key.collection() + "/" + key.id() + " is not damaged: change it through the API"
          : "document " + key.collection() + "/" + key.id() + " does not exist");
    } catch (CorruptFileException e) {
      damage = e;
    }
    String problem = damage.getMessage();
    Commit removal = new Commit(List.of(), List.of(Write.delete(key)), revisions -> {
      // Called inside the commit's atomic section: the document must still be damaged now, or a
      // racing repair (and a create after it) would be deleted by this unconditional delete.
      if (!store.damaged(key)) {
        throw new IllegalStateException("document " + key.collection() + "/" + key.id()
            + " is no longer damaged: another caller repaired or replaced it meanwhile");
      }
      ObjectNode details = JSON.createObjectNode().put("collection", key.collection()).put("id", key.id())
          .put("revision", revisions.get(0)).put("damage", problem);
      return List.of(new NewEvent("document_deleted", "collab-file-repair",
          "documents/" + key.collection() + "/" + key.id(), details.toString()));
    });
    CommitResult result = store.commit(removal, clock);
    if (!(result instanceof CommitResult.Committed)) {
      throw new StorageException("removing the damaged document " + key + " did not commit: " + result);
    }
    LOG.warn("Removed the damaged document {}/{} ({})", key.collection(), key.id(), problem);
  }
}
