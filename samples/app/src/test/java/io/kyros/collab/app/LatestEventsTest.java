package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@link LatestEvents} against the obvious answer (filter the whole log, keep the last {@code limit}) on logs with
 * gaps in their ids, and what it reads: one window without a filter, however long the log.
 */
class LatestEventsTest {
  /** An event: its id and its type. */
  private record E(long id, String type) {}

  /** Reads a log as the API does: the events after a position, ascending, at most {@code limit}; counts the reads. */
  private static LatestEvents.Reader<E> reader(List<E> log, AtomicInteger reads) {
    long[] ids = log.stream().mapToLong(E::id).toArray();
    return (after, limit) -> {
      reads.incrementAndGet();
      int at = java.util.Arrays.binarySearch(ids, after);
      int from = at >= 0 ? at + 1 : -at - 1;
      return List.copyOf(log.subList(from, Math.min(log.size(), from + limit)));
    };
  }

  private static List<E> log(SplittableRandom random, int events) {
    List<E> log = new ArrayList<>();
    long id = 0;
    for (int i = 0; i < events; i++) {
      id += random.nextInt(10) == 0 ? 1 + random.nextInt(1500) : 1; // gaps, some wider than a window
      log.add(new E(id, random.nextInt(50) == 0 ? "rare" : random.nextBoolean() ? "a" : "b"));
    }
    return log;
  }

  @Test
  void findsWhatFilteringTheWholeLogFinds() throws InterruptedException {
    SplittableRandom random = new SplittableRandom(7);
    for (int round = 0; round < 200; round++) {
      List<E> log = log(random, random.nextInt(5000));
      long last = log.isEmpty() ? 0 : log.get(log.size() - 1).id();
      int limit = 1 + random.nextInt(random.nextBoolean() ? 20 : 1500);
      String type = List.of("a", "rare", "none", "any").get(random.nextInt(4));
      Predicate<E> passes = e -> type.equals("any") || e.type().equals(type);
      List<E> all = log.stream().filter(passes).collect(Collectors.toList());
      List<E> expected = all.subList(Math.max(0, all.size() - limit), all.size());
      int firstWidth = random.nextBoolean() ? LatestEvents.WINDOW : 1 + random.nextInt(limit); // as of() starts
      List<E> found = LatestEvents.find(last, limit, firstWidth, reader(log, new AtomicInteger()), E::id, passes);
      assertThat(found).as("round %d: %d events, limit %d, type %s", round, log.size(), limit, type)
          .isEqualTo(expected);
    }
  }

  @Test
  void eventsAfterTheLastIdGivenAreNotLookedAt() throws InterruptedException {
    List<E> log = List.of(new E(1, "a"), new E(2, "a"), new E(3, "a"), new E(4, "a"));
    assertThat(LatestEvents.find(2, 5, reader(log, new AtomicInteger()), E::id, e -> true))
        .containsExactly(new E(1, "a"), new E(2, "a"));
    assertThat(LatestEvents.find(0, 5, reader(log, new AtomicInteger()), E::id, e -> true)).isEmpty();
  }

  /** Bug: the command line found the log's end by reading the whole log from its start, 1,000 events a request. */
  @Test
  void withoutAFilterOneWindowIsReadHoweverLongTheLog() throws InterruptedException {
    List<E> log = new ArrayList<>();
    for (long id = 1; id <= 200_000; id++) {
      log.add(new E(id, "a"));
    }
    AtomicInteger reads = new AtomicInteger();
    List<E> found = LatestEvents.find(200_000, 20, reader(log, reads), E::id, e -> true);
    assertThat(found).extracting(E::id).containsExactly(
        java.util.stream.LongStream.rangeClosed(199_981, 200_000).boxed().toArray(Long[]::new));
    assertThat(reads.get()).isEqualTo(1);
  }

  /**
   * Bug: the MCP {@code log} tool and {@code collab://log} showed the events after "last id - limit", fewer than the
   * limit where ids have gaps (PostgreSQL's sequences leave them). The latest, unfiltered, read only as many events as
   * asked for when ids have no gaps, and go further back when they do.
   */
  @Test
  void theLatestUnfilteredReadAsManyEventsAsAskedForAndGoBackOverGaps() throws InterruptedException {
    List<E> log = new ArrayList<>();
    for (long id = 1; id <= 5_000; id++) {
      log.add(new E(id < 4_990 ? id : id + 100, "a")); // 4,989, then a gap of 100 ids, then 5,090 to 5,100
    }
    AtomicInteger reads = new AtomicInteger();
    List<E> read = new ArrayList<>();
    LatestEvents.Reader<E> counting = (after, limit) -> {
      List<E> page = reader(log, reads).read(after, limit);
      read.addAll(page);
      return page;
    };
    assertThat(LatestEvents.find(5_100, 5, 5, counting, E::id, e -> true)).extracting(E::id)
        .containsExactly(5_096L, 5_097L, 5_098L, 5_099L, 5_100L);
    assertThat(read).as("events read").hasSize(5);
    read.clear();
    assertThat(LatestEvents.find(5_100, 50, 50, counting, E::id, e -> true)).extracting(E::id)
        .as("over the gap").hasSize(50).startsWith(4_951L, 4_952L).contains(4_989L, 5_090L).endsWith(5_099L, 5_100L);
    assertThat(read.size()).as("events read").isLessThanOrEqualTo(50 + 100);
  }

  @Test
  void aLimitBelowOneIsRefused() {
    assertThatThrownBy(() -> LatestEvents.find(10, 0, (a, n) -> List.of(), (Long e) -> e, e -> true))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("limit must be at least 1: 0");
  }
}
