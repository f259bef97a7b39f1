package io.kyros.collab.jdbc;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The events of a commit whose events name its revisions (such as a task's new ETag), as templates the database
 * completes once it has taken the revisions: what lets such a commit run in one round trip on PostgreSQL
 * ({@link InlineCommit}).
 *
 * <p>A commit's events are a pure function of its revisions ({@link Commit.EventSource}), which may be called more
 * than once. They are built twice, with two sets of stand-in revisions of different lengths and spacings: write
 * {@code i} gets {@code 9100000000000000000 + 1009 i} (19 digits), then {@code 7100000 + 13 i} (7 digits). In each
 * build every occurrence of a stand-in's decimal text in an event's details is replaced by the marker of its write:
 *
 * <pre>
 *   \u0001 i \u0001          (U+0001, the write's position in decimal, U+0001)
 * </pre>
 *
 * The events are templates only if both builds give the same events after that replacement: the same number, each
 * with the same type, actor and target (which must not name a revision), and the same details text, which holds no
 * U+0001 of its own (canonical JSON escapes control characters, so it never does). The details then depend on the
 * revisions only through their decimal text at the markers: a value of the event's own that happened to contain a
 * stand-in would be replaced in one build and not in the other, and text depending on a revision's length (or any
 * other property, such as a revision plus one, which cannot be another write's stand-in in both builds as the
 * spacings differ) would differ between the two builds; either makes the templates unavailable, and the commit takes
 * the general path. After the commit, the caller builds the events once more from the real revisions and checks that
 * they are the templates completed ({@link #complete}).
 *
 * <p>Immutable and thread-safe.
 *
 * @param events the events, their details holding markers where a revision goes
 * @param markers per event, the positions of the writes whose revisions its details name, each once, ascending
 */
record EventTemplates(List<NewEvent> events, List<List<Integer>> markers) {
  /** The marker character: a control character, which canonical JSON text never holds unescaped. */
  static final char MARK = '\u0001';
  /** The first build's stand-in for the revision of write {@code i}: this plus {@link #LONG_SPACING} i, 19 digits. */
  static final long LONG_STAND_IN = 9_100_000_000_000_000_000L;
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
   * @return its events as templates, or empty if they cannot be templated (see the class comment) or building them
   *     fails (the general path then builds them from the real revisions, and reports a failure there)
   */
  static Optional<EventTemplates> of(Commit commit) {
    int writes = commit.writes().size();
    if (writes > MAX_WRITES) {
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
          || a.detailsJson().indexOf(MARK) >= 0 || b.detailsJson().indexOf(MARK) >= 0) {
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
    return MARK + Integer.toString(i) + MARK;
  }

  /**
   * Completes the templates with the real revisions and checks that they are the events the commit builds from them:
   * run after the commit, on the events it reports.
   *
   * @param commit the commit
   * @param revisions the revisions its writes took, in order
   * @return the events the commit built from them
   * @throws IllegalStateException if they differ from the completed templates (the events stored are the completed
   *     templates; the message says so)
   */
  List<NewEvent> complete(Commit commit, List<Long> revisions) {
    List<NewEvent> built = commit.eventsFor(revisions);
    boolean same = built.size() == events.size();
    for (int e = 0; same && e < events.size(); e++) {
      NewEvent t = events.get(e);
      String details = t.detailsJson();
      for (int i : markers.get(e)) {
        details = details.replace(marker(i), Long.toString(revisions.get(i)));
      }
      same = new NewEvent(t.type(), t.actor(), t.target(), details).equals(built.get(e));
    }
    if (!same) {
      throw new IllegalStateException("committed, but the events stored (templates completed with the revisions "
          + revisions + ") differ from the events the commit builds from them: " + events + " vs " + built);
    }
    return built;
  }

  private static List<Long> standIns(long base, long spacing, int writes) {
    List<Long> out = new ArrayList<>(writes);
    for (int i = 0; i < writes; i++) {
      out.add(base + spacing * i);
    }
    return out;
  }
}
