package io.kyros.collab.app;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.EventListener;
import io.kyros.collab.Subscription;
import io.kyros.collab.spi.Backoff;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds every SSE stream and long poll of one server from a single subscription to the event log,
 * so an open stream or a waiting poll holds no thread.
 *
 * <p>The subscription (core's tail: in id order, each event once, no gaps) appends each event to a
 * ring of the most recent {@value #RING} events and wakes the registered {@link EventClient}s. A
 * client keeps its own cursor (the last id it has looked at) and, when woken, reads what follows it:
 * from the ring when the ring covers its cursor, else from the storage (a client resuming far back).
 * Reading is done on {@value #PUMPS} pump threads shared by all clients, at most {@value #BATCH} events a pump task,
 * so that clients take turns (one resuming far back does not hold a thread); writing is Jetty's
 * asynchronous write, so a slow client only delays itself. Keep-alive comments go out from Jetty's
 * scheduler every {@link ServerConfig#keepAlive()}.
 *
 * <p>If the subscription stops with an error (core retries transient storage failures itself, so
 * this is an event that cannot be read, or an unexpected failure), the open streams and polls are
 * closed (clients resume with {@code Last-Event-ID} or {@code after}), {@link #failure()} names the
 * cause, which {@code GET /readyz} reports as 503, and the hub subscribes again after the newest
 * event it has, with exponential backoff ({@value #RETRY_BASE_MS} ms doubling up to {@value
 * #RETRY_CAP_S} s, with jitter), so no event is skipped or repeated. It is working again once the
 * new subscription delivers an event, or at once if the log holds nothing past that event.
 *
 * <p>Thread-safe: the ring is guarded by its lock; the subscription and its failure by {@code
 * subscribing}; each client's state by the client's own lock.
 */
final class EventHub implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EventHub.class);
  static final int RING = 4096;
  static final int BATCH = 256;
  static final int PUMPS = 2;
  static final long RETRY_BASE_MS = 200;
  static final long RETRY_CAP_S = 30;
  private static final Backoff RETRY =
      new Backoff(Duration.ofMillis(RETRY_BASE_MS), Duration.ofSeconds(RETRY_CAP_S), Backoff.Jitter.FULL);

  private final Collab collab;
  private final Scheduler scheduler;
  private final ServerConfig config;
  private final ExecutorService pumps;
  private final Set<EventClient> clients = ConcurrentHashMap.newKeySet();

  private final Object lock = new Object();
  private final Event[] ring = new Event[RING];
  private int ringStart; // index of the oldest event
  private int ringSize;
  private long floor; // the ring holds every event with floor < id <= head
  private volatile long head;

  private final Object subscribing = new Object();
  private Subscription subscription; // guarded by subscribing
  private long generation; // of the newest subscription; guarded by subscribing
  private int failures; // failed subscriptions since the last working one; guarded by subscribing
  private volatile Throwable failure; // why there is no working subscription, null if there is
  private volatile boolean closed;

  EventHub(Collab collab, Scheduler scheduler, ServerConfig config) {
    this(collab, scheduler, config, pumpThreads());
  }

  /** As above, with the executor the pumps run on (a test's, run by hand). */
  EventHub(Collab collab, Scheduler scheduler, ServerConfig config, ExecutorService pumps) {
    this.collab = collab;
    this.scheduler = scheduler;
    this.config = config;
    this.pumps = pumps;
  }

  private static ExecutorService pumpThreads() {
    AtomicInteger n = new AtomicInteger();
    return Executors.newFixedThreadPool(PUMPS, r -> {
      Thread t = new Thread(r, "collab-sse-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** Subscribes to the log from its current end and starts the keep-alive ticks. */
  void start() {
    long last = collab.events().lastId();
    synchronized (lock) {
      floor = last;
      head = last;
    }
    subscribe();
    scheduleKeepAlive();
  }

  /**
   * @return why the hub has no working subscription to the log (its streams get no events), or
   *     null while it has one
   */
  Throwable failure() {
    return failure;
  }

  /** Subscribes after the newest event the hub has; a failure here is retried like a failed subscription. */
  private void subscribe() {
    synchronized (subscribing) {
      if (closed) {
        return;
      }
      long gen = ++generation;
      long from = head;
      try {
        subscription = collab.events().subscribe(from, EventFilter.all(), new EventListener() {
          @Override
          public void onEvent(Event event) {
            append(event);
            if (failure != null) {
              working(gen);
            }
          }

          @Override
          public void onError(Throwable error) {
            failed(gen, error);
          }
        });
      } catch (RuntimeException e) {
        failed(gen, e);
        return;
      }
      if (failure != null && caughtUp(from)) {
        working(gen); // nothing to read past the hub's newest event, so nothing that could fail again
      }
    }
  }

  private boolean caughtUp(long position) {
    try {
      return collab.events().lastId() <= position;
    } catch (RuntimeException e) {
      return false; // the subscription's next event tells
    }
  }

  private void working(long gen) {
    synchronized (subscribing) {
      if (gen == generation && failure != null) {
        LOG.info("the event subscription feeding SSE streams works again after {} failed attempt(s)", failures);
        failure = null;
        failures = 0;
      }
    }
  }

  private void failed(long gen, Throwable error) {
    synchronized (subscribing) {
      if (gen != generation || closed) {
        return;
      }
      failure = error;
      failures++;
      long delay = RETRY.delayNanos(failures);
      LOG.error("the event subscription feeding SSE streams stopped after event {}; streams are closed; "
          + "subscribing again in {} ms (attempt {})", head, TimeUnit.NANOSECONDS.toMillis(delay), failures, error);
      try {
        scheduler.schedule(this::subscribe, delay, TimeUnit.NANOSECONDS);
      } catch (RuntimeException e) {
        LOG.warn("cannot schedule the next event subscription (the server is stopping?)", e);
      }
    }
    clients.forEach(EventClient::close);
  }

  /** @return the id of the newest event this hub has seen */
  long head() {
    return head;
  }

  ServerConfig config() {
    return config;
  }

  Collab collab() {
    return collab;
  }

  Scheduler scheduler() {
    return scheduler;
  }

  private void append(Event e) {
    synchronized (lock) {
      if (ringSize == RING) {
        floor = ring[ringStart].id();
        ring[ringStart] = e;
        ringStart = (ringStart + 1) % RING;
      } else {
        ring[(ringStart + ringSize) % RING] = e;
        ringSize++;
      }
      head = e.id();
    }
    for (EventClient c : clients) {
      c.wake();
    }
  }

  /**
   * The events after a position, all of them (the caller filters), at most {@link #BATCH}.
   *
   * @param cursor exclusive position
   * @return the events, in id order
   */
  List<Event> after(long cursor) {
    synchronized (lock) {
      if (cursor >= floor) {
        List<Event> out = new ArrayList<>();
        int i = firstAfter(cursor);
        for (; i < ringSize && out.size() < BATCH; i++) {
          out.add(ring[(ringStart + i) % RING]);
        }
        return out;
      }
    }
    return collab.events().read(cursor, BATCH);
  }

  /** The ring index of the first event with an id above cursor (binary search; ids increase). */
  private int firstAfter(long cursor) {
    int lo = 0;
    int hi = ringSize;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (ring[(ringStart + mid) % RING].id() <= cursor) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** Registers a client and wakes it once, so it catches up with whatever follows its cursor. */
  void register(EventClient client) {
    if (closed) {
      client.close();
      return;
    }
    clients.add(client);
    client.wake();
  }

  void unregister(EventClient client) {
    clients.remove(client);
  }

  /** @return how many streams and polls are open */
  int clientCount() {
    return clients.size();
  }

  void execute(Runnable pump) {
    pumps.execute(pump);
  }

  private void scheduleKeepAlive() {
    if (closed) {
      return;
    }
    scheduler.schedule(() -> {
      for (EventClient c : clients) {
        c.keepAlive();
      }
      scheduleKeepAlive();
    }, config.keepAlive().toNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public void close() {
    Subscription s;
    synchronized (subscribing) {
      closed = true;
      s = subscription;
    }
    if (s != null) {
      s.close();
    }
    clients.forEach(EventClient::close);
    pumps.shutdown();
  }
}
