package io.kyros.collab.file.harness;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A {@link FileChannel} of {@link PowerCutFileSystem}: reads and writes the real file, and tells the
 * {@link VolatileDisk} each write, truncation and force. A force is not passed on (the model decides
 * what a power cut keeps, so the real disk need not be flushed). Every operation fails once the power
 * is cut; closing still closes the real channel. Memory mapping and transfers are refused: they would
 * change the file behind the model's back. Thread-safe as far as the real channel is.
 */
final class PowerCutChannel extends FileChannel {
  private final FileChannel real;
  private final VolatileDisk disk;
  /** The file's node, or the directory's, or null for a file outside the model. */
  private final VolatileDisk.Node node;
  private final boolean append;

  PowerCutChannel(FileChannel real, VolatileDisk disk, VolatileDisk.Node node, boolean append) {
    this.real = real;
    this.disk = disk;
    this.node = node;
    this.append = append;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    disk.checkPower();
    return real.read(dst);
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    disk.checkPower();
    return real.read(dsts, offset, length);
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    disk.checkPower();
    return real.read(dst, position);
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    synchronized (disk) {
      disk.tick();
      long at = append ? real.size() : real.position();
      ByteBuffer copy = src.duplicate();
      int n = real.write(src);
      record(copy, at, n);
      return n;
    }
  }

  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
    long total = 0;
    for (int i = offset; i < offset + length; i++) {
      total += write(srcs[i]);
    }
    return total;
  }

  @Override
  public int write(ByteBuffer src, long position) throws IOException {
    synchronized (disk) {
      disk.tick();
      ByteBuffer copy = src.duplicate();
      int n = real.write(src, position);
      record(copy, position, n);
      return n;
    }
  }

  private void record(ByteBuffer copy, long at, int n) {
    if (node instanceof VolatileDisk.FileNode f && n > 0) {
      byte[] bytes = new byte[n];
      copy.get(bytes);
      disk.wrote(f, at, bytes);
    }
  }

  @Override
  public long position() throws IOException {
    disk.checkPower();
    return real.position();
  }

  @Override
  public FileChannel position(long newPosition) throws IOException {
    disk.checkPower();
    real.position(newPosition);
    return this;
  }

  @Override
  public long size() throws IOException {
    disk.checkPower();
    return real.size();
  }

  @Override
  public FileChannel truncate(long size) throws IOException {
    synchronized (disk) {
      disk.tick();
      boolean shorter = size < real.size();
      real.truncate(size);
      if (shorter && node instanceof VolatileDisk.FileNode f) {
        disk.truncated(f, size);
      }
      return this;
    }
  }

  /** Makes the file's content (or the directory's entries) durable in the model; the real disk is not flushed. */
  @Override
  public void force(boolean metaData) throws IOException {
    disk.beforeForce(); // outside the model's lock: a test may hold the forcing thread here
    synchronized (disk) {
      disk.checkPower();
      disk.checkForce(node);
      disk.tick();
      if (node instanceof VolatileDisk.FileNode f) {
        disk.forced(f);
      } else if (node instanceof VolatileDisk.DirNode d) {
        disk.forced(d);
      }
    }
  }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
    throw new IOException("transferTo is not modelled by the power-cut file system");
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
    throw new IOException("transferFrom is not modelled by the power-cut file system");
  }

  @Override
  public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
    throw new IOException("memory mapping escapes the power-cut model: writes through it could not be tracked");
  }

  /** The OS lock of the real file: locks are not on the disk, so nothing to model. */
  @Override
  public FileLock lock(long position, long size, boolean shared) throws IOException {
    disk.checkPower();
    return real.lock(position, size, shared);
  }

  @Override
  public FileLock tryLock(long position, long size, boolean shared) throws IOException {
    disk.checkPower();
    return real.tryLock(position, size, shared);
  }

  @Override
  protected void implCloseChannel() throws IOException {
    real.close();
  }
}
