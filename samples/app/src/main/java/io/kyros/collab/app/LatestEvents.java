package io.kyros.collab.app;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * The newest events that pass a filter, for the views that show "the latest N" ({@code collab events tail} without
 * {@code --after}, the MCP {@code events} tool without {@code after}). The log is read only after a position, so
 * this reads windows of {@value #WINDOW} ids backwards from the last id, each window as unfiltered pages in id
 * order, and keeps the events that pass, until {@code limit} have or the log's start is reached (unfiltered, the
 * first window is {@code limit} ids wide and each next one twice the one before, up to {@value #WINDOW}: a page of the
 * latest reads {@code limit} events, not a thousand, unless ids have gaps). It reads as far back as the {@code limit}-th newest match
 * lies (a filter nothing matches reads the whole log, as any search without an index on what it filters must), and
 * never reads the log from its start to find its end.
 *
 * <p>Stateless and thread-safe.
 */
final class LatestEvents {
  /** Ids per window, and the most events one read asks for (the HTTP API's largest {@code limit}). */
  static final int WINDOW = 1000;

  private LatestEvents() {}

  /**
   * Reads events after a position, unfiltered, in id order.
   *
   * @param <E> the event's form
   */
  @FunctionalInterface
  interface Reader<E> {
    /**
     * @param after the exclusive position
     * @param limit the most events to answer
     * @return the events, ascending by id
     * @throws InterruptedException if interrupted while reading
     */
    List<E> read(long after, int limit) throws InterruptedException;
  }

  /**
   * The newest events of {@code collab}'s log, unfiltered.
   *
   * @param collab the store
   * @param limit the most events to answer, at least 1
   * @return up to {@code limit} of the newest events, oldest first
   */
  static List<io.kyros.collab.Event> of(io.kyros.collab.Collab collab, int limit) {
    try {
      return find(collab.events().lastId(), limit, Math.min(limit, WINDOW), (after, n) -> collab.events().read(after, n),
          io.kyros.collab.Event::id, e -> true);
    } catch (InterruptedException e) { // the store's reads do not wait
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while reading the log", e);
    }
  }

  /**
   * @param <E> the event's form
   * @param last the log's last event id, read before this call (events after it are not looked at)
   * @param limit the most events to answer, at least 1
   * @param reader reads the log
   * @param id an event's id
   * @param passes the filter
   * @return up to {@code limit} of the newest events that pass, oldest first
   * @throws InterruptedException if a read is interrupted
   */
  static <E> List<E> find(long last, int limit, Reader<E> reader, ToLongFunction<E> id, Predicate<E> passes)
      throws InterruptedException {
    return find(last, limit, WINDOW, reader, id, passes);
  }

  /**
   * {@link #find(long, int, Reader, ToLongFunction, Predicate)} whose first window is {@code firstWidth} ids wide
   * (each next one twice as wide, up to {@value #WINDOW}).
   */
  static <E> List<E> find(long last, int limit, int firstWidth, Reader<E> reader, ToLongFunction<E> id,
      Predicate<E> passes) throws InterruptedException {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1: " + limit);
    }
    Deque<List<E>> windows = new ArrayDeque<>(); // each older window goes first: oldest first
    int found = 0;
    long width = firstWidth;
    for (long high = last; high > 0 && found < limit; width = Math.min(width * 2, WINDOW)) {
      long low = Math.max(0, high - width);
      List<E> passed = new ArrayList<>();
      long after = low;
      boolean more = true;
      while (more) {
        int asked = (int) Math.min(WINDOW, high - after); // the window holds at most that many more ids
        List<E> page = reader.read(after, asked);
        more = page.size() == asked;
        for (E e : page) {
          long i = id.applyAsLong(e);
          if (i > high) {
            more = false;
            break;
          }
          if (passes.test(e)) {
            passed.add(e);
          }
          after = i;
        }
        more &= after < high; // the window's last id read: the next page would start past it
      }
      windows.addFirst(passed);
      found += passed.size();
      high = low;
    }
    List<E> all = new ArrayList<>(found);
    windows.forEach(all::addAll);
    return all.subList(Math.max(0, all.size() - limit), all.size());
  }
}
