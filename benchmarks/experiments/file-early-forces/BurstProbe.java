import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

/**
 * Raw floor: how many append + fsync commits a second one thread makes while other threads force the 1,200-byte
 * files it overwrites, one file per commit. Args: dir files threads seconds burst. threads 0 forces nothing; else a
 * coordinator waits until burst files are queued and forces them on the threads at once (threads 1, burst 1: one
 * after another, as Collab's early forces did before).
 */
public class BurstProbe {
  public static void main(String[] a) throws Exception {
    Path dir = Path.of(a[0]);
    int files = Integer.parseInt(a[1]);
    int threads = Integer.parseInt(a[2]);
    int burst = Integer.parseInt(a[4]);
    int seconds = Integer.parseInt(a[3]);
    Files.createDirectories(dir);
    byte[] doc = new byte[1200];
    Arrays.fill(doc, (byte) 'x');
    Path[] paths = new Path[files];
    for (int i = 0; i < files; i++) {
      paths[i] = dir.resolve("d" + i);
      if (!Files.exists(paths[i])) Files.write(paths[i], doc);
    }
    try (FileChannel j = FileChannel.open(dir.resolve("journal"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      j.force(true);
      SplittableRandom rnd = new SplittableRandom(1);
      BlockingQueue<Integer> queue = new LinkedBlockingQueue<>();
      AtomicLong forced = new AtomicLong();
      AtomicBoolean stop = new AtomicBoolean();
      ExecutorService pool = threads > 0 ? Executors.newFixedThreadPool(threads) : null;
      List<Future<?>> fs = new ArrayList<>();
      Thread coordinator = new Thread(() -> {
        try {
          while (!stop.get()) {
            if (queue.size() < burst) { Thread.sleep(1); continue; }
            List<Integer> batch = new ArrayList<>();
            queue.drainTo(batch, burst);
            List<Future<?>> done = new ArrayList<>();
            for (int i : batch) {
              done.add(pool.submit(() -> { try (FileChannel c = FileChannel.open(paths[i], StandardOpenOption.WRITE)) { c.force(false); } forced.incrementAndGet(); return null; }));
            }
            for (Future<?> f : done) f.get();
          }
        } catch (Exception e) { throw new RuntimeException(e); }
      });
      if (threads > 0) coordinator.start();
      ByteBuffer line = ByteBuffer.allocate(1800);
      long pos = 0, n = 0;
      long end = System.nanoTime() + seconds * 1_000_000_000L, start = System.nanoTime();
      while (System.nanoTime() < end) {
        line.clear(); j.write(line, pos); pos += 1800; j.force(false);
        int i = rnd.nextInt(files);
        try (FileChannel c = FileChannel.open(paths[i], StandardOpenOption.WRITE)) { c.write(ByteBuffer.wrap(doc), 0); }
        if (threads > 0) queue.add(i);
        n++;
      }
      double s = (System.nanoTime() - start) / 1e9;
      stop.set(true);
      if (pool != null) { pool.shutdown(); pool.awaitTermination(60, TimeUnit.SECONDS); }
      System.out.printf("threads=%d: %.0f journal commits/s, %d forced, %d backlog%n", threads, n / s, forced.get(), queue.size());
    }
  }
}
