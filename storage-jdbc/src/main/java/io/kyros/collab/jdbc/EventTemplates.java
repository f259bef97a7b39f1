package io.kyros.collab.jdbc;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The events of a commit whose events name its revisions (such as a task's new ETag), as templates the database
 * completes once it has taken the revisions: what lets such a commit run in one round trip on PostgreSQL
 * ({@link InlineCommit}).
 *
 * <p>Only a commit made by {@link Commit#namingRevisions} qualifies: its event source promises to use each revision
 * only as its decimal text in the details. Its events are built twice, with two sets of stand-in revisions of
 * different lengths and spacings: write {@code i} gets {@code 8100000000000000 + 1009 i} (16 digits, below 2<sup>53</sup>
 * so that canonical JSON writes it as a number), then {@code 7100000 + 13 i} (7 digits). In each build every
 * occurrence of a stand-in's decimal text in an event's details is replaced by the marker of its write:
 *
 * <pre>
 *   U+0001 i U+0002          (the write's position in decimal between two different control characters, so that
 *                             no marker can be read across the end of one and the start of the next)
 * </pre>
 *
 * The events are templates only if both builds give the same events after that replacement: the same number, each
 * with the same type, actor and target, and the same details text, which holds no U+0001 or U+0002 of its own
 * (canonical JSON escapes control characters, so it never does). This checks the promise as far as two samples can:
 * a value of the event's own that happened to contain a stand-in would be replaced in one build and not in the other,
 * and text depending on a revision's length or value in another way (a revision plus one, which cannot be another
 * write's stand-in in both builds as the spacings differ) would differ between the builds; the commit then takes the
 * general path. After the commit, the caller builds the events once more from the real revisions and compares them
 * with the templates completed, which is what was stored ({@link #complete}).
 *
 * <p>Immutable and thread-safe.
 *
 * @param events the events, their details holding markers where a revision goes
 * @param markers per event, the positions of the writes whose revisions its details name, each once, ascending
 */
record EventTemplates(List<NewEvent> events, List<List<Integer>> markers) {
  private static final Logger LOG = LoggerFactory.getLogger(EventTemplates.class);
  /** Opens a marker: a control character, which canonical JSON text never holds unescaped. */
  static final char MARK = '\u0001';
  /** Closes a marker: another control character, so that no marker can be read across two others. */
  static final char MARK_END = '\u0002';
  /** The first build's stand-in for the revision of write {@code i}: this plus {@link #LONG_SPACING} i, 16 digits. */
  static final long LONG_STAND_IN = 8_100_000_000_000_000L;
  /** The difference of two consecutive writes' stand-ins in the first build. */
  static final long LONG_SPACING = 1_009L;
  /** The second build's stand-in for the revision of write {@code i}: this plus {@link #SHORT_SPACING} i, 7 digits. */
  static final long SHORT_STAND_IN = 7_100_000L;
  /** The difference of two consecutive writes' stand-ins in the second build. */
  static final long SHORT_SPACING = 13L;
  /** The most writes a templated commit may have (the short stand-ins keep their 7 digits). */
  static final int MAX_WRITES = 100_000;

  EventTemplates {
    events = List.copyOf(events);
    markers = List.copyOf(markers);
  }

  /**
   * @param commit a commit
   * @return its events as templates, or empty if it was not made by {@link Commit#namingRevisions}, they cannot be
   *     templated (see the class comment) or building them fails (the general path then builds them from the real
   *     revisions, and reports a failure there)
   */
  static Optional<EventTemplates> of(Commit commit) {
    int writes = commit.writes().size();
    if (!commit.namesRevisionsAsText() || writes > MAX_WRITES) {
      return Optional.empty();
    }
    List<NewEvent> first;
    List<NewEvent> second;
    try {
      first = commit.eventsFor(standIns(LONG_STAND_IN, LONG_SPACING, writes));
      second = commit.eventsFor(standIns(SHORT_STAND_IN, SHORT_SPACING, writes));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
    if (first.size() != second.size()) {
      return Optional.empty();
    }
    List<NewEvent> events = new ArrayList<>(first.size());
    List<List<Integer>> markers = new ArrayList<>(first.size());
    for (int e = 0; e < first.size(); e++) {
      NewEvent a = first.get(e);
      NewEvent b = second.get(e);
      if (!a.type().equals(b.type()) || !a.actor().equals(b.actor()) || !a.target().equals(b.target())
          || hasMarkCharacter(a.detailsJson()) || hasMarkCharacter(b.detailsJson())) {
        return Optional.empty();
      }
      List<Integer> named = new ArrayList<>();
      String details = a.detailsJson();
      String other = b.detailsJson();
      for (int i = 0; i < writes; i++) {
        String marked = details.replace(Long.toString(LONG_STAND_IN + LONG_SPACING * i), marker(i));
        if (!marked.equals(details)) {
          named.add(i);
        }
        details = marked;
        other = other.replace(Long.toString(SHORT_STAND_IN + SHORT_SPACING * i), marker(i));
      }
      if (!details.equals(other)) {
        return Optional.empty();
      }
      events.add(new NewEvent(a.type(), a.actor(), a.target(), details));
      markers.add(List.copyOf(named));
    }
    return Optional.of(new EventTemplates(events, markers));
  }

  /**
   * @param i a write's position
   * @return the marker standing for its revision
   */
  static String marker(int i) {
    return MARK + Integer.toString(i) + MARK_END;
  }

  private static boolean hasMarkCharacter(String text) {
    return text.indexOf(MARK) >= 0 || text.indexOf(MARK_END) >= 0;
  }

  /**
   * Completes the templates with the real revisions: the events the database stored. They are compared with the
   * events the commit builds from those revisions; a difference means the commit's event source broke the promise of
   * {@link Commit#namingRevisions} (a bug of its maker), and is logged as an error, with the events stored, which are
   * what the commit reports: they are committed. So is a failure of that build, whatever it throws (an {@code Error}
   * or a checked exception thrown undeclared too; only the virtual machine's own errors pass): the caller of a commit
   * that committed must not be told it failed, or it might do it again.
   *
   * @param commit the commit
   * @param revisions the revisions its writes took, in order
   * @return the events stored
   */
  List<NewEvent> complete(Commit commit, List<Long> revisions) {
    List<NewEvent> stored = new ArrayList<>(events.size());
    for (int e = 0; e < events.size(); e++) {
      NewEvent t = events.get(e);
      String details = t.detailsJson();
      for (int i : markers.get(e)) {
        details = details.replace(marker(i), Long.toString(revisions.get(i)));
      }
      stored.add(new NewEvent(t.type(), t.actor(), t.target(), details));
    }
    List<NewEvent> built;
    try {
      built = commit.eventsFor(revisions);
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) { // also an Error or an undeclared checked exception: the commit is durable all the same
      LOG.error("Committed events completed from templates with the revisions {}, but their source fails when built"
          + " from them: {}", revisions, stored, e);
      return stored;
    }
    if (!built.equals(stored)) {
      LOG.error("Committed events completed from templates with the revisions {} differ from the events their"
          + " source builds from them (it uses a revision otherwise than as its decimal text, which"
          + " Commit.namingRevisions forbids): stored {}, built {}", revisions, stored, built);
    }
    return stored;
  }

  private static List<Long> standIns(long base, long spacing, int writes) {
    List<Long> out = new ArrayList<>(writes);
    for (int i = 0; i < writes; i++) {
      out.add(base + spacing * i);
    }
    return out;
  }
}
