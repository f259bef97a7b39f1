package io.kyros.collab.file;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystem;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The permissions new files and directories get: owner-only ({@code 0600} / {@code 0700}) on POSIX
 * file systems, the file system's default elsewhere. Immutable and thread-safe.
 */
final class FilePermissions {
  private static final FileAttribute<?>[] NONE = new FileAttribute<?>[0];

  private final FileAttribute<?>[] file;
  private final FileAttribute<?>[] directory;

  private FilePermissions(FileAttribute<?>[] file, FileAttribute<?>[] directory) {
    this.file = file;
    this.directory = directory;
  }

  static FilePermissions ownerOnly(FileSystem fs) {
    if (!fs.supportedFileAttributeViews().contains("posix")) {
      return new FilePermissions(NONE, NONE);
    }
    return new FilePermissions(
        new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))},
        new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))});
  }

  FileAttribute<?>[] file() {
    return file.clone();
  }

  FileAttribute<?>[] directory() {
    return directory.clone();
  }

  /**
   * Forces files' contents to disk, opening each without following links. A file deleted since
   * is skipped: forcing its directory makes the deletion durable.
   */
  static void forceFiles(Set<Path> files) throws IOException {
    for (Path f : files) {
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        ch.force(true);
      } catch (NoSuchFileException e) {
        // gone: nothing to force
      }
    }
  }

  /**
   * Forces a directory's entries (created, renamed and deleted names) to disk. Java has no API for
   * this; opening the directory for reading and forcing the channel works on Linux and macOS.
   */
  static void forceDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
