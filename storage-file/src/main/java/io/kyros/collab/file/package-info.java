/**
 * Collab's file-based storage (a directory shared by the processes of one machine). The backend is built by its own issue; this module holds the package so that the
 * artifact and its coordinates exist from the first release.
 */
package io.kyros.collab.file;
