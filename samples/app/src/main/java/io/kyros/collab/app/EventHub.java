package io.kyros.collab.app;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.EventListener;
import io.kyros.collab.Subscription;
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
 * Reading is done on {@value #PUMPS} pump threads shared by all clients; writing is Jetty's
 * asynchronous write, so a slow client only delays itself. Keep-alive comments go out from Jetty's
 * scheduler every {@link ServerConfig#keepAlive()}.
 *
 * <p>Thread-safe: the ring is guarded by its lock; each client's state by the client's own lock.
 */
final class EventHub implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EventHub.class);
  static final int RING = 4096;
  static final int BATCH = 256;
  static final int PUMPS = 2;

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

  private Subscription subscription;
  private volatile boolean closed;

  EventHub(Collab collab, Scheduler scheduler, ServerConfig config) {
    this.collab = collab;
    this.scheduler = scheduler;
    this.config = config;
    AtomicInteger n = new AtomicInteger();
    this.pumps = Executors.newFixedThreadPool(PUMPS, r -> {
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
    subscription = collab.events().subscribe(last, EventFilter.all(), new EventListener() {
      @Override
      public void onEvent(Event event) {
        append(event);
      }

      @Override
      public void onError(Throwable error) {
        LOG.error("the event subscription feeding SSE streams stopped; streams are closed", error);
        clients.forEach(EventClient::close);
      }
    });
    scheduleKeepAlive();
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
    closed = true;
    if (subscription != null) {
      subscription.close();
    }
    clients.forEach(EventClient::close);
    pumps.shutdown();
  }
}
