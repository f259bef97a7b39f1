package io.kyros.collab.file.harness;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

/**
 * What a disk under a page cache holds, for {@link PowerCutFileSystem}: per file the <em>durable</em>
 * content (as of its last {@code force}) and the writes and truncations made since, not yet forced;
 * per directory the durable entries (as of its last {@code force}) and the creations, deletions and
 * renames made since. The real directory below always holds the current state (what a process sees
 * through the page cache); this model knows which part of it a power cut may lose.
 *
 * <p>Every file operation that changes something, forces included, is one tick; the tick numbered
 * {@code cutAt} does not happen: the power is cut before it, and from then on every operation fails.
 * {@link #materialize} then writes, in place of the real directory, what a disk could hold after the
 * cut: the durable state plus, chosen at random per file and per directory, unforced leftovers:
 * <ul>
 *   <li>a file's unforced writes all lost, all kept, a prefix of them kept with the next one torn
 *       (a byte prefix of it, or some of its 4 KiB pages), or any mix of old and new 4 KiB pages
 *       (with the old or the new size: pages never written read as zeros);</li>
 *   <li>a directory's unforced creations, deletions and renames all lost, all kept, a prefix of them,
 *       or any subset (each kept or lost on its own; a rename is atomic, and one whose source entry did
 *       not survive is lost with it).</li>
 * </ul>
 * Forcing a file ({@code force(false)} or {@code force(true)}) makes its content and size durable,
 * not its name; forcing a directory makes its entries durable.
 *
 * <p>Each instance is one boot: it has its own {@link #bootId()}, which the file system serves as
 * Linux's {@code /proc/sys/kernel/random/boot_id}.
 *
 * <p>Thread-safe: every method synchronizes on this object; the file system performs each real
 * change under the same monitor, so the model and the real directory change together.
 */
public final class VolatileDisk {
  static final int PAGE = 4096;

  private final Path root;
  private final long cutAt;
  private final String bootId = UUID.randomUUID().toString();
  private final DirNode top;
  /** Files whose next forces fail, with how many more do: {@link #failForces}. */
  private final Map<Node, Integer> failingForces = new IdentityHashMap<>();
  private int failedForces;
  /** Runs in the forcing thread before every force, outside the model's lock: {@link #onForce}. */
  private volatile Runnable beforeForce = () -> { };
  private long ticks;
  private boolean cut;

  /** Counts of what a {@link #materialize} did, summed over the files and directories. */
  public record Leftovers(int unforcedFiles, int droppedWrites, int tornWrites, int unforcedEntries,
      int lostEntries) {
    /** @return the sum of two counts */
    public Leftovers plus(Leftovers o) {
      return new Leftovers(unforcedFiles + o.unforcedFiles, droppedWrites + o.droppedWrites,
          tornWrites + o.tornWrites, unforcedEntries + o.unforcedEntries, lostEntries + o.lostEntries);
    }

    @Override
    public String toString() {
      return "unforced-files=" + unforcedFiles + " dropped-writes=" + droppedWrites + " torn-writes=" + tornWrites
          + " unforced-entries=" + unforcedEntries + " lost-entries=" + lostEntries;
    }
  }

  /** A file or a directory: an inode, whose identity survives renames. */
  abstract static sealed class Node permits FileNode, DirNode {}

  /** A file's durable content and its unforced changes, oldest first. */
  static final class FileNode extends Node {
    byte[] durable;
    final List<DataOp> pending = new ArrayList<>();

    FileNode(byte[] durable) {
      this.durable = durable;
    }
  }

  /** A directory's durable entries and its unforced changes, oldest first. */
  static final class DirNode extends Node {
    final Map<String, Node> current = new HashMap<>();
    Map<String, Node> durable = new HashMap<>();
    final List<MetaOp> pending = new ArrayList<>();
  }

  /** An unforced change of a file's content. */
  sealed interface DataOp permits Write, Truncate {}

  record Write(long position, byte[] bytes) implements DataOp {}

  record Truncate(long size) implements DataOp {}

  /** An unforced change of a directory's entries. */
  sealed interface MetaOp permits Link, Unlink, Rename {}

  /** A name added (a new file or directory). */
  record Link(String name, Node node) implements MetaOp {}

  /** A name removed. */
  record Unlink(String name, Node node) implements MetaOp {}

  /** A name moved within the directory, replacing whatever the target named. */
  record Rename(String from, String to, Node node) implements MetaOp {}

  private VolatileDisk(Path root, long cutAt, DirNode top) {
    this.root = root;
    this.cutAt = cutAt;
    this.top = top;
  }

  /**
   * Models an existing directory tree as entirely durable (what a disk holds after a clean shutdown,
   * or what the last power cut left).
   *
   * @param root the real directory (absolute, real path); it must exist
   * @param cutAt the number of the tick before which the power is cut ({@code Long.MAX_VALUE}: never)
   * @return the model
   * @throws IOException if the tree cannot be read
   */
  public static VolatileDisk load(Path root, long cutAt) throws IOException {
    if (cutAt < 1) {
      throw new IllegalArgumentException("cutAt must be positive: " + cutAt);
    }
    return new VolatileDisk(root, cutAt, loadDirectory(root));
  }

  private static DirNode loadDirectory(Path dir) throws IOException {
    DirNode d = new DirNode();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        if (Files.isSymbolicLink(p)) {
          throw new IOException("links are not modelled: " + p);
        }
        Node n = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? loadDirectory(p) : new FileNode(Files.readAllBytes(p));
        d.current.put(p.getFileName().toString(), n);
      }
    }
    d.durable = new HashMap<>(d.current);
    return d;
  }

  /** @return the real directory modelled */
  public Path root() {
    return root;
  }

  /** @return this boot's id, as {@code /proc/sys/kernel/random/boot_id} reads in it */
  public String bootId() {
    return bootId;
  }

  /** @return whether the power has been cut */
  public synchronized boolean isCut() {
    return cut;
  }

  /** @return the ticks that happened (changes made before the cut) */
  public synchronized long ticks() {
    return ticks;
  }

  /**
   * Waits until the power is cut.
   *
   * @param timeoutMillis the longest wait
   * @return whether it was cut
   * @throws InterruptedException if interrupted
   */
  public synchronized boolean awaitCut(long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    long left;
    while (!cut && (left = deadline - System.nanoTime()) > 0) {
      wait(Math.max(1, left / 1_000_000L));
    }
    return cut;
  }

  /**
   * Makes the next {@code times} forces of a file fail with an {@link IOException}, as a disk error
   * would. As on Linux, where a failed {@code fsync} marks the dirty pages clean, the file's unforced
   * writes are lost for good: a later force does not make them durable, only writing them again
   * does. The power stays on, and the file reads as before until the power is cut.
   *
   * @param real the file's real path inside the root
   * @param times how many forces of it fail
   * @throws IllegalArgumentException if no file is modelled at that path
   */
  public synchronized void failForces(Path real, int times) {
    if (!(lookup(real) instanceof FileNode f)) {
      throw new IllegalArgumentException("no file modelled at " + real);
    }
    failingForces.put(f, times);
  }

  /**
   * Runs {@code hook} in the forcing thread before every force from now on, outside the model's lock, so that a test
   * can hold a force while it runs (for example until the store is being closed).
   *
   * @param hook what to run
   */
  public void onForce(Runnable hook) {
    beforeForce = java.util.Objects.requireNonNull(hook, "hook");
  }

  /** Runs the hook set by {@link #onForce}. */
  void beforeForce() {
    beforeForce.run();
  }

  /**
   * Fails a force of a file armed by {@link #failForces}.
   *
   * @throws IOException if this force is to fail
   */
  synchronized void checkForce(Node node) throws IOException {
    Integer left = failingForces.get(node);
    if (left != null && left > 0) {
      failingForces.put(node, left - 1);
      if (node instanceof FileNode f) {
        f.pending.clear(); // never to reach the disk
      }
      failedForces++;
      throw new IOException("simulated disk error while forcing a file");
    }
  }

  /** @return how many forces {@link #failForces} made fail */
  public synchronized int failedForces() {
    return failedForces;
  }

  /** Cuts the power now (for a run that reached its end without its random cut). */
  public synchronized void cutNow() {
    cut = true;
    notifyAll();
  }

  /**
   * Fails if the power is off; called before every operation, changes or not.
   *
   * @throws IOException if it is
   */
  synchronized void checkPower() throws IOException {
    if (cut) {
      throw new IOException("power cut (simulated)");
    }
  }

  /**
   * Counts a change about to be made; the tick numbered {@code cutAt} cuts the power instead.
   *
   * @throws IOException if the power is (now) off
   */
  synchronized void tick() throws IOException {
    checkPower();
    if (++ticks >= cutAt) {
      cut = true;
      notifyAll();
      throw new IOException("power cut (simulated) before change " + ticks);
    }
  }

  // ------------------------------------------------------------------------------- the namespace

  /** @return the node at a real path inside the root, or null (outside the root, or absent) */
  synchronized Node lookup(Path real) {
    if (!real.startsWith(root)) {
      return null;
    }
    Node n = top;
    for (Path name : root.relativize(real)) {
      if (name.toString().isEmpty()) {
        continue;
      }
      if (!(n instanceof DirNode d)) {
        return null;
      }
      n = d.current.get(name.toString());
      if (n == null) {
        return null;
      }
    }
    return n;
  }

  /** @return the directory holding a real path, if it is inside the root and modelled */
  private DirNode parentOf(Path real) {
    Path parent = real.getParent();
    return parent != null && lookup(parent) instanceof DirNode d ? d : null;
  }

  /** Records a new file or directory (created on the real disk just before). */
  synchronized Node created(Path real, boolean directory) {
    DirNode parent = parentOf(real);
    if (parent == null) {
      return null;
    }
    Node n = directory ? new DirNode() : new FileNode(new byte[0]);
    String name = real.getFileName().toString();
    parent.current.put(name, n);
    parent.pending.add(new Link(name, n));
    return n;
  }

  /** Records a deletion (done on the real disk just before). */
  synchronized void deleted(Path real) {
    DirNode parent = parentOf(real);
    if (parent == null) {
      return;
    }
    String name = real.getFileName().toString();
    Node n = parent.current.remove(name);
    if (n != null) {
      parent.pending.add(new Unlink(name, n));
    }
  }

  /**
   * Records a rename (done on the real disk just before).
   *
   * @throws IOException if it moved between directories, which is not modelled
   */
  synchronized void renamed(Path from, Path to) throws IOException {
    DirNode parent = parentOf(from);
    if (parent == null && parentOf(to) == null) {
      return;
    }
    if (parent == null || parentOf(to) != parent) {
      throw new IOException("a rename between directories is not modelled: " + from + " -> " + to);
    }
    String a = from.getFileName().toString();
    String b = to.getFileName().toString();
    Node n = parent.current.remove(a);
    if (n == null) {
      throw new IOException("the model lost track of " + from);
    }
    parent.current.put(b, n);
    parent.pending.add(new Rename(a, b, n));
  }

  /** Records a write of a file's content (done on the real disk just before). */
  synchronized void wrote(FileNode f, long position, byte[] bytes) {
    f.pending.add(new Write(position, bytes));
  }

  /** Records a truncation (done on the real disk just before). */
  synchronized void truncated(FileNode f, long size) {
    f.pending.add(new Truncate(size));
  }

  /** A file's content and size become durable ({@code fdatasync}, {@code fsync}). */
  synchronized void forced(FileNode f) {
    f.durable = apply(f.durable, f.pending);
    f.pending.clear();
  }

  /** A directory's entries become durable. */
  synchronized void forced(DirNode d) {
    d.durable = new HashMap<>(d.current);
    d.pending.clear();
  }

  // ----------------------------------------------------------------------------- after the cut

  /**
   * Replaces the real directory's contents with what the disk could hold after the cut: the durable
   * state plus random unforced leftovers. Call once the power is cut and every channel is closed.
   *
   * @param random the choices
   * @return what was kept, torn and lost
   * @throws IOException if the real directory cannot be rewritten
   * @throws IllegalStateException if the power was not cut
   */
  public synchronized Leftovers materialize(Random random) throws IOException {
    if (!cut) {
      throw new IllegalStateException("the power must be cut before the disk is read back");
    }
    int[] counts = new int[5];
    Map<String, Object> tree = survivingTree(top, random, counts);
    rewrite(root, tree);
    return new Leftovers(counts[0], counts[1], counts[2], counts[3], counts[4]);
  }

  /** Stands for a file whose real content is what survives (no unforced change, same name): not rewritten. */
  private static final Object UNCHANGED = new Object();

  /** @return name to byte[] (a file) or to a nested map (a directory) */
  private static Map<String, Object> survivingTree(DirNode d, Random random, int[] counts) {
    Map<String, Object> out = new HashMap<>();
    for (Map.Entry<String, Node> e : survivingEntries(d, random, counts).entrySet()) {
      Node n = e.getValue();
      if (n instanceof DirNode sub) {
        out.put(e.getKey(), survivingTree(sub, random, counts));
      } else if (((FileNode) n).pending.isEmpty() && d.current.get(e.getKey()) == n) {
        out.put(e.getKey(), UNCHANGED);
      } else {
        out.put(e.getKey(), survivingContent((FileNode) n, random, counts));
      }
    }
    return out;
  }

  private static Map<String, Node> survivingEntries(DirNode d, Random random, int[] counts) {
    Map<String, Node> entries = new HashMap<>(d.durable);
    int n = d.pending.size();
    if (n == 0) {
      return entries;
    }
    counts[3] += n;
    int mode = random.nextInt(4);
    int prefix = random.nextInt(n + 1);
    for (int i = 0; i < n; i++) {
      boolean keep = switch (mode) {
        case 0 -> false;
        case 1 -> true;
        case 2 -> i < prefix;
        default -> random.nextBoolean();
      };
      MetaOp op = d.pending.get(i);
      boolean applied = keep && replay(entries, op);
      if (!applied) {
        counts[4]++;
      }
    }
    return entries;
  }

  /** Applies a kept directory change to the surviving entries; false if it cannot apply. */
  private static boolean replay(Map<String, Node> entries, MetaOp op) {
    if (op instanceof Link l) {
      entries.put(l.name(), l.node());
      return true;
    }
    if (op instanceof Unlink u) {
      return entries.remove(u.name(), u.node());
    }
    Rename r = (Rename) op;
    if (entries.get(r.from()) != r.node()) {
      return false; // the entry it renames did not survive
    }
    entries.remove(r.from());
    entries.put(r.to(), r.node());
    return true;
  }

  private static byte[] survivingContent(FileNode f, Random random, int[] counts) {
    List<DataOp> ops = f.pending;
    if (ops.isEmpty()) {
      return f.durable;
    }
    counts[0]++;
    switch (random.nextInt(4)) {
      case 0 -> {
        counts[1]++;
        return f.durable;
      }
      case 1 -> {
        return apply(f.durable, ops);
      }
      case 2 -> {
        // a prefix of the writes reached the disk, the next one only in part
        int k = random.nextInt(ops.size());
        byte[] content = apply(f.durable, ops.subList(0, k));
        DataOp next = ops.get(k);
        if (next instanceof Write w && w.bytes().length > 0) {
          counts[2]++;
          return random.nextBoolean() ? apply(content, List.of(new Write(w.position(),
              Arrays.copyOf(w.bytes(), random.nextInt(w.bytes().length)))))
              : apply(content, somePages(w, random));
        }
        return random.nextBoolean() ? apply(content, List.of(next)) : content;
      }
      default -> {
        // the writeback of some dirty pages, in any order; the size old or new
        counts[2]++;
        byte[] now = apply(f.durable, ops);
        byte[] out = new byte[random.nextBoolean() ? f.durable.length : now.length];
        for (int at = 0; at < out.length; at += PAGE) {
          byte[] from = random.nextBoolean() ? now : f.durable;
          int n = Math.min(PAGE, Math.min(out.length, from.length) - at);
          if (n > 0) {
            System.arraycopy(from, at, out, at, n);
          }
        }
        return out;
      }
    }
  }

  /** @return the parts of a write that fall into a random subset of the 4 KiB pages it spans */
  private static List<DataOp> somePages(Write w, Random random) {
    List<DataOp> parts = new ArrayList<>();
    long end = w.position() + w.bytes().length;
    for (long at = w.position(); at < end; ) {
      long pageEnd = Math.min(end, (at / PAGE + 1) * PAGE);
      if (random.nextBoolean()) {
        parts.add(new Write(at, Arrays.copyOfRange(w.bytes(), (int) (at - w.position()), (int) (pageEnd - w.position()))));
      }
      at = pageEnd;
    }
    return parts;
  }

  private static byte[] apply(byte[] content, List<DataOp> ops) {
    byte[] out = content;
    for (DataOp op : ops) {
      if (op instanceof Write w) {
        long end = w.position() + w.bytes().length;
        if (end > out.length) {
          out = Arrays.copyOf(out, (int) end);
        } else if (out == content) {
          out = out.clone();
        }
        System.arraycopy(w.bytes(), 0, out, (int) w.position(), w.bytes().length);
      } else if (((Truncate) op).size() < out.length) {
        out = Arrays.copyOf(out, (int) ((Truncate) op).size());
      }
    }
    return out;
  }

  /** Makes a real directory hold exactly a surviving tree, rewriting only what differs. */
  @SuppressWarnings("unchecked")
  private static void rewrite(Path dir, Map<String, Object> tree) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        Object survivor = tree.get(p.getFileName().toString());
        boolean isDir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
        if (survivor == null || (survivor instanceof Map) != isDir) {
          DirectoryTrees.delete(p);
        }
      }
    }
    for (Map.Entry<String, Object> e : tree.entrySet()) {
      Path p = dir.resolve(e.getKey());
      if (e.getValue() instanceof byte[] bytes) {
        Files.write(p, bytes);
      } else if (e.getValue() instanceof Map) {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          Files.createDirectory(p);
        }
        rewrite(p, (Map<String, Object>) e.getValue());
      }
    }
  }
}
