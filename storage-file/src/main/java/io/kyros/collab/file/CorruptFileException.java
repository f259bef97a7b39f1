package io.kyros.collab.file;

import io.kyros.collab.DamagedStorageException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A file of a {@link FileStorage} directory is damaged: a log line whose checksum does not match in
 * the middle of a segment, a document that is not valid JSON, a journal entry that cannot be read.
 * The message and the accessors name the file and the byte offset of the damage. Nothing is skipped
 * or dropped silently: the operation that met the damage fails, and every record not touched by it
 * stays readable. A {@link DamagedStorageException}: reading it again fails the same way, so a subscription ends
 * with it.
 *
 * <p>Immutable and thread-safe.
 */
public final class CorruptFileException extends DamagedStorageException {
  private static final long serialVersionUID = 1L;

  /** The damaged file. */
  private final transient Path file;
  /** The byte offset in {@link #file} where the damage starts. */
  private final long offset;

  /**
   * Creates the exception.
   *
   * @param file the damaged file
   * @param offset the byte offset where the damage starts
   * @param problem what is wrong there
   * @param cause the parser's exception, or null
   */
  CorruptFileException(Path file, long offset, String problem, Throwable cause) {
    super("corrupt file " + Objects.requireNonNull(file, "file") + " at offset " + offset + ": " + problem, cause);
    this.file = file;
    this.offset = offset;
  }

  /** @return the damaged file */
  public Path file() {
    return file;
  }

  /** @return the byte offset in {@link #file()} where the damage starts */
  public long offset() {
    return offset;
  }
}
