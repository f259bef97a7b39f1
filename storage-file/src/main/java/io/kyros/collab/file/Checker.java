package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.kyros.collab.file.Codec.Counters;
import io.kyros.collab.file.JournalCodec.JournalEntry;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The store checker behind {@link FileStorage#check(Path)}: verifies a whole directory without
 * changing anything, and lists every problem with its file and offset.
 *
 * <p>It checks: {@code format.json}; {@code checkpoint.json} and the lock header (parse and
 * checksum); the journal (every entry's checksum and form; that its entries reach what the header
 * records as applied); every document (checksum, form, that its {@code hash} is the SHA-256 of its
 * value, that its revision is not beyond every counter); every event segment (the chain starts at
 * 1 and continues without a hole or an empty older segment; every line's checksum, id and form);
 * and that the log holds every event id a checkpoint, header or journal entry records (journaled events
 * that continue the log are pending, not missing: the next open appends them). A torn last
 * line of the newest segment or of the journal is not a problem: it is what a crash leaves, never
 * acknowledged, and the next open cuts it.
 *
 * <p>A damaged document that a journal entry the next open applies writes (after the header's applied
 * offset, or any entry when the header is not trusted, as {@link Recovery} decides) is pending, not a
 * problem: open completes a torn in-place overwrite from the journal.
 *
 * <p>Guarantees: opens every file read-only and creates nothing, and takes no lock. A writer may
 * commit while it runs: a document that looks damaged or beyond the counters is read a second time,
 * then the journal, checkpoint, header and journal again, and judged against those later counters,
 * so a commit in progress is not reported; a lock header failing its checksum is read once more at
 * once (a reading that overlaps the writer's rewrite of it can be torn). Never loops: each file is
 * read at most twice (the journal four times, the lock header four). Locks: none. Stateless and
 * thread-safe.
 */
final class Checker {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
  private static final Pattern SEGMENT = Pattern.compile("[0-9]{20}\\.jsonl");

  private final Path root;
  private final List<CheckReport.Problem> problems = new ArrayList<>();
  private long documents;
  private long events;
  private long journalEntries;
  /** The documents that looked wrong at the first reading. */
  private final List<Suspect> suspects = new ArrayList<>();

  private Checker(Path root) {
    this.root = root;
  }

  /**
   * @param root the store's directory
   * @return the report
   * @throws IOException if a directory cannot be listed
   */
  static CheckReport check(Path root) throws IOException {
    Checker c = new Checker(root);
    c.run();
    return new CheckReport(root, c.documents, c.events, c.journalEntries, c.problems);
  }

  private void problem(Path file, long offset, String description) {
    problems.add(new CheckReport.Problem(file, Math.max(0, offset), description));
  }

  private void run() throws IOException {
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      problem(root, 0, "not a directory");
      return;
    }
    Path format = root.resolve(FormatFile.NAME);
    if (Files.exists(format, LinkOption.NOFOLLOW_LINKS)) {
      try {
        FormatFile.parse(format);
      } catch (CorruptFileException e) {
        problem(format, e.offset(), message(e));
      }
    } else {
      problem(format, 0, "missing");
    }
    Snapshot first = snapshot(true);
    checkDocuments(first);
    long segmentsLast = checkSegments();
    // A writer may commit while the check runs: the documents and segments were read after the counters,
    // so whatever looked wrong gets a second look against counters read after it.
    // Each suspect is read again before the counters are: a commit that wrote it is then in one of their readings.
    List<byte[]> reread = new ArrayList<>();
    for (Suspect s : suspects) {
      reread.add(readIfExists(s.file()));
    }
    Snapshot last = suspects.isEmpty() ? first : snapshot(false);
    long revisions = Math.max(first.revision(), last.revision());
    for (int i = 0; i < suspects.size(); i++) {
      Suspect s = suspects.get(i);
      List<CheckReport.Problem> again = judgeDocument(s.key(), s.file(), reread.get(i), revisions);
      if (again.isEmpty()) {
        continue;
      }
      if (last.pending().contains(s.key()) || first.pending().contains(s.key())) {
        // a journaled commit the next open applies writes it: a crash's (or a running writer's) torn overwrite
        continue;
      }
      problems.addAll(again);
    }
    long journalEvent = Math.max(first.journalEvent(), last.journalEvent());
    long eventFloor = first.eventFloor();
    long logLast = segmentsLast;
    // Journaled events the log does not hold yet (a process killed between the journal's force and
    // the append) are not lost: the next open appends them, provided they continue the log.
    long pendingFirst = first.journalEventIds().stream().filter(id -> id > segmentsLast).min(Long::compare)
        .orElse(0L);
    if (pendingFirst == segmentsLast + 1) {
      logLast = Math.max(logLast, journalEvent);
    }
    if (logLast < eventFloor) {
      problem(root.resolve("events").resolve(EventSegments.segmentName(logLast + 1)), 0, "missing: the log ends at"
          + " event " + logLast + " but event " + eventFloor + " was handed out (checkpoint, lock header or journal)");
    }
  }

  /** A document that looked wrong at the first reading, judged again after the counters are read again. */
  private record Suspect(RecordKey key, Path file) {}

  /**
   * The counters as one reading of the checkpoint, the lock header and the journal tells them.
   *
   * @param revision the highest revision any of them names
   * @param eventFloor the highest event id checkpoint, header or journal names
   * @param journalEvent the highest event id the journal names
   * @param journalEventIds the ids of the events the journal holds
   * @param pending the keys that journaled commits the next open still applies write
   */
  private record Snapshot(long revision, long eventFloor, long journalEvent, List<Long> journalEventIds,
      Set<RecordKey> pending) {}

  /**
   * Reads the journal, the checkpoint, the lock header and the journal once more, in that order: a
   * commit moves from the journal to the checkpoint (written before the journal is emptied), so one
   * of the readings sees every commit journaled before this call.
   */
  private Snapshot snapshot(boolean report) throws IOException {
    Path journal = root.resolve(Journal.NAME);
    byte[] before = readIfExists(journal);
    Counters checkpoint = new Counters(0, 0, -1, null);
    try {
      checkpoint = Checkpoints.read(root);
    } catch (CorruptFileException e) {
      if (report) {
        problem(e.file(), e.offset(), message(e));
      }
    }
    Counters header = readHeader(report);
    byte[] journalBytes = readIfExists(journal);
    long journalRevision = 0;
    long journalEvent = 0;
    List<Long> eventIds = new ArrayList<>();
    Set<RecordKey> pending = new HashSet<>();
    if (journalBytes == null) {
      if (report) {
        problem(journal, 0, "missing");
      }
    } else {
      try {
        Journal.Parsed parsed = Journal.parse(journalBytes, 0, journal);
        if (report) {
          journalEntries = parsed.entries().size();
        }
        for (JournalEntry e : parsed.entries()) {
          journalRevision = Math.max(journalRevision, e.revision());
          journalEvent = Math.max(journalEvent, e.eventId());
          for (var event : e.events()) {
            eventIds.add(event.id());
          }
        }
        boolean covered = header == null
            || (checkpoint.revision() >= header.revision() && checkpoint.eventId() >= header.eventId());
        if (report && !covered && parsed.end() < header.journal() && !checkpointCovers(header)) {
          problem(journal, parsed.end(), "the entries end at byte " + parsed.end() + " but the lock header records "
              + header.journal() + " bytes applied: journaled commits are lost");
        }
        pending.addAll(pendingKeys(parsed, journalBytes, header, journal));
      } catch (CorruptFileException e) {
        if (report) {
          problem(journal, e.offset(), message(e));
        }
      }
    }
    if (before != null) {
      try {
        for (JournalEntry e : Journal.parse(before, 0, journal).entries()) {
          journalRevision = Math.max(journalRevision, e.revision());
          journalEvent = Math.max(journalEvent, e.eventId());
        }
      } catch (CorruptFileException e) {
        // reported (if it persists) by the second reading
      }
    }
    long revision = Math.max(Math.max(checkpoint.revision(), journalRevision), header == null ? 0 : header.revision());
    long eventFloor = Math.max(Math.max(checkpoint.eventId(), journalEvent), header == null ? 0 : header.eventId());
    return new Snapshot(revision, eventFloor, journalEvent, eventIds, pending);
  }

  /** @return whether the checkpoint, read again after the journal, covers the header (a writer checkpointed meanwhile) */
  private boolean checkpointCovers(Counters header) throws IOException {
    try {
      Counters checkpoint = Checkpoints.read(root);
      return checkpoint.revision() >= header.revision() && checkpoint.eventId() >= header.eventId();
    } catch (CorruptFileException e) {
      return false; // reported by the first reading
    }
  }

  /**
   * @return the keys written by the journal entries the next open applies, as {@link Recovery} decides:
   *     those after the header's applied offset when the header is trusted (this boot's, at a line
   *     boundary), every entry otherwise
   */
  private Set<RecordKey> pendingKeys(Journal.Parsed parsed, byte[] bytes, Counters header, Path journal) {
    List<JournalEntry> entries = parsed.entries();
    String bootId = LockFile.readBootId(root.getFileSystem());
    long from = header == null ? -1 : header.journal();
    boolean trusted = from >= 0 && from <= parsed.end() && (from == 0 || bytes[(int) from - 1] == '\n')
        && bootId != null && bootId.equals(header.boot());
    if (trusted) {
      try {
        entries = Journal.parse(Arrays.copyOfRange(bytes, (int) from, bytes.length), from, journal).entries();
      } catch (CorruptFileException e) {
        entries = parsed.entries();
      }
    }
    Set<RecordKey> keys = new HashSet<>();
    for (JournalEntry e : entries) {
      for (var w : e.writes()) {
        keys.add(w.key());
      }
    }
    return keys;
  }

  private Counters readHeader(boolean report) throws IOException {
    Path lock = root.resolve(LockFile.NAME);
    // never a channel of its own on the lock file: closing it would drop this JVM's OS lock (StoreRegistry)
    HeaderReading reading = readHeader(() -> StoreRegistry.readLockHeader(root));
    if (reading.damaged() && report) {
      problem(lock, 0, "the header cannot be read or fails its checksum (the next open replays the whole journal)");
    }
    return reading.header();
  }

  /** Reads a file's bytes; null if it does not exist. */
  @FunctionalInterface
  interface BytesReader {
    byte[] read() throws IOException;
  }

  /**
   * One reading of the lock header.
   *
   * @param header the header's counters, or null if there is none or it cannot be trusted
   * @param damaged whether it is damaged: it failed twice with the same bytes
   */
  record HeaderReading(Counters header, boolean damaged) {}

  /**
   * Reads the lock header, a second time if the first reading cannot be decoded. A writer rewrites
   * the header in place after every commit without any lock a reader could take, and a read that
   * overlaps that write can return parts of both (Linux does not make a buffered write atomic for a
   * concurrent read): such a torn reading fails its checksum although the file is healthy. The header
   * is damaged only if the second reading fails too and holds the same bytes; two different failing
   * readings mean a writer is rewriting it (the header is not trusted then, and nothing is reported).
   *
   * @param read reads the lock file's bytes
   * @return the reading
   * @throws IOException if the file cannot be read
   */
  static HeaderReading readHeader(BytesReader read) throws IOException {
    byte[] first = read.read();
    if (first == null || first.length == 0) {
      return new HeaderReading(null, false);
    }
    Counters header = LockFile.decodeHeader(first, first.length);
    if (header != null) {
      return new HeaderReading(header, false);
    }
    byte[] second = read.read();
    if (second == null || second.length == 0) {
      return new HeaderReading(null, false);
    }
    header = LockFile.decodeHeader(second, second.length);
    return new HeaderReading(header, header == null && Arrays.equals(first, second));
  }

  private void checkDocuments(Snapshot counters) throws IOException {
    Path state = root.resolve("state");
    if (!Files.isDirectory(state, LinkOption.NOFOLLOW_LINKS)) {
      problem(state, 0, "missing");
      return;
    }
    for (Path dir : sorted(state)) {
      String collection = dir.getFileName().toString();
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !NAME.matcher(collection).matches()) {
        continue;
      }
      for (Path file : sorted(dir)) {
        String name = file.getFileName().toString();
        if (!name.endsWith(".json") || !NAME.matcher(name.substring(0, name.length() - 5)).matches()) {
          continue;
        }
        documents++;
        RecordKey key = new RecordKey(collection, name.substring(0, name.length() - 5));
        if (!judgeDocument(key, file, readIfExists(file), counters.revision()).isEmpty()) {
          suspects.add(new Suspect(key, file));
        }
      }
    }
  }

  /** @return what is wrong with a document's bytes (none if they are absent: removed meanwhile) */
  private static List<CheckReport.Problem> judgeDocument(RecordKey key, Path file, byte[] bytes, long revisions) {
    List<CheckReport.Problem> found = new ArrayList<>();
    if (bytes == null) {
      return found;
    }
    StoredRecord r;
    try {
      r = DocumentCodec.decodeDocument(key, bytes, file).record();
    } catch (CorruptFileException e) {
      found.add(new CheckReport.Problem(file, Math.max(0, e.offset()), message(e)));
      return found;
    }
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
    String hash = Base64.getUrlEncoder().withoutPadding()
        .encodeToString(Arrays.copyOf(sha256.digest(r.json().getBytes(UTF_8)), 16));
    if (!hash.equals(r.hash())) {
      found.add(new CheckReport.Problem(file, 0, "\"hash\" " + r.hash() + " is not the hash of the value (" + hash
          + "): its ETag would lie"));
    }
    if (r.revision() > revisions) {
      found.add(new CheckReport.Problem(file, 0, "revision " + r.revision() + " is beyond every counter ("
          + revisions + "): the next commits would hand it out again"));
    }
    return found;
  }

  /** @return the last event id of the log (0 if empty) */
  private long checkSegments() throws IOException {
    Path dir = root.resolve("events");
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      problem(dir, 0, "missing");
      return 0;
    }
    Map<Long, Path> segments = new TreeMap<>();
    for (Path f : sorted(dir)) {
      if (SEGMENT.matcher(f.getFileName().toString()).matches()) {
        segments.put(Long.parseLong(f.getFileName().toString().substring(0, 20)), f);
      }
    }
    long expected = 1;
    int i = 0;
    for (Map.Entry<Long, Path> s : segments.entrySet()) {
      boolean newest = ++i == segments.size();
      if (s.getKey() != expected) {
        Path file = s.getKey() > expected ? dir.resolve(EventSegments.segmentName(expected)) : s.getValue();
        problem(file, 0, s.getKey() > expected
            ? "missing: events " + expected + " to " + (s.getKey() - 1) + " are in no segment"
            : "segment starts at event " + s.getKey() + " but the one before ends at " + (expected - 1));
      }
      long last = checkSegment(s.getValue(), s.getKey(), newest);
      if (last < 0) {
        if (!newest) {
          problem(s.getValue(), 0, "segment is empty but a newer one follows");
        }
        expected = s.getKey();
      } else {
        expected = last + 1;
      }
    }
    return expected - 1;
  }

  /** @return the last id in the segment, or -1 if it holds no complete line */
  private long checkSegment(Path file, long firstId, boolean newest) throws IOException {
    byte[] buf = readIfExists(file);
    if (buf == null) {
      return -1;
    }
    long previous = -1;
    int s = 0;
    while (s < buf.length) {
      int nl = Lines.indexOf(buf, (byte) '\n', s, buf.length);
      if (nl < 0) {
        if (!newest) {
          problem(file, s, "incomplete last line in a segment that is not the newest");
        }
        break; // the newest's torn tail: cut at the next open
      }
      long id = Codec.eventIdPrefix(buf, s, nl);
      long want = previous >= 0 ? previous + 1 : firstId;
      if (id != want) {
        problem(file, s, id <= 0 ? "line does not start with {\"id\":<number>," : "event id " + id
            + " breaks the sequence (expected " + want + ")");
        return previous >= 0 ? previous : -1; // the rest of the segment cannot be placed
      }
      events++;
      if (!Lines.verify(buf, s, nl)) {
        problem(file, s, "checksum mismatch in the line of event " + id);
      } else {
        try {
          Codec.decodeEvent(Arrays.copyOfRange(buf, s, nl), file, s);
        } catch (CorruptFileException e) {
          problem(file, e.offset(), message(e));
        }
      }
      previous = id;
      s = nl + 1;
    }
    return previous;
  }

  private static List<Path> sorted(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      files.forEach(out::add);
    }
    out.sort(null);
    return out;
  }

  /** Reads a file's bytes; null if it does not exist or is a symbolic link. */
  static byte[] readIfExists(Path file) throws IOException {
    if (Files.isSymbolicLink(file)) {
      return null;
    }
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /** @return the exception's problem, without the "corrupt file X at offset N: " prefix the report repeats */
  private static String message(CorruptFileException e) {
    String m = e.getMessage();
    String marker = " at offset " + e.offset() + ": ";
    int at = m.indexOf(marker);
    return at >= 0 ? m.substring(at + marker.length()) : m;
  }
}
