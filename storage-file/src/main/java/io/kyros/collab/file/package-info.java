/**
 * Collab's file storage: {@link io.kyros.collab.file.FileStorage}, a crash-safe backend on a plain
 * directory shared by the processes of one machine. The on-disk format is described in the class
 * comment and in {@code docs/file-format.md}.
 */
package io.kyros.collab.file;
