package io.kyros.collab.file;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes journal entries, one per commit (format in {@code docs/file-format.md} and
 * {@link Journal}): the counters after the commit, its writes (values as JSON strings, with their
 * index entries, {@code "index":{"<name>":"<key>"}}, as documents hold them) and its events (embedded
 * as their log lines hold them, so each event is encoded once per commit). Entries written by format
 * 1 have no {@code "index"} members: their writes carry no entries. Stateless and thread-safe.
 */
final class JournalCodec {
  private JournalCodec() {}

  /**
   * One journaled write: a put (json and hash set) or a delete.
   *
   * @param index the put's secondary-index entries (empty for a delete, and in entries of format 1)
   */
  record JournalWrite(RecordKey key, long revision, String json, String hash, List<IndexEntry> index) {
    /** A write without index entries. */
    JournalWrite(RecordKey key, long revision, String json, String hash) {
      this(key, revision, json, hash, List.of());
    }

    boolean isDelete() {
      return json == null;
    }
  }

  /**
   * One journal entry: a commit's writes and events, and the counters after it.
   *
   * @param revision the store's revision counter after this commit
   * @param eventId the newest event id after this commit
   * @param writes the writes, in order
   * @param events the events, in id order
   */
  record JournalEntry(long revision, long eventId, List<JournalWrite> writes, List<StoredEvent> events) {}

  /** @return the framed journal line of one commit */
  static byte[] encodeEntry(JournalEntry entry) {
    return encodeEntry(entry, Codec.eventObjects(entry.events()));
  }

  /**
   * @param eventObjects the entry's events, encoded by {@link Codec#eventObjects}
   * @return the framed journal line of one commit, its events embedded as they go in the log
   */
  static byte[] encodeEntry(JournalEntry entry, List<byte[]> eventObjects) {
    byte[] head = Codec.write(g -> {
      g.writeStartObject();
      g.writeNumberField("revision", entry.revision());
      g.writeNumberField("eventId", entry.eventId());
      g.writeArrayFieldStart("writes");
      for (JournalWrite w : entry.writes()) {
        g.writeStartObject();
        g.writeStringField("collection", w.key().collection());
        g.writeStringField("id", w.key().id());
        g.writeNumberField("revision", w.revision());
        if (w.isDelete()) {
          g.writeBooleanField("delete", true);
        } else {
          g.writeStringField("hash", w.hash());
          DocumentCodec.writeIndex(g, w.index());
          g.writeStringField("json", w.json());
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeArrayFieldStart("events");
      g.writeEndArray();
      g.writeEndObject();
    });
    // head ends in "events":[]}: put the event objects between the brackets
    int size = head.length;
    for (byte[] o : eventObjects) {
      size += o.length + 1;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(size);
    out.write(head, 0, head.length - 2);
    for (int i = 0; i < eventObjects.size(); i++) {
      if (i > 0) {
        out.write(',');
      }
      out.writeBytes(eventObjects.get(i));
    }
    out.write(']');
    out.write('}');
    return Lines.frame(out.toByteArray());
  }

  /**
   * Decodes a journal line whose checksum was verified.
   *
   * @throws CorruptFileException if it is malformed
   */
  static JournalEntry decodeEntry(byte[] line, Path file, long offset) {
    try (JsonParser p = Codec.JSON.createParser(line)) {
      long revision = -1;
      long eventId = -1;
      List<JournalWrite> writes = new ArrayList<>();
      List<StoredEvent> events = new ArrayList<>();
      Codec.expect(p, JsonToken.START_OBJECT, file);
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        p.nextToken();
        switch (name) {
          case "revision" -> revision = p.getLongValue();
          case "eventId" -> eventId = p.getLongValue();
          case "writes" -> {
            while (p.nextToken() == JsonToken.START_OBJECT) {
              writes.add(readWrite(p));
            }
          }
          case "events" -> {
            while (p.nextToken() == JsonToken.START_OBJECT) {
              events.add(Codec.readEvent(p, line, Codec.DetailsForm.RAW_OR_TEXT));
            }
          }
          default -> p.skipChildren();
        }
      }
      if (revision < 0 || eventId < 0) {
        throw new CorruptFileException(file, offset, "journal entry lacks revision or eventId", null);
      }
      return new JournalEntry(revision, eventId, writes, events);
    } catch (JacksonException e) {
      throw new CorruptFileException(file, offset + Codec.errorOffset(e), "malformed journal entry: "
          + e.getOriginalMessage(), e);
    } catch (CorruptFileException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new CorruptFileException(file, offset, "malformed journal entry: " + e, e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static JournalWrite readWrite(JsonParser p) throws IOException {
    String collection = null;
    String id = null;
    long revision = -1;
    String hash = null;
    String json = null;
    List<IndexEntry> index = List.of();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      p.nextToken();
      switch (name) {
        case "collection" -> collection = p.getText();
        case "id" -> id = p.getText();
        case "revision" -> revision = p.getLongValue();
        case "hash" -> hash = p.getText();
        case "json" -> json = p.getText();
        case "index" -> index = DocumentCodec.readIndex(p);
        default -> p.skipChildren();
      }
    }
    if (revision <= 0 || (json == null) != (hash == null)) {
      throw new IllegalArgumentException("journal write lacks revision, or has only one of json and hash");
    }
    if (json == null && !index.isEmpty()) {
      throw new IllegalArgumentException("a journaled delete carries index entries");
    }
    return new JournalWrite(new RecordKey(collection, id), revision, json, hash, index);
  }
}
