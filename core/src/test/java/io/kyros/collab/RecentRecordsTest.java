package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RecentRecordsTest {
  @Test
  void aFullStripeDropsItsLeastRecentlyUsedEntry() {
    RecentRecords<Integer, String> recent = new RecentRecords<>(2 * RecentRecords.STRIPES); // 2 per stripe
    List<Integer> same = keysOfStripe(0, 3);
    int a = same.get(0);
    int b = same.get(1);
    int c = same.get(2);
    recent.put(a, "a");
    recent.put(b, "b");
    assertThat(recent.getIfPresent(a)).isEqualTo("a"); // a is now newer than b
    recent.put(c, "c");
    assertThat(recent.getIfPresent(b)).isNull();
    assertThat(recent.getIfPresent(a)).isEqualTo("a");
    assertThat(recent.getIfPresent(c)).isEqualTo("c");
  }

  @Test
  void keepsExactlyTheNewestEntriesOfEachStripe() {
    int perStripe = 10;
    RecentRecords<String, Integer> recent = new RecentRecords<>(perStripe * RecentRecords.STRIPES);
    Map<Integer, Deque<String>> newest = new HashMap<>();
    for (int i = 0; i < 20_000; i++) {
      String key = "task-" + i;
      recent.put(key, i);
      Deque<String> d = newest.computeIfAbsent(RecentRecords.stripeOf(key), s -> new ArrayDeque<>());
      d.addLast(key);
      if (d.size() > perStripe) {
        d.removeFirst();
      }
    }
    assertThat(recent.size()).isEqualTo(perStripe * RecentRecords.STRIPES);
    newest.values().forEach(d -> d.forEach(k -> assertThat(recent.getIfPresent(k)).as(k).isNotNull()));
    assertThat(recent.getIfPresent("task-0")).isNull();
  }

  /**
   * The pattern of a worker pool draining backlogs (each task's record put when it is created, put again when it is
   * claimed in a group of 8, read and put when that group completes) finds every claimed record, however long it
   * runs. A Caffeine cache of the same size missed almost every read from about the 60th backlog to the 140th.
   */
  @Test
  void recordsClaimedAMomentAgoAreFoundBacklogAfterBacklog() {
    RecentRecords<String, String> recent = new RecentRecords<>(10_000);
    int misses = 0;
    for (int round = 0; round < 200; round++) {
      for (int i = 0; i < 500; i++) {
        recent.put("r" + round + "-" + i, "queued");
      }
      for (int group = 0; group < 500; group += 8) {
        for (int i = group; i < group + 8; i++) {
          recent.put("r" + round + "-" + i, "claimed");
        }
        for (int i = group; i < group + 8; i++) {
          String key = "r" + round + "-" + i;
          if (!"claimed".equals(recent.getIfPresent(key))) {
            misses++;
          }
          recent.put(key, "done");
        }
      }
    }
    assertThat(misses).isZero();
  }

  /**
   * Each stripe is a {@link java.util.HashMap}, which picks a bucket by the low bits of the key's spread hash. Had the
   * stripe been chosen by those bits too, the keys of a stripe would all share them, and so a sixteenth of the
   * buckets: long chains (a profile showed them turned into trees).
   */
  @Test
  void theKeysOfOneStripeSpreadOverItsMapsBuckets() {
    java.util.Set<Integer> lowBits = new java.util.HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      String key = "r" + (i / 500) + "-" + (i % 500);
      if (RecentRecords.stripeOf(key) == 3) {
        int h = key.hashCode();
        lowBits.add((h ^ (h >>> 16)) & (RecentRecords.STRIPES - 1));
      }
    }
    assertThat(lowBits).hasSize(RecentRecords.STRIPES);
  }

  @Test
  void invalidateDropsTheEntry() {
    RecentRecords<String, String> recent = new RecentRecords<>(100);
    recent.put("k", "v");
    recent.invalidate("k");
    recent.invalidate("never-there");
    assertThat(recent.getIfPresent("k")).isNull();
    assertThat(recent.size()).isZero();
  }

  @Test
  void aSizeBelowTheStripesKeepsOnePerStripe() {
    RecentRecords<String, String> recent = new RecentRecords<>(1);
    for (int i = 0; i < 1_000; i++) {
      recent.put("k" + i, "v");
    }
    assertThat(recent.size()).isLessThanOrEqualTo(RecentRecords.STRIPES);
    assertThat(recent.getIfPresent("k999")).isEqualTo("v");
  }

  @Test
  void badArgumentsAreRefused() {
    assertThatThrownBy(() -> new RecentRecords<String, String>(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maximumSize must be positive: 0");
    RecentRecords<String, String> recent = new RecentRecords<>(10);
    assertThatThrownBy(() -> recent.put("k", null)).isInstanceOf(NullPointerException.class).hasMessage("value");
    assertThatThrownBy(() -> recent.put(null, "v")).isInstanceOf(NullPointerException.class);
  }

  @Test
  @Timeout(60)
  void threadsPuttingReadingAndDroppingKeepTheBoundAndTheirOwnNewestValues() throws Exception {
    RecentRecords<String, Integer> recent = new RecentRecords<>(64 * RecentRecords.STRIPES);
    ExecutorService threads = Executors.newFixedThreadPool(8);
    try {
      List<Callable<Integer>> work = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        work.add(() -> {
          int wrong = 0;
          for (int i = 0; i < 50_000; i++) {
            String own = "t" + thread + "-" + (i % 50); // this thread's keys: the value read is the last it put
            recent.put(own, i);
            Integer seen = recent.getIfPresent(own);
            if (seen != null && seen != i) {
              wrong++;
            }
            String shared = "s" + (i % 3_000);
            recent.put(shared, i);
            if (i % 7 == 0) {
              recent.invalidate(shared);
            }
          }
          return wrong;
        });
      }
      int wrong = 0;
      for (Future<Integer> f : threads.invokeAll(work)) {
        wrong += f.get();
      }
      assertThat(wrong).isZero();
      assertThat(recent.size()).isLessThanOrEqualTo(64 * RecentRecords.STRIPES);
    } finally {
      threads.shutdownNow();
    }
  }

  private static List<Integer> keysOfStripe(int stripe, int n) {
    List<Integer> keys = new ArrayList<>();
    for (int k = 0; keys.size() < n; k++) {
      if (RecentRecords.stripeOf(k) == stripe) {
        keys.add(k);
      }
    }
    return keys;
  }
}
