package io.kyros.collab.file;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.kyros.collab.spi.StoredEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event log: checksummed JSON lines in segment files {@code events/<first id, 20 digits>.jsonl}.
 * Ids are dense (1, 2, 3, ...), so the segment holding an id is the one with the greatest first id
 * not above it, and the line holding it is found by a binary search over byte offsets (a probe reads
 * the id at the start of the next line), never by scanning from the start. Readers keep a small
 * cache of where the last reads ended, so tailing continues where it stopped. Memory does not grow
 * with the log: the segment list and a bounded cache.
 *
 * <p>A line is visible to readers once it is complete (ends in a newline); the writer appends whole
 * commits with one write, under the store's writer lock. Reads need no lock, open their own
 * channels and work while another process appends.
 *
 * <p>On-disk format: framed lines ({@link Lines}), ids dense across segments, a segment named by its
 * first id and started at a commit boundary once the previous one holds {@code segmentBytes}:
 *
 * <pre>
 * events/00000000000000000001.jsonl
 *   {"id":1,"ts":"2026-11-21T13:44:55.509Z","event":"…","actor":"…","target":"…","details":{…},"crc32c":"5f0c2a91"}\n
 *   {"id":2,…}\n
 * events/00000000000000184467.jsonl   the next segment: events from id 184467
 * </pre>
 *
 * <p>Locks: the writer's methods run under the store's writer lock; {@link #lastId()} is
 * synchronized on this object for its tail cache. Thread-safe.
 */
final class EventSegments {
  private static final Logger LOG = LoggerFactory.getLogger(EventSegments.class);
  private static final String SUFFIX = ".jsonl";
  private static final int BLOCK = 64 * 1024;

  private final Path dir;
  private final long segmentBytes;
  private final FilePermissions permissions;
  /** First id to segment file, as last listed. */
  private final ConcurrentSkipListMap<Long, Path> segments = new ConcurrentSkipListMap<>();
  /**
   * Event id to (segment, offset of the line after it): where recent reads ended. Maintained on the calling thread:
   * handing maintenance to the common pool would wake a pool thread every few reads.
   */
  private final Cache<Long, Position> positions = Caffeine.newBuilder().maximumSize(1024).executor(Runnable::run)
      .build();
  /** Tail of the newest segment as last scanned: segment first id, scanned offset, last id seen. */
  private long tailSegment = -1;
  private long tailOffset;
  private long tailId;
  /** The writer's segment and channel; used under the store's writer lock only. */
  private Path writeSegment;
  private FileChannel writeChannel;

  private record Position(long segment, long offset) {}

  EventSegments(Path dir, long segmentBytes, FilePermissions permissions) {
    this.dir = dir;
    this.segmentBytes = segmentBytes;
    this.permissions = permissions;
  }

  static String segmentName(long firstId) {
    return String.format("%020d%s", firstId, SUFFIX);
  }

  /** @return the file of the segment that starts at {@code firstId} (whether or not it exists) */
  Path segmentFile(long firstId) {
    return dir.resolve(segmentName(firstId));
  }

  /** Re-reads the list of segment files. */
  void list() throws IOException {
    Map<Long, Path> found = new TreeMap<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        String digits = name.substring(0, name.length() - SUFFIX.length());
        if (digits.length() == 20 && digits.chars().allMatch(Character::isDigit)) {
          found.put(Long.parseLong(digits), f);
        }
      }
    }
    segments.putAll(found);
    segments.keySet().retainAll(found.keySet()); // an empty segment removed by a recovery
  }

  // -------------------------------------------------------------------------------------- reads

  /**
   * Reads up to {@code limit} complete events after {@code afterId}.
   *
   * @throws CorruptFileException on a line whose checksum or id sequence is wrong
   */
  List<StoredEvent> read(long afterId, int limit) throws IOException {
    if (segments.isEmpty() || needsRelist()) {
      list();
    }
    List<StoredEvent> out = new ArrayList<>(Math.min(limit, 256));
    try {
      readInto(afterId, limit, out);
    } catch (CorruptFileException e) {
      if (out.isEmpty()) {
        throw e;
      }
      // Damage past the events read so far fails the read that would return it, not this one.
      LOG.debug("Returning {} events after {}: the next one is damaged", out.size(), afterId, e);
    }
    return out;
  }

  /**
   * Adds up to {@code limit} events after {@code afterId} to {@code out}, remembering where it
   * stopped. Every pass of the loop moves to a later segment or reads further in a grown one, or
   * fails: it cannot spin.
   */
  private void readInto(long afterId, int limit, List<StoredEvent> out) throws IOException {
    Position start = positions.getIfPresent(afterId);
    long segment;
    long offset;
    if (start != null) {
      segment = start.segment();
      offset = start.offset();
    } else {
      Map.Entry<Long, Path> e = segments.floorEntry(afterId + 1);
      if (e == null) {
        e = segments.firstEntry();
        if (e == null) {
          return;
        }
      }
      segment = e.getKey();
      offset = search(segment, afterId + 1);
    }
    // the id of the last line seen before offset (known when continuing a cached read)
    long lastSeen = start != null ? afterId : -1;
    while (out.size() < limit) {
      Path file = segments.get(segment);
      Scan scan = scan(file, segment, offset, lastSeen, afterId, limit - out.size(), out);
      offset = scan.end();
      lastSeen = scan.lastId() >= 0 ? scan.lastId() : lastSeen;
      if (out.size() >= limit) {
        break;
      }
      if (scan.partial() && segments.higherKey(segment) != null) {
        // another process may have completed that line and started the next segment since: look again
        Scan again = scan(file, segment, offset, lastSeen, afterId, limit - out.size(), out);
        offset = again.end();
        lastSeen = again.lastId() >= 0 ? again.lastId() : lastSeen;
        if (again.partial()) {
          throw new CorruptFileException(file, again.end(), "incomplete last line in a segment that is not the newest",
              null);
        }
        if (out.size() >= limit) {
          break;
        }
      }
      // Ids are dense and a segment starts at a commit boundary, so the next segment, if any, is
      // named by the id after the last one here. Look for that file itself: a directory listing
      // can miss a file another process creates while it runs.
      long expected = lastSeen >= 0 ? lastSeen + 1 : segment;
      Long next = segments.higherKey(segment);
      if (expected <= segment) {
        // nothing read in this segment: the newest may be empty; an older one must not be
        if (next == null) {
          break;
        }
        throw new CorruptFileException(file, offset, "segment holds no complete event after byte " + offset
            + " but segment " + segmentName(next) + " follows it (an emptied or truncated segment)", null);
      }
      if (next == null && scan.size() < segmentBytes) {
        // the newest segment is not full, so no process has started the next one (format.json fixes segmentBytes
        // for every process): a tail's usual case, answered without looking for a file that is not there
        break;
      }
      if (next == null || next != expected) {
        Path successor = dir.resolve(segmentName(expected));
        if (Files.exists(successor, LinkOption.NOFOLLOW_LINKS)) {
          segments.put(expected, successor);
          next = expected;
        } else if (next != null && Files.size(file) > offset) {
          continue; // the segment grew meanwhile (another process appended to it): read on
        } else if (next != null) {
          throw new CorruptFileException(segments.get(next), 0,
              "segment starts at id " + next + " but the previous segment ends at " + (expected - 1), null);
        } else {
          break;
        }
      }
      segment = next;
      offset = 0;
    }
    if (!out.isEmpty()) {
      positions.put(out.get(out.size() - 1).id(), new Position(segment, offset));
    }
  }

  /**
   * Where a scan stopped, whether an incomplete line follows, the last id it saw (-1 if none), and how large it found
   * the file (at least as large as what it read).
   */
  private record Scan(long end, boolean partial, long lastId, long size) {}

  /**
   * Reads complete lines of one segment from {@code offset}, adding events with ids above
   * {@code afterId} until {@code limit} were added. Every line's id must follow the one before it, the first line's
   * too when the id before {@code offset} is known ({@code before}: a read continuing where an earlier one stopped),
   * so a damaged id is reported even where it would look like an event already read.
   *
   * @param before the id of the line before {@code offset}, or -1 if unknown (then the first line is checked only
   *     at the segment's start, against {@code firstId})
   */
  private Scan scan(Path file, long firstId, long offset, long before, long afterId, int limit,
      List<StoredEvent> out) throws IOException {
    try (FileChannel ch = SegmentFiles.open(file)) {
      return scan(ch, file, firstId, offset, before, afterId, limit, out);
    }
  }

  private Scan scan(FileChannel ch, Path file, long firstId, long offset, long before, long afterId, int limit,
      List<StoredEvent> out) throws IOException {
    long size = ch.size();
    if (size <= offset) {
      return new Scan(offset, false, before, size); // nothing new: a tail's usual look, without a buffer or a read
    }
    // as large as what is there (a tail reads a line or two), at most a block; a full block if the file grew since,
    // and larger for a line longer than the buffer
    byte[] buf = new byte[(int) Math.min(size - offset, BLOCK)];
    long bufStart = offset;
    int len = 0;
    long previous = before;
    int added = 0;
    boolean grown = false; // the last read filled the buffer with bytes beyond the size first seen
    while (added < limit) {
      if (len == buf.length) {
        buf = Arrays.copyOf(buf, buf.length < BLOCK ? BLOCK : buf.length * 2); // a line longer than the buffer
      } else if (grown && buf.length < BLOCK) {
        buf = Arrays.copyOf(buf, BLOCK); // the file grew since its size was read: read on in blocks
      }
      int n = ch.read(ByteBuffer.wrap(buf, len, buf.length - len), bufStart + len);
      if (n <= 0) {
        return new Scan(bufStart, len > 0, previous, Math.max(size, bufStart + len));
      }
      len += n;
      grown = len == buf.length && bufStart + len > size;
      int s = 0;
      for (int i = 0; i < len && added < limit; i++) {
        if (buf[i] != '\n') {
          continue;
        }
        long lineOffset = bufStart + s;
        long id = Codec.eventIdPrefix(buf, s, i);
        if (id <= 0) {
          throw new CorruptFileException(file, lineOffset, "line does not start with {\"id\":<number>,", null);
        }
        if (id > afterId && !Lines.verify(buf, s, i)) {
          throw new CorruptFileException(file, lineOffset, "checksum mismatch in the line of event " + id, null);
        }
        if (previous >= 0 ? id != previous + 1 : (lineOffset == 0 && id != firstId)) {
          throw new CorruptFileException(file, lineOffset, "event id " + id + " breaks the sequence (expected "
              + (previous >= 0 ? previous + 1 : firstId) + ")", null);
        }
        previous = id;
        if (id > afterId) {
          out.add(Codec.decodeEvent(Arrays.copyOfRange(buf, s, i), file, lineOffset));
          added++;
        }
        s = i + 1;
      }
      System.arraycopy(buf, s, buf, 0, len - s);
      bufStart += s;
      len -= s;
    }
    return new Scan(bufStart, false, previous, Math.max(size, bufStart + len));
  }

  /**
   * Binary search over byte offsets for the start of the line with id {@code target} (or the
   * nearest line start before it); the caller scans forward from there.
   */
  private long search(long segment, long target) throws IOException {
    if (target <= segment) {
      return 0;
    }
    try (FileChannel ch = SegmentFiles.open(segments.get(segment))) {
      long lo = 0;
      long hi = ch.size();
      while (hi - lo > BLOCK) {
        long mid = (lo + hi) >>> 1;
        long[] line = SegmentFiles.nextLine(ch, mid);
        if (line == null || line[1] > target) {
          hi = mid;
        } else {
          lo = line[0];
          if (line[1] == target) {
            return lo;
          }
        }
      }
      return lo;
    }
  }

  /**
   * @return the newest event id in complete lines, seen across processes; 0 if the log is empty
   */
  synchronized long lastId() throws IOException {
    if (segments.isEmpty() || needsRelist()) {
      list();
    }
    Map.Entry<Long, Path> newest = segments.lastEntry();
    if (newest == null) {
      return 0;
    }
    long size = Files.size(newest.getValue());
    if (newest.getKey() == tailSegment && size == tailOffset) {
      return tailId;
    }
    try (FileChannel ch = SegmentFiles.open(newest.getValue())) {
      if (newest.getKey() != tailSegment || size < tailOffset) {
        tailSegment = newest.getKey();
        long[] last = SegmentFiles.lastLine(ch);
        tailOffset = last[0];
        tailId = last[1] > 0 ? last[1] : newest.getKey() - 1;
        return tailId;
      }
      byte[] buf = new byte[(int) Math.min(size - tailOffset, BLOCK)];
      while (tailOffset < size) {
        int n = ch.read(ByteBuffer.wrap(buf), tailOffset);
        if (n <= 0) {
          break;
        }
        int s = 0;
        for (int i = 0; i < n; i++) {
          if (buf[i] == '\n') {
            long id = Codec.eventIdPrefix(buf, s, i);
            if (id > 0) {
              tailId = id;
            }
            s = i + 1;
          }
        }
        if (s == 0) {
          if (n < buf.length) {
            break; // an incomplete line at the end
          }
          buf = new byte[buf.length * 2];
          continue;
        }
        tailOffset += s;
      }
      return tailId;
    }
  }

  /** The newest segment is full: another process may have started a new one. */
  private boolean needsRelist() throws IOException {
    Map.Entry<Long, Path> newest = segments.lastEntry();
    return newest != null && Files.size(newest.getValue()) >= segmentBytes;
  }

  // -------------------------------------------------------------------------- writes (locked)

  /**
   * Truncates a torn tail of the newest segment (an incomplete last line, or a last line whose
   * checksum is wrong) and returns the newest id left. A damaged last line at or before
   * {@code forcedThrough} is not torn (a checkpoint forced it whole): it is reported, and nothing is
   * cut. Called under the writer lock.
   *
   * @param forcedThrough the checkpoint's event id: lines up to it were forced (0: none)
   * @throws CorruptFileException naming the segment and the line's offset, for such a line
   */
  long repairTail(long forcedThrough) throws IOException {
    closeWriter();
    list();
    positions.invalidateAll();
    synchronized (this) {
      tailSegment = -1;
    }
    while (true) {
      Map.Entry<Long, Path> newest = segments.lastEntry();
      if (newest == null) {
        return 0;
      }
      Path file = newest.getValue();
      long lastId = SegmentFiles.cutTornTail(file, newest.getKey(), forcedThrough);
      if (lastId > 0) {
        return lastId;
      }
      Map.Entry<Long, Path> previous = segments.lowerEntry(newest.getKey());
      if (previous == null) {
        return newest.getKey() - 1;
      }
      // An empty newest segment: fine if the previous one ends just before it. If it does not (its
      // unforced tail was lost with the power while the new name survived), drop the empty file and
      // let the journal's replay append the missing events to the previous segment.
      long previousLast = SegmentFiles.cutTornTail(previous.getValue(), previous.getKey(), forcedThrough);
      if (previousLast == newest.getKey() - 1) {
        return previousLast;
      }
      LOG.warn("Removing empty segment {}: the previous segment ends at id {}, not {}", file, previousLast,
          newest.getKey() - 1);
      Files.delete(file);
      FilePermissions.forceDirectory(dir);
      segments.remove(newest.getKey());
    }
  }

  /**
   * After a power loss, cuts the newest segment at its first line that is not whole. Its lines after
   * the last checkpoint were never forced, and the disk may have written back a later page of them
   * without an earlier one: a hole (zeros, or an older page) with whole lines after it, which
   * {@link #repairTail} (the last line only) would keep. The cut lines are still in the journal,
   * whose replay appends them again. Full segments are forced before their successor exists, so only
   * the newest can hold such a hole. Reads the whole newest segment: called only when the page cache
   * may have been lost (the lock header is not trusted). Called under the writer lock.
   *
   * @param forcedThrough the checkpoint's event id: lines up to it were forced, and damage there is
   *     reported, not cut
   * @throws CorruptFileException if a line up to {@code forcedThrough} is damaged
   */
  void cutAtFirstDamagedLine(long forcedThrough) throws IOException {
    closeWriter();
    list();
    Map.Entry<Long, Path> newest = segments.lastEntry();
    if (newest == null) {
      return;
    }
    Path file = newest.getValue();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS)) {
      long[] whole = SegmentFiles.wholeLines(ch, newest.getKey());
      long size = ch.size();
      if (whole[0] < size && whole[1] < forcedThrough) {
        throw new CorruptFileException(file, whole[0], "the line after event " + whole[1] + " is damaged, but the"
            + " checkpoint forced the events through " + forcedThrough, null);
      }
      if (whole[0] < size) {
        LOG.warn("Truncating {} at offset {} ({} bytes): the line there is not whole after a power loss; the journal"
            + " replays what follows", file, whole[0], size - whole[0]);
        ch.truncate(whole[0]);
        ch.force(true);
      }
    }
  }

  /**
   * Checks that the segments form one chain: the first starts at id 1, each ends just before the
   * next one starts, and only the newest may be empty. Reads the last line of each segment (one
   * read backwards per segment). Called under the writer lock, after recovery.
   *
   * @throws CorruptFileException naming the missing, empty or overlapping segment
   */
  void verifyChain() throws IOException {
    list();
    Map.Entry<Long, Path> first = segments.firstEntry();
    if (first == null) {
      return;
    }
    if (first.getKey() != 1) {
      throw new CorruptFileException(segmentFile(1), 0, "missing: the log's first segment is "
          + first.getValue().getFileName() + ", events 1 to " + (first.getKey() - 1) + " are in no segment", null);
    }
    for (Map.Entry<Long, Path> e = first; ; ) {
      Map.Entry<Long, Path> next = segments.higherEntry(e.getKey());
      if (next == null) {
        return;
      }
      long last;
      try (FileChannel ch = SegmentFiles.open(e.getValue())) {
        last = SegmentFiles.lastLine(ch)[1];
      }
      if (last <= 0) {
        throw new CorruptFileException(e.getValue(), 0, "segment is empty (or its last line unreadable) but "
            + next.getValue().getFileName() + " follows it", null);
      }
      if (last + 1 < next.getKey()) {
        throw new CorruptFileException(segmentFile(last + 1), 0, "missing: " + e.getValue().getFileName()
            + " ends at event " + last + " but the next segment is " + next.getValue().getFileName(), null);
      }
      if (last + 1 > next.getKey()) {
        throw new CorruptFileException(next.getValue(), 0, "segment starts at event " + next.getKey() + " but "
            + e.getValue().getFileName() + " ends at event " + last, null);
      }
      e = next;
    }
  }

  /**
   * Appends commits' event lines, starting a new segment at a commit boundary when the current one
   * is full. Called under the writer lock.
   *
   * @param batches the encoded lines of each commit, and the id of each commit's first event
   */
  void append(List<byte[]> batches, List<Long> firstIds) throws IOException {
    ByteArrayOutputStream pending = new ByteArrayOutputStream();
    // the segment's size is read once per batch (and once per segment started): no other process appends while this
    // one holds the OS lock, so within the batch it grows only by what this loop adds (an fstat per commit was a
    // measurable part of a batch of small appends)
    long size = -1;
    for (int i = 0; i < batches.size(); i++) {
      if (batches.get(i).length == 0) {
        continue;
      }
      if (size < 0) {
        size = ensureWriter(firstIds.get(i));
      }
      if (size + pending.size() >= segmentBytes) {
        flush(pending);
        roll(firstIds.get(i));
        size = writeChannel.size();
      }
      pending.writeBytes(batches.get(i));
    }
    flush(pending);
  }

  /** @return the size of the segment the writer appends to, opening the newest (or the first) */
  private long ensureWriter(long firstId) throws IOException {
    if (writeChannel != null && !writeChannel.isOpen()) {
      // closed by an interrupt of the writer thread inside an operation on it: open the newest segment again below
      LOG.warn("The channel of {} was closed (an interrupt of the writer thread); opening it again", writeSegment);
      writeChannel = null;
      writeSegment = null;
    }
    if (writeChannel != null) {
      long size = writeChannel.size();
      if (size < segmentBytes && segments.lastEntry().getValue().equals(writeSegment)) {
        return size;
      }
    }
    list();
    Map.Entry<Long, Path> newest = segments.lastEntry();
    if (newest == null) {
      roll(firstId);
    } else if (!newest.getValue().equals(writeSegment)) {
      closeWriter();
      writeSegment = newest.getValue();
      writeChannel = FileChannel.open(writeSegment, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    }
    return writeChannel.size();
  }

  private void roll(long firstId) throws IOException {
    if (writeChannel != null) {
      // A full segment is forced before its successor exists, so a power loss can never keep the
      // new segment's name and lose the old one's tail. Once per segment: cheap.
      writeChannel.force(true);
    }
    closeWriter();
    Path file = dir.resolve(segmentName(firstId));
    writeChannel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS), permissions.file());
    writeSegment = file;
    FilePermissions.forceDirectory(dir);
    segments.put(firstId, file);
    LOG.debug("Started event segment {}", file);
  }

  private void flush(ByteArrayOutputStream pending) throws IOException {
    if (pending.size() == 0) {
      return;
    }
    ByteBuffer buf = ByteBuffer.wrap(pending.toByteArray());
    long at = writeChannel.size();
    while (buf.hasRemaining()) {
      at += writeChannel.write(buf, at);
    }
    pending.reset();
  }

  /** @return the segment files holding ids from {@code fromId} on, for forcing at a checkpoint */
  Set<Path> segmentsFrom(long fromId) throws IOException {
    list();
    Long first = segments.floorKey(fromId);
    NavigableMap<Long, Path> tail = first == null ? segments : segments.tailMap(first, true);
    return new HashSet<>(tail.values());
  }

  private void closeWriter() throws IOException {
    if (writeChannel != null) {
      writeChannel.close();
      writeChannel = null;
      writeSegment = null;
    }
  }

  /** Closes every channel. */
  void close() throws IOException {
    closeWriter();
  }
}
