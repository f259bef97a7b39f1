package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.spi.Storage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Set-up shared by the conformance classes: a fresh storage on a {@link MutableClock} per test, and
 * {@link Collab} instances on it. A backend supplies {@link #createStorage(MutableClock)}; nothing
 * else. Extend {@link StorageConformanceTest}, which collects every conformance class.
 */
@org.junit.jupiter.api.Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES) // a hang fails, not stalls CI
public abstract class ConformanceSupport {
  /** The instant every test starts at. */
  protected static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

  protected MutableClock clock;
  protected Storage storage;
  /** A Collab acting as {@code alice}. */
  protected Collab collab;
  private final List<Collab> opened = new ArrayList<>();

  /**
   * Creates an empty storage whose clock is exactly {@code clock}: {@link Storage#now()} and every
   * timestamp the storage assigns must read it, so tests can move time and compare instants exactly.
   * A backend whose production time source is external (the database's clock on JDBC) offers a way
   * to use a given {@link java.time.Clock} instead. The test clock starts at a whole second and only
   * moves in whole milliseconds, so microsecond storage precision loses nothing.
   *
   * @param clock the test clock
   * @return a new, empty storage, isolated from every other test's
   * @throws Exception if it cannot be created
   */
  protected abstract Storage createStorage(MutableClock clock) throws Exception;

  /**
   * Releases a storage made by {@link #createStorage}. The default closes it.
   *
   * @param storage the storage
   * @throws Exception if it cannot be released
   */
  protected void destroyStorage(Storage storage) throws Exception {
    storage.close();
  }

  @BeforeEach
  void setUpConformance() throws Exception {
    clock = new MutableClock(START);
    storage = createStorage(clock);
    collab = newCollab("alice");
  }

  @AfterEach
  void tearDownConformance() throws Exception {
    for (Collab c : opened) {
      c.close();
    }
    opened.clear();
    destroyStorage(storage);
  }

  /**
   * @param holder the instance's identity
   * @return a new Collab on the test's storage, closed after the test
   */
  protected Collab newCollab(String holder) {
    return newCollab(holder, b -> {});
  }

  /**
   * @param holder the instance's identity
   * @param options further builder options
   * @return a new Collab on the test's storage, closed after the test
   */
  protected Collab newCollab(String holder, java.util.function.Consumer<Collab.Builder> options) {
    return newCollab(holder, storage, options);
  }

  /**
   * @param holder the instance's identity
   * @param on the storage it uses, for example an {@link InterceptingStorage} around the test's
   * @param options further builder options
   * @return a new Collab on {@code on}, closed after the test
   */
  protected Collab newCollab(String holder, Storage on, java.util.function.Consumer<Collab.Builder> options) {
    Collab.Builder b = Collab.builder().storage(on).holder(holder);
    options.accept(b);
    Collab c = b.build();
    opened.add(c);
    return c;
  }

  /** @return every event in the log */
  protected List<Event> allEvents() {
    return collab.events().read(0, Integer.MAX_VALUE);
  }

  /** @return the types of every event in the log, in order */
  protected List<String> eventTypes() {
    return allEvents().stream().map(Event::type).toList();
  }

  /**
   * Asserts that ids strictly increase.
   *
   * @param events events in log order
   */
  protected static void assertStrictlyIncreasing(List<Event> events) {
    for (int i = 1; i < events.size(); i++) {
      assertThat(events.get(i).id()).isGreaterThan(events.get(i - 1).id());
    }
  }

  /**
   * Waits for background work (a keep-alive, a subscription) to reach a state, checking every
   * millisecond. This waits for progress, not for time to pass: expiry is always driven by the clock.
   *
   * @param what what is awaited, for the failure message
   * @param condition the state
   */
  protected static void awaitCondition(String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + patience().toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out waiting for " + what);
      }
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
    }
  }

  /** @return a timeout long enough for any wait in a test on a loaded machine */
  protected static Duration patience() {
    return Duration.ofSeconds(60);
  }
}
