package io.kyros.collab.file;

import io.kyros.collab.file.DocumentCodec.StoredDocument;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The documents of a store: one file per record at {@code state/<collection>/<id>.json}, each one
 * checksummed line (see {@link Lines}). A new document is created by writing a temporary file in the
 * same directory and renaming it to its name. An existing one is <b>overwritten in place</b> (write
 * from offset 0, then cut the file to the new length): renaming over an existing file costs as much
 * as a disk flush on ext4 ({@code auto_da_alloc} starts writing the new file out), and the journal
 * already makes the write atomic and durable. A reader in another process that meets a document
 * half overwritten sees a checksum mismatch and reads again; the first line is all that counts, so
 * a longer old version's tail not yet cut off is ignored. Names are validated before any path is
 * built, files are opened without following symbolic links, and a collection directory that is a
 * symbolic link is refused, so no path leaves the root.
 *
 * <p>On-disk format: one framed line ({@link Lines}) per file; anything after the first newline is
 * the tail of a longer previous version and is ignored:
 *
 * <pre>
 * state/&lt;collection&gt;/&lt;id&gt;.json      {"revision":42,"hash":"kYhQ3oW2mR3bD0s1f4Qm3A","index":{…},"value":{…},"crc32c":"9a0b1c2d"}\n
 * state/&lt;collection&gt;/.&lt;id&gt;.json.&lt;random&gt;.tmp   a new document being written (removed if left over)
 * </pre>
 *
 * <p>Locks: writes happen only under the store's writer lock; reads need no lock. Thread-safe.
 */
final class DocumentFiles {
  private static final Logger LOG = LoggerFactory.getLogger(DocumentFiles.class);
  /** What core allows, plus a leading underscore for its own collections. No dots first: no "..". */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
  private static final String SUFFIX = ".json";
  private static final String TEMP_SUFFIX = ".tmp";
  /** Reads of a document that fails its checksum (a writer in another process mid-write) before giving up. */
  private static final int READ_ATTEMPTS = 20;
  private static final long READ_PAUSE_NANOS = 500_000;

  /** {@code <root>/state}. */
  private final Path state;
  private final FilePermissions permissions;
  /** Collection directories known to exist and not to be links. */
  private final Set<String> checkedDirectories = ConcurrentHashMap.newKeySet();

  DocumentFiles(Path state, FilePermissions permissions) {
    this.state = state;
    this.permissions = permissions;
  }

  /**
   * @param name a collection name or id
   * @param what "collection" or "id", for the message
   * @return the name
   * @throws IllegalArgumentException if it could not be a safe file name
   */
  static String checkName(String name, String what) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(what + " must match " + NAME.pattern() + ": \"" + name + "\"");
    }
    return name;
  }

  /** @return the file of a record, after validating both names */
  Path file(RecordKey key) {
    return directory(key.collection()).resolve(checkName(key.id(), "id") + SUFFIX);
  }

  private Path directory(String collection) {
    return state.resolve(checkName(collection, "collection"));
  }

  /**
   * @return the record, or empty if its file does not exist
   * @throws CorruptFileException if the file is not a valid document
   * @throws IOException if it cannot be read
   */
  Optional<StoredRecord> read(RecordKey key) throws IOException {
    return readIndexed(key).map(StoredDocument::record);
  }

  /**
   * Reads a record with its index entries.
   *
   * @return the document, or empty if its file does not exist
   * @throws CorruptFileException if the file is not a valid document
   * @throws IOException if it cannot be read
   */
  Optional<StoredDocument> readIndexed(RecordKey key) throws IOException {
    Path file = file(key);
    checkDirectory(key.collection(), IfMissing.REPORT);
    for (int attempt = 1; ; attempt++) {
      byte[] bytes;
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        bytes = readAll(ch, file);
      } catch (NoSuchFileException e) {
        return Optional.empty();
      }
      try {
        return Optional.of(DocumentCodec.decodeDocument(key, bytes, file));
      } catch (CorruptFileException e) {
        // another process may be overwriting it right now: a moment later it is whole
        if (attempt == READ_ATTEMPTS) {
          throw e;
        }
        LOG.debug("Document {} unreadable (attempt {}), reading again: {}", file, attempt, e.getMessage());
        LockSupport.parkNanos(READ_PAUSE_NANOS);
      }
    }
  }

  /** @return the record's revision, 0 if it does not exist */
  long revision(RecordKey key) throws IOException {
    return read(key).map(StoredRecord::revision).orElse(0L);
  }

  /**
   * One page of a listing: the readable records in id order, and the damaged ones it passed over.
   *
   * @param records the records, at most the page's limit
   * @param damaged the documents passed over because they are damaged, each with its error
   */
  record Page(List<StoredRecord> records, List<CorruptFileException> damaged) {}

  /**
   * Lists a collection's records in id order, one page. A damaged document does not stop the
   * listing: it is passed over (and reported in the page) so that the page still holds
   * {@code limit} readable records where there are that many.
   *
   * @throws IOException if the directory cannot be read
   */
  Page list(String collection, String afterId, int limit) throws IOException {
    Path dir = directory(collection);
    if (!checkDirectory(collection, IfMissing.REPORT)) {
      return new Page(List.of(), List.of());
    }
    TreeSet<String> ids;
    try {
      ids = ids(dir, afterId);
    } catch (NoSuchFileException e) {
      return new Page(List.of(), List.of());
    }
    // Keep reading past ids whose file vanished since the listing (deleted by another process), so a
    // page is short only at the end of the collection.
    List<StoredRecord> out = new ArrayList<>(Math.min(limit, ids.size()));
    List<CorruptFileException> damaged = new ArrayList<>();
    for (String id : ids) {
      if (out.size() == limit) {
        break;
      }
      try {
        read(new RecordKey(collection, id)).ifPresent(out::add);
      } catch (CorruptFileException e) {
        damaged.add(e);
      }
    }
    return new Page(out, damaged);
  }

  /**
   * Scans every document for the highest revision, for recovery when the lock header is lost.
   * Damaged documents are skipped (they fail their own reads).
   *
   * @return the highest revision of any readable document, 0 if none
   */
  long highestRevision() throws IOException {
    long highest = 0;
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(state)) {
      for (Path dir : dirs) {
        String collection = dir.getFileName().toString();
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !NAME.matcher(collection).matches()) {
          continue;
        }
        for (String id : ids(dir, null)) {
          try {
            highest = Math.max(highest, read(new RecordKey(collection, id)).map(StoredRecord::revision).orElse(0L));
          } catch (CorruptFileException e) {
            LOG.warn("Skipping damaged document {} while looking for the highest revision", e.file());
          }
        }
      }
    }
    return highest;
  }

  /**
   * Lists the whole store, for building the secondary index: every collection directory whose name
   * could be a collection, in name order.
   *
   * @return the collections that have a directory
   */
  List<String> collections() throws IOException {
    TreeSet<String> names = new TreeSet<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(state)) {
      for (Path dir : dirs) {
        String collection = dir.getFileName().toString();
        if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) && NAME.matcher(collection).matches()) {
          names.add(collection);
        }
      }
    }
    return List.copyOf(names);
  }

  /** @return the ids of a collection's documents, sorted (a listing of its directory) */
  TreeSet<String> ids(String collection) throws IOException {
    try {
      return ids(directory(collection), null);
    } catch (NoSuchFileException e) {
      return new TreeSet<>();
    }
  }

  /** @return the ids of the documents in a collection's directory after {@code afterId} (null: all), sorted */
  private static TreeSet<String> ids(Path dir, String afterId) throws IOException {
    TreeSet<String> ids = new TreeSet<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        if (!name.endsWith(SUFFIX)) {
          continue;
        }
        String id = name.substring(0, name.length() - SUFFIX.length());
        if (NAME.matcher(id).matches() && (afterId == null || id.compareTo(afterId) > 0)) {
          ids.add(id);
        }
      }
    }
    return ids;
  }

  /**
   * Writes a record's file: an existing file is overwritten in place and cut to length; a new one
   * is created by temporary file, write, rename. Nothing is forced: the journal holds the write until
   * the checkpoint forces the file.
   */
  void write(RecordKey key, byte[] content) throws IOException {
    Path file = file(key);
    checkDirectory(key.collection(), IfMissing.CREATE);
    try (FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS))) {
      // Only a checksummed document may be overwritten in place: a reader (or a writer killed mid-write) would
      // otherwise meet a mix of old and new bytes it cannot tell from a real version. A document without a
      // checksum (written by hand, or by an earlier version) is replaced by rename, once.
      if (framed(ch)) {
        ByteBuffer buf = ByteBuffer.wrap(content);
        while (buf.hasRemaining()) {
          ch.write(buf, buf.position());
        }
        ch.truncate(content.length); // no-op unless the old version was longer
        return;
      }
    } catch (NoSuchFileException e) {
      // a new document
    }
    replace(file, content, Sync.NO_FORCE, permissions);
  }

  /**
   * Replaces a file atomically: a temporary file in the same directory, write, optionally force,
   * rename over the target. The temporary file's name starts with a dot and ends in {@code .tmp}.
   *
   * @param sync whether the temporary file is forced before the rename
   */
  static void replace(Path file, byte[] content, Sync sync, FilePermissions permissions) throws IOException {
    Path temp = file.resolveSibling("." + file.getFileName() + "."
        + Long.toHexString(ThreadLocalRandom.current().nextLong()) + TEMP_SUFFIX);
    try (FileChannel ch = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS), permissions.file())) {
      ByteBuffer buf = ByteBuffer.wrap(content);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      if (sync == Sync.FORCE) {
        ch.force(true);
      }
    } catch (IOException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** @return whether the file ends like a checksummed document line */
  private static boolean framed(FileChannel ch) throws IOException {
    long size = ch.size();
    int n = (int) Math.min(size, Lines.SUFFIX_LENGTH + 8L); // the suffix, the newline and a byte before them
    ByteBuffer tail = ByteBuffer.allocate(n);
    while (tail.hasRemaining() && ch.read(tail, size - n + tail.position()) > 0) {
      // fill
    }
    return Lines.isFramed(tail.array(), 0, tail.position());
  }

  /** Deletes a record's file if it exists. */
  void delete(RecordKey key) throws IOException {
    Path file = file(key);
    if (checkDirectory(key.collection(), IfMissing.REPORT)) {
      Files.deleteIfExists(file);
    }
  }

  /**
   * Removes temporary files left by a process that died while writing one. Called only while the
   * store's writer lock is held, when no live writer can own one.
   *
   * @return how many were removed
   */
  int removeStrayTemporaryFiles() throws IOException {
    int removed = 0;
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(state)) {
      for (Path dir : dirs) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, "." + "*" + TEMP_SUFFIX)) {
          for (Path t : temps) {
            LOG.warn("Removing temporary file {} left by an interrupted write", t);
            Files.deleteIfExists(t);
            removed++;
          }
        }
      }
    }
    return removed;
  }

  /** What to do when a collection's directory does not exist. */
  private enum IfMissing {
    /** Create it (a write). */
    CREATE,
    /** Say so (a read or delete: nothing to do). */
    REPORT
  }

  /**
   * Checks that a collection's directory is a real directory inside the root, creating it if asked.
   *
   * @return true if it exists
   */
  private boolean checkDirectory(String collection, IfMissing ifMissing) throws IOException {
    if (checkedDirectories.contains(collection)) {
      return true;
    }
    Path dir = directory(collection);
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      if (ifMissing == IfMissing.REPORT) {
        return false;
      }
      try {
        Files.createDirectory(dir, permissions.directory());
      } catch (FileAlreadyExistsException raced) {
        // created by another process meanwhile: checked below
      }
      attrs = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }
    if (!attrs.isDirectory() || attrs.isSymbolicLink()) {
      throw new IOException("collection path is not a directory inside the store (a link or a file): " + dir);
    }
    checkedDirectories.add(collection);
    return true;
  }

  /** @return the directory of a collection, for forcing */
  Path directoryOf(RecordKey key) {
    return directory(key.collection());
  }

  static byte[] readAll(FileChannel ch, Path file) throws IOException {
    long size = ch.size();
    if (size > Integer.MAX_VALUE - 16) {
      throw new IOException("file too large: " + file + " (" + size + " bytes)");
    }
    ByteBuffer buf = ByteBuffer.allocate((int) size);
    while (buf.hasRemaining()) {
      if (ch.read(buf, buf.position()) < 0) {
        break; // truncated meanwhile
      }
    }
    return buf.position() == buf.capacity() ? buf.array() : java.util.Arrays.copyOf(buf.array(), buf.position());
  }
}
