package io.kyros.collab.file.harness;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.spi.FileSystemProvider;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The provider of {@link PowerCutFileSystem}: performs each operation on the real file and reports
 * it to the {@link VolatileDisk}. Changes (creating, writing, truncating, forcing, renaming,
 * deleting) are made under the disk's monitor, one tick each, so the model and the real directory
 * change together and a cut falls between two of them; every operation, reads included, fails once
 * the power is cut. Forces are not passed on to the real disk. Copying, links, memory mapping and
 * channel transfers are refused (the store uses none of them). Thread-safe.
 */
public final class PowerCutFileSystemProvider extends FileSystemProvider {
  /** Where Linux keeps its boot id; read here, it is the disk's boot. */
  static final String BOOT_ID = "/proc/sys/kernel/random/boot_id";

  private final PowerCutFileSystem fs;
  private final FileSystemProvider real;
  private final VolatileDisk disk;

  PowerCutFileSystemProvider(PowerCutFileSystem fs, FileSystemProvider real, VolatileDisk disk) {
    this.fs = fs;
    this.real = real;
    this.disk = disk;
  }

  /** @return the disk this file system reports to */
  public VolatileDisk disk() {
    return disk;
  }

  @Override
  public String getScheme() {
    return "powercut";
  }

  @Override
  public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
    throw new UnsupportedOperationException("create it with PowerCutFileSystem.on(disk)");
  }

  @Override
  public FileSystem getFileSystem(URI uri) {
    throw new UnsupportedOperationException("create it with PowerCutFileSystem.on(disk)");
  }

  @Override
  public Path getPath(URI uri) {
    throw new UnsupportedOperationException("use PowerCutFileSystem.getPath");
  }

  private static Path unwrap(Path p) {
    return PowerCutPath.unwrap(p);
  }

  @Override
  public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
      throws IOException {
    Path file = unwrap(path);
    if (file.toString().equals(BOOT_ID)) {
      throw new IOException("the simulated boot id is read with Files.readAllBytes: " + file);
    }
    boolean writes = options.contains(StandardOpenOption.WRITE) || options.contains(StandardOpenOption.APPEND);
    synchronized (disk) {
      disk.checkPower();
      VolatileDisk.Node existing = disk.lookup(file);
      boolean creates = writes && existing == null
          && (options.contains(StandardOpenOption.CREATE) || options.contains(StandardOpenOption.CREATE_NEW));
      boolean truncates = writes && existing instanceof VolatileDisk.FileNode
          && options.contains(StandardOpenOption.TRUNCATE_EXISTING);
      if (creates || truncates) {
        disk.tick();
      }
      FileChannel channel = real.newFileChannel(file, options, attrs);
      VolatileDisk.Node node = existing;
      if (creates) {
        node = disk.created(file, false);
      } else if (truncates) {
        disk.truncated((VolatileDisk.FileNode) existing, 0);
      }
      return new PowerCutChannel(channel, disk, node, options.contains(StandardOpenOption.APPEND));
    }
  }

  @Override
  public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
      throws IOException {
    Path file = unwrap(path);
    if (file.toString().equals(BOOT_ID)) {
      disk.checkPower();
      return new BootIdChannel(disk.bootId());
    }
    return newFileChannel(path, options, attrs);
  }

  @Override
  public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
      throws IOException {
    disk.checkPower();
    DirectoryStream<Path> stream = real.newDirectoryStream(unwrap(dir), p -> filter.accept(new PowerCutPath(fs, p)));
    return new DirectoryStream<>() {
      @Override
      public Iterator<Path> iterator() {
        Iterator<Path> it = stream.iterator();
        return new Iterator<>() {
          @Override
          public boolean hasNext() {
            return it.hasNext();
          }

          @Override
          public Path next() {
            return new PowerCutPath(fs, it.next());
          }
        };
      }

      @Override
      public void close() throws IOException {
        stream.close();
      }
    };
  }

  @Override
  public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
    Path d = unwrap(dir);
    synchronized (disk) {
      disk.tick();
      real.createDirectory(d, attrs);
      disk.created(d, true);
    }
  }

  @Override
  public void delete(Path path) throws IOException {
    Path p = unwrap(path);
    synchronized (disk) {
      disk.tick();
      real.delete(p);
      disk.deleted(p);
    }
  }

  @Override
  public void copy(Path source, Path target, CopyOption... options) throws IOException {
    throw new IOException("copying is not modelled by the power-cut file system: " + source);
  }

  @Override
  public void move(Path source, Path target, CopyOption... options) throws IOException {
    Path from = unwrap(source);
    Path to = unwrap(target);
    synchronized (disk) {
      disk.tick();
      real.move(from, to, options);
      disk.renamed(from, to);
    }
  }

  @Override
  public boolean isSameFile(Path path, Path path2) throws IOException {
    disk.checkPower();
    return real.isSameFile(unwrap(path), unwrap(path2));
  }

  @Override
  public boolean isHidden(Path path) throws IOException {
    disk.checkPower();
    return real.isHidden(unwrap(path));
  }

  @Override
  public FileStore getFileStore(Path path) throws IOException {
    disk.checkPower();
    return real.getFileStore(unwrap(path));
  }

  @Override
  public void checkAccess(Path path, AccessMode... modes) throws IOException {
    disk.checkPower();
    real.checkAccess(unwrap(path), modes);
  }

  @Override
  public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
    return real.getFileAttributeView(unwrap(path), type, options);
  }

  @Override
  public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
      throws IOException {
    disk.checkPower();
    return real.readAttributes(unwrap(path), type, options);
  }

  @Override
  public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
    disk.checkPower();
    return real.readAttributes(unwrap(path), attributes, options);
  }

  @Override
  public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
    disk.checkPower();
    real.setAttribute(unwrap(path), attribute, value, options);
  }

  /** The boot id, as a read-only channel. */
  private static final class BootIdChannel implements SeekableByteChannel {
    private final byte[] bytes;
    private int position;
    private boolean open = true;

    BootIdChannel(String bootId) {
      this.bytes = (bootId + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public int read(ByteBuffer dst) {
      if (position >= bytes.length) {
        return -1;
      }
      int n = Math.min(dst.remaining(), bytes.length - position);
      dst.put(bytes, position, n);
      position += n;
      return n;
    }

    @Override
    public int write(ByteBuffer src) {
      throw new NonWritableChannelException();
    }

    @Override
    public long position() {
      return position;
    }

    @Override
    public SeekableByteChannel position(long newPosition) {
      position = (int) Math.min(newPosition, bytes.length);
      return this;
    }

    @Override
    public long size() {
      return bytes.length;
    }

    @Override
    public SeekableByteChannel truncate(long size) {
      throw new NonWritableChannelException();
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() {
      open = false;
    }
  }
}
