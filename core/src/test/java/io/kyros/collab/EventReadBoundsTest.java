package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.StoredEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Reads of the log stay bounded whatever the log holds (found by review): a filtered read with a large limit asks the
 * storage for a page at a time, not for the whole limit at once; a lease acquisition waiting for its lease's event
 * gives up at its deadline even while other events keep arriving.
 */
class EventReadBoundsTest {

  @Test
  void aFilteredReadWithALargeLimitAsksTheStorageForAPageAtATime() {
    AtomicInteger largest = new AtomicInteger();
    ForwardingStorage storage = new ForwardingStorage() {
      @Override
      public List<StoredEvent> readEvents(long afterId, int limit) {
        largest.accumulateAndGet(limit, Math::max);
        return super.readEvents(afterId, limit);
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      for (int i = 0; i < 3000; i++) {
        collab.events().append("note", "t/" + i, Map.of("n", i));
      }
      collab.events().append("rare", "t/rare", Map.of());
      List<Event> found = collab.events().read(0, EventFilter.all().types("rare"), 100_000);
      assertThat(found).extracting(Event::type).containsExactly("rare");
      assertThat(largest.get()).as("largest page asked for").isEqualTo(EventLog.SCAN_PAGE);
    }
  }

  /**
   * Before the fix the acquisition read the endless stream to its end, that is forever: the timeout, on a thread of
   * its own (the loop never looked at an interrupt), failed it.
   */
  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void anAcquisitionGivesUpAtItsDeadlineWhileOtherEventsKeepComing() throws InterruptedException {
    MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    AtomicLong fakeIds = new AtomicLong(1_000_000);
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock)) {
      // past the real log, an endless stream of events about something else, as under a steady load of appends
      @Override
      public List<StoredEvent> readEvents(long afterId, int limit) {
        List<StoredEvent> real = super.readEvents(afterId, limit);
        if (!real.isEmpty()) {
          return real;
        }
        List<StoredEvent> other = new ArrayList<>();
        long from = Math.max(afterId, fakeIds.get());
        for (int i = 1; i <= limit; i++) {
          other.add(new StoredEvent(from + i, clock.instant(), "note", "someone", "elsewhere", "{}"));
        }
        fakeIds.set(from + limit);
        return other;
      }

      @Override
      public boolean awaitEvents(long afterId, Duration timeout) {
        return true;
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      Lease held = collab.leases().tryAcquire("job", Duration.ofMinutes(5)).orElseThrow();
      Optional<Lease> got = collab.leases().acquire("job", Duration.ofMinutes(5), Duration.ofMillis(300));
      assertThat(got).as("still held by " + held.holder()).isEmpty();
      assertThat(fakeIds.get()).as("events about other things were read while waiting").isGreaterThan(1_000_000);
    }
  }
}
