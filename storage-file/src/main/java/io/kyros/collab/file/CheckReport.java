package io.kyros.collab.file;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What {@link FileStorage#check(Path)} found in a store's directory: every problem, each with the
 * file and the byte offset where it is. An empty list means every document's checksum and hash,
 * every event line's checksum and id, the segment chain, the journal and the counters agree.
 *
 * <p>Immutable and thread-safe.
 *
 * @param root the checked directory
 * @param documents how many document files were checked
 * @param events how many event lines were checked
 * @param journalEntries how many journal entries were checked
 * @param problems the problems found, in the order they were found
 */
public record CheckReport(Path root, long documents, long events, long journalEntries, List<Problem> problems) {

  /**
   * Creates a report, copying the list.
   *
   * @param root the checked directory
   * @param documents how many document files were checked
   * @param events how many event lines were checked
   * @param journalEntries how many journal entries were checked
   * @param problems the problems found
   * @throws NullPointerException if root, problems or a problem is null
   */
  public CheckReport {
    Objects.requireNonNull(root, "root");
    problems = List.copyOf(problems);
  }

  /** @return whether no problem was found */
  public boolean ok() {
    return problems.isEmpty();
  }

  /**
   * One problem.
   *
   * @param file the file that is damaged or missing
   * @param offset the byte offset in it where the problem is (0 for a missing or wholly wrong file)
   * @param description what is wrong
   */
  public record Problem(Path file, long offset, String description) {
    /**
     * Creates a problem.
     *
     * @param file the file
     * @param offset the byte offset
     * @param description what is wrong
     * @throws NullPointerException if file or description is null
     * @throws IllegalArgumentException if offset is negative
     */
    public Problem {
      Objects.requireNonNull(file, "file");
      Objects.requireNonNull(description, "description");
      if (offset < 0) {
        throw new IllegalArgumentException("offset must not be negative: " + offset);
      }
    }

    @Override
    public String toString() {
      return file + " at offset " + offset + ": " + description;
    }
  }
}
