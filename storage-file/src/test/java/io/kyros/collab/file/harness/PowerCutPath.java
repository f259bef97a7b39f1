package io.kyros.collab.file.harness;

import java.io.IOException;
import java.net.URI;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Objects;

/**
 * A path of {@link PowerCutFileSystem}: a real (default file system) path with the same name,
 * wrapped so that every {@code Files.*} and {@code FileChannel.open} call on it, and on every path
 * derived from it, goes through {@link PowerCutFileSystemProvider}. Immutable and thread-safe.
 */
final class PowerCutPath implements Path {
  private final PowerCutFileSystem fs;
  private final Path real;

  PowerCutPath(PowerCutFileSystem fs, Path real) {
    this.fs = fs;
    this.real = Objects.requireNonNull(real, "real");
  }

  /** @return the real path this one names */
  Path real() {
    return real;
  }

  private PowerCutPath wrap(Path p) {
    return p == null ? null : new PowerCutPath(fs, p);
  }

  /** @return the real path of a path of this file system */
  static Path unwrap(Path p) {
    if (p instanceof PowerCutPath c) {
      return c.real;
    }
    throw new ProviderMismatchException("not a power-cut path: " + p + " (" + p.getClass().getName() + ")");
  }

  @Override
  public PowerCutFileSystem getFileSystem() {
    return fs;
  }

  @Override
  public boolean isAbsolute() {
    return real.isAbsolute();
  }

  @Override
  public Path getRoot() {
    return wrap(real.getRoot());
  }

  @Override
  public Path getFileName() {
    return wrap(real.getFileName());
  }

  @Override
  public Path getParent() {
    return wrap(real.getParent());
  }

  @Override
  public int getNameCount() {
    return real.getNameCount();
  }

  @Override
  public Path getName(int index) {
    return wrap(real.getName(index));
  }

  @Override
  public Path subpath(int beginIndex, int endIndex) {
    return wrap(real.subpath(beginIndex, endIndex));
  }

  @Override
  public boolean startsWith(Path other) {
    return other instanceof PowerCutPath c && real.startsWith(c.real);
  }

  @Override
  public boolean endsWith(Path other) {
    return other instanceof PowerCutPath c && real.endsWith(c.real);
  }

  @Override
  public Path normalize() {
    return wrap(real.normalize());
  }

  @Override
  public Path resolve(Path other) {
    return wrap(real.resolve(unwrap(other)));
  }

  @Override
  public Path resolve(String other) {
    return wrap(real.resolve(other));
  }

  @Override
  public Path resolveSibling(String other) {
    return wrap(real.resolveSibling(other));
  }

  @Override
  public Path relativize(Path other) {
    return wrap(real.relativize(unwrap(other)));
  }

  /** The real path's URI: it names the same file, on the default file system. */
  @Override
  public URI toUri() {
    return real.toUri();
  }

  @Override
  public Path toAbsolutePath() {
    return wrap(real.toAbsolutePath());
  }

  @Override
  public Path toRealPath(LinkOption... options) throws IOException {
    fs.provider().disk().checkPower();
    return wrap(real.toRealPath(options));
  }

  /** Registers the real directory with a watch service of the default file system (see {@link PowerCutFileSystem#newWatchService()}). */
  @Override
  public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers)
      throws IOException {
    return real.register(watcher, events, modifiers);
  }

  @Override
  public int compareTo(Path other) {
    return real.compareTo(unwrap(other));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PowerCutPath c && c.fs == fs && c.real.equals(real);
  }

  @Override
  public int hashCode() {
    return real.hashCode();
  }

  @Override
  public String toString() {
    return real.toString();
  }
}
