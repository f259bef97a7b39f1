package io.kyros.collab;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToLongFunction;

/**
 * A bounded map of the records one instance last committed, kept by recency (each with what the instance knows of
 * it without parsing it, such as the value it encoded: {@code V}): a put or a hit makes an entry the
 * newest, and a full stripe drops its least recently used one. Core remembers its own commits here as guesses (a
 * commit relying on one expects its revision, so a wrong guess only costs a conflict and a read); the guess most
 * likely to be needed is the newest, such as a task claimed a moment ago and about to be completed. Of two records of
 * one key, the one with the higher revision is kept (a record's revisions grow with its versions), so a thread that
 * remembers its commit after another thread of the instance committed a newer version of the record does not put the
 * older one back.
 *
 * <p>Why not a Caffeine cache, as for parsed values: its admission policy (W-TinyLFU) keeps the entries used most
 * often and turns away new ones that were used less. Remembered records are the opposite case: each is written, read
 * once or twice, then replaced. Once a Caffeine cache of 10,000 such entries had filled, it turned away the record of
 * a task just claimed in favour of older ones often enough that, in a drain of 500-task backlogs by 8 threads of one
 * instance on PostgreSQL, 5,086 of 45,000 completions found no remembered task and read the task, its lease and its
 * waiters instead (three more round trips each), from about the sixtieth backlog on.
 *
 * <p>The map is cut into {@value #STRIPES} stripes by the key's hash, each an access-ordered {@link LinkedHashMap}
 * holding at most {@code maximumSize / STRIPES} entries (at least one) under its own lock: recency is kept per stripe,
 * which on keys spread by their hash is about recency overall.
 *
 * <p>Thread-safe; no call blocks longer than another thread's map operation on the same stripe.
 *
 * @param <K> the key type
 * @param <V> what is kept of a record
 */
final class RecentRecords<K, V> {
  private static final int STRIPE_BITS = 4;
  /** Stripes. */
  static final int STRIPES = 1 << STRIPE_BITS;

  private final List<Stripe<K, V>> stripes;
  private final ToLongFunction<V> revision;

  /**
   * @param maximumSize the most entries kept in all, rounded down to a multiple of {@value #STRIPES}, and at least
   *     {@value #STRIPES} (one per stripe)
   * @param revision the revision of the record a value is kept for
   * @throws IllegalArgumentException if {@code maximumSize} is not positive
   * @throws NullPointerException if {@code revision} is null
   */
  RecentRecords(int maximumSize, ToLongFunction<V> revision) {
    if (maximumSize <= 0) {
      throw new IllegalArgumentException("maximumSize must be positive: " + maximumSize);
    }
    this.revision = Objects.requireNonNull(revision, "revision");
    int perStripe = Math.max(1, maximumSize / STRIPES);
    List<Stripe<K, V>> all = new ArrayList<>(STRIPES);
    for (int i = 0; i < STRIPES; i++) {
      all.add(new Stripe<>(perStripe));
    }
    stripes = List.copyOf(all);
  }

  /**
   * @param key the key
   * @return the value kept for {@code key}, or null; a hit makes it the newest entry
   * @throws NullPointerException if {@code key} is null
   */
  V getIfPresent(K key) {
    Stripe<K, V> s = stripe(key);
    s.lock.lock();
    try {
      return s.map.get(key);
    } finally {
      s.lock.unlock();
    }
  }

  /**
   * Keeps {@code value} for {@code key} as the newest entry, unless a value of a record of a higher revision is kept
   * for it (that one stays, and becomes the newest entry), dropping the stripe's least recently used entry if the
   * stripe is full.
   *
   * @param key the key
   * @param value what is kept of the record
   * @throws NullPointerException if {@code key} or {@code value} is null
   */
  void put(K key, V value) {
    Objects.requireNonNull(value, "value");
    Stripe<K, V> s = stripe(key);
    s.lock.lock();
    try {
      s.map.merge(key, value,
          (kept, offered) -> revision.applyAsLong(offered) >= revision.applyAsLong(kept) ? offered : kept);
    } finally {
      s.lock.unlock();
    }
  }

  /**
   * Drops the entry of {@code key}, if any.
   *
   * @param key the key
   * @throws NullPointerException if {@code key} is null
   */
  void invalidate(K key) {
    Stripe<K, V> s = stripe(key);
    s.lock.lock();
    try {
      s.map.remove(key);
    } finally {
      s.lock.unlock();
    }
  }

  /**
   * The stripe {@code key} belongs to: the top bits of its hash code multiplied by the golden ratio (Fibonacci
   * hashing). Not its low bits: each stripe's {@link java.util.HashMap} picks buckets by the low bits, so keys of a
   * stripe chosen by them would share a sixteenth of the buckets (seen in a profile: long chains turned into trees).
   *
   * @param key the key
   * @return 0 to {@value #STRIPES} - 1
   * @throws NullPointerException if {@code key} is null
   */
  static int stripeOf(Object key) {
    return (Objects.requireNonNull(key, "key").hashCode() * 0x9E3779B9) >>> (Integer.SIZE - STRIPE_BITS);
  }

  private Stripe<K, V> stripe(K key) {
    return stripes.get(stripeOf(key));
  }

  /** One stripe: an access-ordered map bounded to {@code capacity}, and the lock guarding it. */
  private static final class Stripe<K, V> {
    final ReentrantLock lock = new ReentrantLock();
    final LinkedHashMap<K, V> map;

    Stripe(int capacity) {
      map = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
          return size() > capacity;
        }
      };
    }
  }
}
