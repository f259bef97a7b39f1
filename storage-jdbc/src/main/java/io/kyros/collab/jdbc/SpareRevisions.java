package io.kyros.collab.jdbc;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Values of the revision sequence taken ahead by the two-round-trip commits of one storage, for the one-round-trip
 * commits that need revisions before they can send anything ({@link InlineCommit}). Each value is handed out at most
 * once, smallest first; a value never handed out is a gap, as the sequence allows.
 *
 * <p>A spare is older than the values the sequence handed out since, so it may be smaller than the revision a record
 * has now: {@link #take} gives only values larger than a bound (the largest revision the commit expects of the
 * records it writes), and drops the smaller ones, which are smaller than every later bound of those records too.
 *
 * <p>Thread-safe.
 */
final class SpareRevisions {
  /** How many values a two-round-trip commit takes ahead when fewer than {@link #LOW} are left. */
  static final int BATCH = 32;
  /** Below this many spare values, the next commit that takes revisions takes a {@link #BATCH} more. */
  static final int LOW = 8;

  private final ArrayDeque<Long> values = new ArrayDeque<>();

  /** @return how many values the next revision-taking commit should take ahead: 0 or {@link #BATCH} */
  synchronized int wanted() {
    return values.size() < LOW ? BATCH : 0;
  }

  /**
   * Adds values taken ahead.
   *
   * @param taken values of the revision sequence, ascending, never handed out
   */
  synchronized void add(List<Long> taken) {
    for (long v : taken) {
      if (values.isEmpty() || v > values.peekLast()) {
        values.addLast(v);
      }
    }
  }

  /**
   * Drops the values not above {@code floor}, then hands out the {@code n} smallest of the others if there are that
   * many.
   *
   * @param n how many, at least 1
   * @param floor the bound every value must exceed
   * @return the values, ascending; or null if fewer than {@code n} are above {@code floor}
   */
  synchronized List<Long> take(int n, long floor) {
    while (!values.isEmpty() && values.peekFirst() <= floor) {
      values.pollFirst();
    }
    if (values.size() < n) {
      return null;
    }
    List<Long> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(values.pollFirst());
    }
    return out;
  }
}
