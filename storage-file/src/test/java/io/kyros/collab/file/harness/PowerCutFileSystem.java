package io.kyros.collab.file.harness;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A test file system that simulates power cuts: it wraps the default one (every path names the real
 * file of the same name) and reports every change to a {@link VolatileDisk}, which keeps what was
 * written but not forced and, once the power is cut, writes back what a disk could hold. A store
 * opened on {@code fs.getPath(dir)} goes through it for every file operation.
 *
 * <pre>
 * VolatileDisk disk = VolatileDisk.load(dir, cutAt);
 * FileStorage store = FileStorage.open(PowerCutFileSystem.on(disk).getPath(dir.toString()));
 * ... until disk.isCut(); close the store ...
 * disk.materialize(random);   // dir now holds what survived the cut
 * </pre>
 *
 * <p>Linux's {@code /proc/sys/kernel/random/boot_id} reads as the disk's boot id, so a store sees a
 * new boot after every cut, as after a real one. Thread-safe.
 */
public final class PowerCutFileSystem extends FileSystem {
  private static final FileSystem DEFAULT = FileSystems.getDefault();
  private final PowerCutFileSystemProvider provider;

  private PowerCutFileSystem(VolatileDisk disk) {
    this.provider = new PowerCutFileSystemProvider(this, DEFAULT.provider(), disk);
  }

  /**
   * @param disk the disk model, one per boot
   * @return a file system reporting to it
   */
  public static PowerCutFileSystem on(VolatileDisk disk) {
    return new PowerCutFileSystem(disk);
  }

  @Override
  public PowerCutFileSystemProvider provider() {
    return provider;
  }

  @Override
  public void close() {
    throw new UnsupportedOperationException("the power-cut file system stays open");
  }

  @Override
  public boolean isOpen() {
    return true;
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  @Override
  public String getSeparator() {
    return DEFAULT.getSeparator();
  }

  @Override
  public Iterable<Path> getRootDirectories() {
    List<Path> roots = new ArrayList<>();
    DEFAULT.getRootDirectories().forEach(r -> roots.add(new PowerCutPath(this, r)));
    return roots;
  }

  @Override
  public Iterable<FileStore> getFileStores() {
    return DEFAULT.getFileStores();
  }

  @Override
  public Set<String> supportedFileAttributeViews() {
    return DEFAULT.supportedFileAttributeViews();
  }

  @Override
  public Path getPath(String first, String... more) {
    return new PowerCutPath(this, DEFAULT.getPath(first, more));
  }

  /** The default file system's matcher: it matches on the path's string, which is the real path's. */
  @Override
  public PathMatcher getPathMatcher(String syntaxAndPattern) {
    PathMatcher m = DEFAULT.getPathMatcher(syntaxAndPattern);
    return p -> m.matches(p instanceof PowerCutPath c ? c.real() : p);
  }

  @Override
  public UserPrincipalLookupService getUserPrincipalLookupService() {
    return DEFAULT.getUserPrincipalLookupService();
  }

  /**
   * The default file system's watch service, on the real directories: change notifications are not
   * on the disk, so there is nothing to model (and none arrive after the cut, since nothing changes).
   */
  @Override
  public WatchService newWatchService() throws IOException {
    return DEFAULT.newWatchService();
  }
}
