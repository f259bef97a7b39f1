package io.kyros.collab.file.harness;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.CanonicalJson;
import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import io.kyros.collab.Event;
import io.kyros.collab.EventDraft;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NewTask;
import io.kyros.collab.Preconditions;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.UpdateConflictException;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.Write;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The writer JVM of {@code CrashTest}: opens the store, prints {@code ready}, then runs several
 * threads doing documents, leases with guarded writes, tasks and event appends until it is killed.
 * After each call returns it prints one acknowledgement line ({@link AckOut}); the formats are the
 * ones {@link StoreChecker} reads:
 * <pre>
 * doc &lt;collection&gt; &lt;id&gt; &lt;etag&gt; [fence]     a put (create, replace, update, upsert) returned this ETag
 * del &lt;collection&gt; &lt;id&gt; &lt;previous etag&gt;   a delete of that version returned
 * event &lt;id&gt; &lt;type&gt; &lt;target&gt; &lt;details&gt;   an append returned this event
 * task &lt;id&gt; &lt;status&gt; &lt;etag&gt;              a task operation returned the task in that state
 * lease &lt;resource&gt; &lt;fence&gt; &lt;leaseId&gt;      an acquisition returned
 * release &lt;resource&gt; &lt;leaseId&gt;            a release returned true
 * ix &lt;id&gt; &lt;revision&gt; &lt;entries&gt;           an SPI put of ix/&lt;id&gt; with index entries (name=key,...; "-" for
 *                                         none) or a delete ("deleted") committed at that revision
 * ix-delete &lt;id&gt;                          printed before a delete of ix/&lt;id&gt; commits (not an ack: a kill
 *                                         may land between the commit and its ack)
 * </pre>
 * The {@code ix} records are written through the SPI with index entries (the thread's own records, under
 * the key {@code c<cycle>-t<thread>} of index {@code by-thread}); where the storage keeps indexes, the
 * thread scans that key after its writes and fails ({@code error}) unless the scan returns exactly the
 * records its own acknowledged writes left indexed, in id order.
 * Each document is written by one thread only ({@code t<thread>-d<k>}), so the last acknowledged
 * version of a document is a lower bound for what must be on disk. An unexpected exception prints
 * {@code error ...} and a stack trace to stderr, which fails the test.
 *
 * <p>Arguments: store directory, cycle number, thread count, seed, and optionally the segment size
 * for a new store and the checkpoint size ({@code default} for the default): small sizes make the
 * kills land in segment roll-overs and checkpoints too, and the number of the first thread (writers
 * that run at the same time number their threads apart).
 */
public final class CrashWriter {
  /** The user collections the writer's documents live in. */
  public static final List<String> COLLECTIONS = List.of("c0", "c1", "c2", "guarded");
  /** The lease the threads contend for; its guarded writes go to {@code guarded/g}. */
  public static final String LOCK = "crash-lock";
  static final Duration LOCK_TTL = Duration.ofMillis(1500);
  static final Duration CLAIM_TTL = Duration.ofSeconds(2);
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String PAD = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(60);

  private final Collab collab;
  private final Storage storage;
  private final Consumer<String> ack;
  private final BooleanSupplier stop;
  private final int thread;
  private final int cycle;
  private final Random random;
  private final String worker;
  private final List<String> queued = new ArrayList<>();
  /** This thread's ix records that carry its by-thread entry now. */
  private final java.util.TreeSet<String> indexed = new java.util.TreeSet<>();
  private long seq;

  private CrashWriter(Collab collab, Storage storage, Consumer<String> ack, BooleanSupplier stop, int thread, int cycle,
      long seed) {
    this.collab = collab;
    this.storage = storage;
    this.ack = ack;
    this.stop = stop;
    this.thread = thread;
    this.cycle = cycle;
    this.random = new Random(seed);
    this.worker = collab.holder();
  }

  /**
   * @param args store directory, cycle, threads, seed [, segment bytes [, checkpoint bytes or "default"
   *     [, first thread number]]]
   */
  public static void main(String[] args) {
    AckOut.dieWithParent(120_000);
    Path dir = Path.of(args[0]);
    int cycle = Integer.parseInt(args[1]);
    int threads = Integer.parseInt(args[2]);
    long seed = Long.parseLong(args[3]);
    FileStorage.Builder builder = FileStorage.builder(dir);
    if (args.length > 4) {
      builder.segmentBytes(Long.parseLong(args[4])); // applies when the directory is created
    }
    if (args.length > 5 && !args[5].equals("default")) {
      builder.checkpointBytes(Long.parseLong(args[5]));
    }
    FileStorage storage = builder.open(); // recovers what the previous writer left, unless the test did
    // warm up (class loading, the store's recovery) so that the kill lands among the operations
    int first = args.length > 6 ? Integer.parseInt(args[6]) : 0;
    Collab probe = Collab.builder().storage(storage).holder("c" + cycle + "-probe" + first).build();
    probe.documents().get("c0", "t0-d0");
    probe.leases().get(LOCK);
    probe.tasks().get("none");
    probe.events().read(Math.max(0, probe.events().lastId() - 1), 1);
    List<Thread> running = start(storage, cycle, first, threads, seed, AckOut::line, () -> false,
        () -> AckOut.line("ready"));
    for (Thread th : running) {
      try {
        th.join();
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /**
   * Starts the writer threads; what {@link #main} does in the writer JVM, and what the checker's own
   * test runs in-process on a {@code MemoryStorage}.
   *
   * @param storage the store
   * @param cycle the cycle number (part of task ids and holder names)
   * @param first the first thread number: writers running at the same time use distinct numbers,
   *     since each document, task and holder name belongs to one thread number
   * @param threads how many threads
   * @param seed the seed of the threads' random choices
   * @param ack receives the acknowledgement lines
   * @param stop tells the threads to stop (checked between operations)
   * @param beforeStart runs after the threads are created and before they start
   * @return the started threads
   */
  public static List<Thread> start(Storage storage, int cycle, int first, int threads, long seed,
      Consumer<String> ack, BooleanSupplier stop, Runnable beforeStart) {
    List<Thread> running = new ArrayList<>();
    for (int t = first; t < first + threads; t++) {
      Collab collab = Collab.builder().storage(storage).holder("c" + cycle + "-t" + t)
          .updateTimeout(Duration.ofSeconds(30)).build();
      CrashWriter w = new CrashWriter(collab, storage, ack, stop, t, cycle, seed * 31 + t);
      Thread th = new Thread(w::run, "writer-" + t);
      th.setDaemon(true);
      running.add(th);
    }
    beforeStart.run();
    running.forEach(Thread::start);
    return running;
  }

  private void run() {
    try {
      while (!stop.getAsBoolean()) {
        int op = random.nextInt(100);
        try {
          if (op < 32) {
            document();
          } else if (op < 40) {
            indexed();
          } else if (op < 55) {
            append();
          } else if (op < 75) {
            lease();
          } else {
            task();
          }
        } catch (LeaseLostException | UpdateConflictException e) {
          // expected under load: a stalled holder's lease expires, a hot document stays contended
          System.err.println("thread " + thread + ": expected " + e);
        }
      }
    } catch (Throwable e) {
      if (stop.getAsBoolean()) {
        return; // stopped meanwhile: a failure then is the stop's doing (a simulated power cut fails every call)
      }
      System.err.println("thread " + thread + " failed:");
      e.printStackTrace();
      ack.accept("error thread " + thread + " " + e.toString().replace('\n', ' '));
    }
  }

  private ObjectNode value() {
    ObjectNode out = MAPPER.createObjectNode();
    out.put("thread", thread).put("cycle", cycle).put("seq", ++seq)
        .put("pad", PAD.substring(0, random.nextInt(PAD.length())));
    return out;
  }

  private void document() {
    String c = "c" + random.nextInt(3);
    String id = "t" + thread + "-d" + random.nextInt(6);
    Optional<Document> current = collab.documents().get(c, id);
    Document written;
    if (current.isEmpty()) {
      written = collab.documents().create(c, id, value());
    } else {
      switch (random.nextInt(4)) {
        case 0 -> written = collab.documents().replace(c, id, value(), current.get().etag());
        case 1 -> {
          long s = ++seq;
          written = collab.documents().update(c, id, v -> v.put("seq", s).put("n", v.path("n").asLong() + 1));
        }
        case 2 -> written = collab.documents().put(c, id, value(), Preconditions.none());
        default -> {
          collab.documents().delete(c, id, current.get().etag());
          ack.accept("del " + c + " " + id + " " + current.get().etag().tag());
          return;
        }
      }
    }
    ack.accept("doc " + c + " " + id + " " + written.etag().tag());
  }

  /**
   * Puts (with or without entries) or deletes one of this thread's {@code ix} records through the SPI,
   * then checks its by-thread scan against what it acknowledged.
   */
  private void indexed() {
    String id = "c" + cycle + "-t" + thread + "-r" + random.nextInt(8);
    RecordKey key = new RecordKey("ix", id);
    String mine = "c" + cycle + "-t" + thread;
    int kind = random.nextInt(6);
    List<IndexEntry> entries = kind == 0 ? List.of() : kind == 1 ? null
        : List.of(new IndexEntry("by-thread", mine), new IndexEntry("order", String.format("%03d", random.nextInt(1000))));
    String json = value().toString();
    Write write = entries == null ? Write.delete(key)
        : Write.put(key, json, CanonicalJson.hashCanonical(json.getBytes(StandardCharsets.UTF_8)), entries);
    if (entries == null) {
      // a kill between the delete's commit and its ack leaves the record absent after an acknowledged put
      ack.accept("ix-delete " + id);
    }
    CommitResult r = storage.commit(Commit.of(List.of(), List.of(write),
        List.of(new NewEvent("crash.ix", worker, "ix/" + id, "{}"))));
    if (!(r instanceof CommitResult.Committed c)) {
      throw new IllegalStateException("unconditional commit did not apply: " + r);
    }
    ack.accept("ix " + id + " " + c.revisions().get(0) + " " + (entries == null ? "deleted" : entries.isEmpty() ? "-"
        : entries.stream().map(e -> e.index() + "=" + e.key()).collect(java.util.stream.Collectors.joining(","))));
    if (entries == null || entries.isEmpty()) {
      indexed.remove(id);
    } else {
      indexed.add(id);
    }
    if (storage.indexes()) {
      List<String> scanned = storage.scanIndex(new IndexQuery("ix", "by-thread", mine, IndexQuery.START, mine, 100))
          .stream().map(h -> h.record().key().id()).toList();
      if (!scanned.equals(List.copyOf(indexed))) {
        throw new IllegalStateException("scan of by-thread " + mine + " returned " + scanned + ", acknowledged: "
            + indexed);
      }
    }
  }

  private void append() {
    int n = 1 + random.nextInt(3);
    List<EventDraft> drafts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      drafts.add(EventDraft.of("crash.op", "thread/" + thread,
          Map.of("thread", thread, "cycle", cycle, "seq", ++seq)));
    }
    List<Event> events = n == 1 ? List.of(collab.events().append("crash.op", "thread/" + thread, drafts.get(0).details()))
        : collab.events().appendAll(drafts);
    for (Event e : events) {
      ack.accept("event " + e.id() + " " + e.type() + " " + e.target() + " " + e.details());
    }
  }

  private void lease() {
    Optional<Lease> got = collab.leases().tryAcquire(LOCK, LOCK_TTL);
    if (got.isEmpty()) {
      return;
    }
    Lease lease = got.get();
    ack.accept("lease " + LOCK + " " + lease.fence() + " " + lease.leaseId());
    int writes = 1 + random.nextInt(3);
    for (int i = 0; i < writes; i++) {
      if (random.nextBoolean()) {
        lease = collab.leases().renew(lease);
      }
      long fence = lease.fence();
      String holder = worker;
      Document d = collab.documents().guardedBy(lease).update("guarded", "g", v -> {
        if (v.path("fence").asLong() > fence) {
          throw new IllegalStateException("guarded write under fence " + fence + " found newer fence " + v);
        }
        return v.put("fence", fence).put("holder", holder).put("writes", v.path("writes").asLong() + 1);
      });
      ack.accept("doc guarded g " + d.etag().tag() + " " + fence);
    }
    if (random.nextInt(20) == 0) {
      return; // walk away: the lease goes stale and someone reclaims it
    }
    if (collab.leases().release(lease)) {
      ack.accept("release " + LOCK + " " + lease.leaseId());
    }
  }

  private void task() {
    if (random.nextInt(50) == 0) {
      collab.tasks().reclaimStale(); // crashed writers' claims go back to the queue
      return;
    }
    if (queued.size() < 3 || random.nextInt(4) == 0) {
      String id = "c" + cycle + "-t" + thread + "-k" + (++seq);
      Task t = collab.tasks().create(NewTask.of("job " + id).withId(id).withLabels("t" + thread));
      ack.accept("task " + id + " " + t.status() + " " + t.etag().tag());
      queued.add(id);
      return;
    }
    String id = queued.remove(random.nextInt(queued.size()));
    Optional<TaskClaim> claim = collab.tasks().claim(id, worker, CLAIM_TTL);
    if (claim.isEmpty()) {
      throw new IllegalStateException("own queued task " + id + " was not claimable");
    }
    TaskClaim cl = claim.get();
    ack.accept("task " + id + " " + cl.task().status() + " " + cl.task().etag().tag());
    if (random.nextBoolean()) {
      Task t = collab.tasks().transition(cl, "in_progress").task();
      cl = new TaskClaim(t, cl.lease());
      ack.accept("task " + id + " " + t.status() + " " + t.etag().tag());
    }
    switch (random.nextInt(6)) {
      case 0 -> {
        Task t = collab.tasks().fail(cl, "boom");
        ack.accept("task " + id + " " + t.status() + " " + t.etag().tag());
      }
      case 1 -> {
        Task t = collab.tasks().release(cl);
        ack.accept("task " + id + " " + t.status() + " " + t.etag().tag());
        queued.add(id);
      }
      case 2 -> {
        // keep the claim: it goes stale after the writer is killed and is reclaimed later
      }
      default -> {
        Task t = collab.tasks().complete(cl);
        ack.accept("task " + id + " " + t.status() + " " + t.etag().tag());
      }
    }
  }
}
