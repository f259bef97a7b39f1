package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RecentRecordsTest {
  /** A record of task {@code id} at {@code revision}. */
  private static StoredRecord record(String id, long revision) {
    return new StoredRecord(new RecordKey("_tasks", id), "{\"r\":" + revision + "}", revision, "h" + revision);
  }

  @Test
  void aFullStripeDropsItsLeastRecentlyUsedEntry() {
    RecentRecords<String, StoredRecord> recent = // 2 per stripe
        new RecentRecords<>(2 * RecentRecords.STRIPES, StoredRecord::revision);
    List<String> same = keysOfStripe(0, 3);
    String a = same.get(0);
    String b = same.get(1);
    String c = same.get(2);
    recent.put(a, record(a, 1));
    recent.put(b, record(b, 1));
    assertThat(recent.getIfPresent(a)).isNotNull(); // a is now newer than b
    recent.put(c, record(c, 1));
    assertThat(recent.getIfPresent(b)).isNull();
    assertThat(recent.getIfPresent(a)).isEqualTo(record(a, 1));
    assertThat(recent.getIfPresent(c)).isEqualTo(record(c, 1));
  }

  @Test
  void keepsExactlyTheNewestEntriesOfEachStripe() {
    int perStripe = 10;
    RecentRecords<String, StoredRecord> recent =
        new RecentRecords<>(perStripe * RecentRecords.STRIPES, StoredRecord::revision);
    Map<Integer, Deque<String>> newest = new HashMap<>();
    int n = 20_000;
    for (int i = 0; i < n; i++) {
      String key = "task-" + i;
      recent.put(key, record(key, 1));
      Deque<String> d = newest.computeIfAbsent(RecentRecords.stripeOf(key), s -> new ArrayDeque<>());
      d.addLast(key);
      if (d.size() > perStripe) {
        d.removeFirst();
      }
    }
    Set<String> kept = new HashSet<>();
    newest.values().forEach(kept::addAll);
    assertThat(kept).hasSize(perStripe * RecentRecords.STRIPES);
    for (int i = 0; i < n; i++) {
      String key = "task-" + i;
      assertThat(recent.getIfPresent(key)).as(key).isEqualTo(kept.contains(key) ? record(key, 1) : null);
    }
  }

  @Test
  void ofTwoRecordsOfOneKeyTheHigherRevisionIsKept() {
    RecentRecords<String, StoredRecord> recent = new RecentRecords<>(100, StoredRecord::revision);
    recent.put("t", record("t", 7));
    recent.put("t", record("t", 5)); // a thread remembering its commit after another's newer one
    assertThat(recent.getIfPresent("t")).isEqualTo(record("t", 7));
    recent.put("t", record("t", 9));
    assertThat(recent.getIfPresent("t")).isEqualTo(record("t", 9));
    recent.invalidate("t");
    recent.put("t", record("t", 3)); // after a conflict dropped it, whatever comes next is kept
    assertThat(recent.getIfPresent("t")).isEqualTo(record("t", 3));
  }

  @Test
  void keepingTheOlderRecordStillCountsAsAUse() {
    RecentRecords<String, StoredRecord> recent = new RecentRecords<>(2 * RecentRecords.STRIPES, StoredRecord::revision);
    List<String> same = keysOfStripe(5, 3);
    recent.put(same.get(0), record(same.get(0), 7));
    recent.put(same.get(1), record(same.get(1), 1));
    recent.put(same.get(0), record(same.get(0), 6)); // refused, but same.get(0) is now the newest
    recent.put(same.get(2), record(same.get(2), 1));
    assertThat(recent.getIfPresent(same.get(1))).isNull();
    assertThat(recent.getIfPresent(same.get(0))).isEqualTo(record(same.get(0), 7));
  }

  /**
   * The pattern of a worker pool draining backlogs (each task's record put when it is created, put again when it is
   * claimed in a group of 8, read and put when that group completes) finds every claimed record, however long it
   * runs. A Caffeine cache of the same size ({@code Core.cache(10_000)}) missed almost every read from about the
   * 60th backlog to the 125th.
   */
  @Test
  void recordsClaimedAMomentAgoAreFoundBacklogAfterBacklog() {
    RecentRecords<String, StoredRecord> recent = new RecentRecords<>(10_000, StoredRecord::revision);
    int misses = 0;
    for (int round = 0; round < 200; round++) {
      for (int i = 0; i < 500; i++) {
        String key = "r" + round + "-" + i;
        recent.put(key, record(key, 1));
      }
      for (int group = 0; group < 500; group += 8) {
        for (int i = group; i < group + 8; i++) {
          String key = "r" + round + "-" + i;
          recent.put(key, record(key, 2));
        }
        for (int i = group; i < group + 8; i++) {
          String key = "r" + round + "-" + i;
          if (!record(key, 2).equals(recent.getIfPresent(key))) {
            misses++;
          }
          recent.put(key, record(key, 3));
        }
      }
    }
    assertThat(misses).isZero();
  }

  /**
   * Each stripe is a {@link java.util.HashMap}, which picks a bucket by the low bits of the key's spread hash. Had the
   * stripe been chosen by some of those bits, the keys of a stripe would all share them, and so a fraction of the
   * buckets: long chains (a profile showed them turned into trees). About 625 keys of a stripe over the 1,024 buckets
   * of its table spread over about 470; keys sharing the low 4 bits could use 64 at most.
   */
  @Test
  void theKeysOfOneStripeSpreadOverItsMapsBuckets() {
    Set<Integer> buckets = new HashSet<>();
    int inStripe = 0;
    for (int i = 0; i < 10_000; i++) {
      String key = "r" + (i / 500) + "-" + (i % 500);
      if (RecentRecords.stripeOf(key) == 3) {
        inStripe++;
        int h = key.hashCode();
        buckets.add((h ^ (h >>> 16)) & 1023);
      }
    }
    assertThat(inStripe).isBetween(500, 750);
    assertThat(buckets).hasSizeGreaterThan(400);
  }

  @Test
  void invalidateDropsTheEntry() {
    RecentRecords<String, StoredRecord> recent = new RecentRecords<>(100, StoredRecord::revision);
    recent.put("k", record("k", 1));
    recent.invalidate("k");
    recent.invalidate("never-there");
    assertThat(recent.getIfPresent("k")).isNull();
  }

  @Test
  void aSizeBelowTheStripesKeepsOnePerStripe() {
    RecentRecords<String, StoredRecord> recent = new RecentRecords<>(1, StoredRecord::revision);
    for (int i = 0; i < 1_000; i++) {
      recent.put("k" + i, record("k" + i, 1));
    }
    assertThat(countPresent(recent, "k", 1_000)).isEqualTo(RecentRecords.STRIPES);
    assertThat(recent.getIfPresent("k999")).isEqualTo(record("k999", 1));
  }

  @Test
  void badArgumentsAreRefused() {
    assertThatThrownBy(() -> new RecentRecords<String, StoredRecord>(0, StoredRecord::revision))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maximumSize must be positive: 0");
    assertThatThrownBy(() -> new RecentRecords<String, StoredRecord>(10, null))
        .isInstanceOf(NullPointerException.class).hasMessage("revision");
    RecentRecords<String, StoredRecord> recent = new RecentRecords<>(10, StoredRecord::revision);
    assertThatThrownBy(() -> recent.put("k", null)).isInstanceOf(NullPointerException.class).hasMessage("value");
    assertThatThrownBy(() -> recent.put(null, record("k", 1))).isInstanceOf(NullPointerException.class)
        .hasMessage("key");
    assertThatThrownBy(() -> recent.getIfPresent(null)).isInstanceOf(NullPointerException.class).hasMessage("key");
    assertThatThrownBy(() -> recent.invalidate(null)).isInstanceOf(NullPointerException.class).hasMessage("key");
  }

  @Test
  @Timeout(60)
  void threadsPuttingReadingAndDroppingKeepTheBoundAndTheirOwnNewestRecords() throws Exception {
    RecentRecords<String, StoredRecord> recent =
        new RecentRecords<>(64 * RecentRecords.STRIPES, StoredRecord::revision);
    ExecutorService threads = Executors.newFixedThreadPool(8);
    try {
      List<Callable<Integer>> work = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        work.add(() -> {
          int wrong = 0;
          for (int i = 1; i <= 50_000; i++) {
            String own = "t" + thread + "-" + (i % 50); // this thread's keys: what it reads is the last it put
            recent.put(own, record(own, i));
            StoredRecord seen = recent.getIfPresent(own);
            if (seen != null && seen.revision() != i) {
              wrong++;
            }
            String shared = "s" + (i % 3_000);
            recent.put(shared, record(shared, i));
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
      int kept = countPresent(recent, "s", 3_000);
      for (int t = 0; t < 8; t++) {
        kept += countPresent(recent, "t" + t + "-", 50);
      }
      assertThat(kept).isLessThanOrEqualTo(64 * RecentRecords.STRIPES);
    } finally {
      threads.shutdownNow();
    }
  }

  /**
   * Threads of one instance remembering commits of the same records out of order (revisions from a shared counter, as
   * a store hands them out; each thread puts a newer revision, then an older one, as a thread that remembers its commit
   * late would): each record ends with the highest revision any thread put for it.
   */
  @Test
  @Timeout(60)
  void threadsRememberingOneRecordInAnyOrderLeaveItsHighestRevision() throws Exception {
    RecentRecords<String, StoredRecord> recent =
        new RecentRecords<>(1_000 * RecentRecords.STRIPES, StoredRecord::revision);
    java.util.concurrent.atomic.AtomicLong revisions = new java.util.concurrent.atomic.AtomicLong();
    Map<String, Long> highest = new java.util.concurrent.ConcurrentHashMap<>();
    ExecutorService threads = Executors.newFixedThreadPool(8);
    try {
      List<Callable<Void>> work = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        work.add(() -> {
          for (int i = 0; i < 20_000; i++) {
            String key = "task-" + (i % 16);
            long older = revisions.incrementAndGet();
            long newer = revisions.incrementAndGet();
            highest.merge(key, newer, Math::max);
            recent.put(key, record(key, newer));
            recent.put(key, record(key, older)); // the late one: never replaces a newer record
          }
          return null;
        });
      }
      for (Future<Void> f : threads.invokeAll(work)) {
        f.get();
      }
    } finally {
      threads.shutdownNow();
    }
    assertThat(highest).hasSize(16);
    highest.forEach((key, revision) -> assertThat(recent.getIfPresent(key)).as(key).isEqualTo(record(key, revision)));
  }

  private static int countPresent(RecentRecords<String, StoredRecord> recent, String prefix, int n) {
    int present = 0;
    for (int i = 0; i < n; i++) {
      if (recent.getIfPresent(prefix + i) != null) {
        present++;
      }
    }
    return present;
  }

  private static List<String> keysOfStripe(int stripe, int n) {
    List<String> keys = new ArrayList<>();
    for (int k = 0; keys.size() < n; k++) {
      if (RecentRecords.stripeOf("key-" + k) == stripe) {
        keys.add("key-" + k);
      }
    }
    return keys;
  }
}
