package io.kyros.collab.file;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes and decodes document files, and the {@code "index"} member that documents and journal
 * writes share (formats in {@code docs/file-format.md}):
 *
 * <pre>
 * {"key":"orders/o-1","revision":42,"hash":"kYhQ3oW2mR3bD0s1f4Qm3A","index":{"ready":"p5|t0001"},"value":{…},"crc32c":"9a0b1c2d"}
 *
 *   key     the record the document holds, collection "/" id: a document read under another key (a file
 *           copied or moved by hand) is damaged, not that record; absent in documents written before it
 *           was added, which read as they are
 *   index   the record's secondary-index entries, index name to key (printable ASCII); omitted when there
 *           are none, which is also how every document of a format-1 store reads
 * </pre>
 *
 * <p>Stateless and thread-safe.
 */
final class DocumentCodec {
  private DocumentCodec() {}

  /**
   * A decoded document: the record and its index entries.
   *
   * @param record the record
   * @param index its secondary-index entries, in the order written; empty if it has none
   */
  record StoredDocument(StoredRecord record, List<IndexEntry> index) {}

  /**
   * @param key the record the document holds
   * @param revision its revision
   * @param hash its value's hash
   * @param json its value, canonical JSON on one line
   * @param index its secondary-index entries
   * @return the framed line {@code {"key":"c/id","revision":r,"hash":"h"[,"index":{…}],"value":<json>,"crc32c":"xxxxxxxx"}\n}
   */
  static byte[] encodeDocument(RecordKey key, long revision, String hash, String json, List<IndexEntry> index) {
    return Lines.frame(Codec.write(g -> {
      g.writeStartObject();
      g.writeStringField("key", keyText(key));
      g.writeNumberField("revision", revision);
      g.writeStringField("hash", hash);
      writeIndex(g, index);
      g.writeFieldName("value");
      g.writeRawValue(json);
      g.writeEndObject();
    }));
  }

  /** Writes {@code "index":{"<name>":"<key>",…}}, or nothing when there are no entries. */
  static void writeIndex(JsonGenerator g, List<IndexEntry> index) throws IOException {
    if (index.isEmpty()) {
      return;
    }
    g.writeObjectFieldStart("index");
    for (IndexEntry e : index) {
      g.writeStringField(e.index(), e.key());
    }
    g.writeEndObject();
  }

  /**
   * Reads an {@code "index"} member's value; the parser is at its start.
   *
   * @throws IllegalArgumentException if it is not an object of printable-ASCII names and keys
   */
  static List<IndexEntry> readIndex(JsonParser p) throws IOException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw new IllegalArgumentException("\"index\" must be an object of index name to key");
    }
    List<IndexEntry> out = new ArrayList<>(2);
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      if (p.nextToken() != JsonToken.VALUE_STRING) {
        throw new IllegalArgumentException("the key of index " + name + " must be a string");
      }
      out.add(new IndexEntry(name, p.getText()));
    }
    return List.copyOf(out);
  }

  /** @return how a document names the record it holds: collection, {@code /}, id (a collection holds no {@code /}) */
  static String keyText(RecordKey key) {
    return key.collection() + "/" + key.id();
  }

  /**
   * Decodes a document file. A framed document (its first line verifies against its {@code "crc32c"}
   * member) is read from its first line alone: anything after it (the tail of a longer previous version,
   * not yet cut by a writer replacing it in place) is ignored. A file that ends like a framed line, or
   * whose first line does, is a checksummed document: if its first line does not verify (a byte changed,
   * or turned into a newline that ends the line early), it is damaged, never read as a hand-written
   * document. Only a document without a checksum frame (written by hand) is read as is.
   *
   * <p>A document naming another record ({@code "key"}) than the one it is read for is damaged: a
   * document file copied or moved by hand onto another record's name verifies against its own checksum,
   * and would otherwise be read as that record. A document without {@code "key"} (written before it was
   * added, or by hand) is read as is.
   *
   * @param key the record the file is read for
   * @param bytes the file's content
   * @param file the file, for messages
   * @return the document
   * @throws CorruptFileException if it is not a valid document of {@code key} (a checksum mismatch, a
   *     malformed index entry or another record's key included), naming the file and offset
   */
  static StoredDocument decodeDocument(RecordKey key, byte[] bytes, Path file) {
    int newline = Lines.indexOf(bytes, (byte) '\n', 0, bytes.length);
    if (newline > 0 && Lines.verify(bytes, 0, newline)) {
      return decodeDocumentJson(key, Arrays.copyOf(bytes, newline), file);
    }
    if (Lines.isFramed(bytes, 0, newline > 0 ? newline : bytes.length)) {
      throw new CorruptFileException(file, 0, "checksum mismatch (crc32c) in a document", null);
    }
    if (Lines.isFramed(bytes, 0, bytes.length)) {
      // the checksum frame ends the file but not its first line: a newline where none belongs
      throw new CorruptFileException(file, Math.max(newline, 0), "checksum mismatch (crc32c) in a document: its"
          + " content ends with a checksum frame, but its first line, ending at this offset, is not that line", null);
    }
    return decodeDocumentJson(key, bytes, file);
  }

  private static StoredDocument decodeDocumentJson(RecordKey key, byte[] bytes, Path file) {
    long revision = -1;
    String named = null;
    boolean namedInvalid = false;
    String hash = null;
    String value = null;
    List<IndexEntry> index = List.of();
    try (JsonParser p = Codec.JSON.createParser(bytes)) {
      Codec.expect(p, JsonToken.START_OBJECT, file);
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        switch (name) {
          case "key" -> {
            named = t == JsonToken.VALUE_STRING ? p.getText() : null;
            namedInvalid = named == null;
            p.skipChildren();
          }
          case "revision" -> revision = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
          case "hash" -> hash = t == JsonToken.VALUE_STRING ? p.getText() : null;
          case "value" -> value = Codec.raw(p, bytes);
          case "index" -> index = readIndex(p);
          default -> p.skipChildren();
        }
      }
      if (p.currentToken() != JsonToken.END_OBJECT) {
        throw Codec.corrupt(file, p, "a document must be one JSON object", null);
      }
      if (p.nextToken() != null) {
        throw Codec.corrupt(file, p, "unexpected content after the document object", null);
      }
    } catch (JacksonException e) {
      throw Codec.corrupt(file, e, "invalid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (CorruptFileException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new CorruptFileException(file, 0, "not a document: " + e, e);
    }
    if (namedInvalid) {
      throw new CorruptFileException(file, 0, "invalid \"key\" (a string: collection/id)", null);
    }
    if (named != null && !named.equals(keyText(key))) {
      throw new CorruptFileException(file, 0, "the document holds record " + named + ", not " + keyText(key)
          + ", the record of its file's name (a document file copied or moved onto another's name?)", null);
    }
    if (revision <= 0) {
      throw new CorruptFileException(file, 0, "missing or invalid \"revision\" (a positive integer)", null);
    }
    if (hash == null) {
      throw new CorruptFileException(file, 0, "missing or invalid \"hash\" (a string)", null);
    }
    if (value == null) {
      throw new CorruptFileException(file, 0, "missing \"value\"", null);
    }
    return new StoredDocument(new StoredRecord(key, value, revision, hash), index);
  }
}
