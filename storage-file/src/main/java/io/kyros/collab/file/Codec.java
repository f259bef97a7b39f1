package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.JacksonException;
import io.kyros.collab.spi.StoredEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Encodes and decodes event lines and the counters of {@code checkpoint.json} and the lock header,
 * and holds the JSON reader and writer helpers {@link DocumentCodec} (documents) and
 * {@link JournalCodec} (journal entries) share (formats in {@code docs/file-format.md}). Values and
 * details are kept as the exact text core handed over: documents and event lines embed it raw (so
 * {@code jq} sees structure). Stateless and thread-safe.
 */
final class Codec {
  /**
   * The reader accepts whatever the writer wrote: values and details are written as the text core
   * handed over, so no parser limit may be lower than what core accepts. Parsing is streaming (no
   * recursion), so depth costs memory in proportion to the line, never stack.
   */
  static final JsonFactory JSON = JsonFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .streamReadConstraints(StreamReadConstraints.builder()
          .maxNestingDepth(Integer.MAX_VALUE)
          .maxStringLength(Integer.MAX_VALUE)
          .maxNameLength(Integer.MAX_VALUE)
          .build())
      .build();

  /** A boot id that needs no JSON escaping (Linux's are UUIDs), so the header can be written by hand. */
  private static final Pattern PLAIN_BOOT_ID = Pattern.compile("[0-9A-Za-z-]*");

  private Codec() {}

  /**
   * Checks that a value or an event's details, which documents, event lines and journal entries embed raw, is text
   * this codec reads back in its line: one JSON value (no duplicate member names, nothing after it) without a line
   * break (JSON allows one as whitespace, but it would split the line its frame covers, and the store would not open
   * again) or a lone surrogate (UTF-8 cannot encode one: the file would hold '?'). Core always hands over canonical
   * JSON, which passes; a direct caller of the SPI may not.
   *
   * @param json the text
   * @param what what it is, for the message, such as "the value of c/x"
   * @throws IllegalArgumentException naming the broken condition
   */
  static void requireEmbeddable(String json, String what) {
    for (int i = 0; i < json.length(); i++) {
      char c = json.charAt(i);
      if (c == '\n' || c == '\r') {
        throw new IllegalArgumentException(what + " must be JSON on one line: a line break at index " + i);
      }
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < json.length() && Character.isLowSurrogate(json.charAt(i + 1))) {
          i++;
        } else {
          // UTF-8 cannot encode it: the file would hold '?' instead
          throw new IllegalArgumentException(what + " holds a lone surrogate at index " + i);
        }
      }
    }
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() == null) {
        throw new IllegalArgumentException(what + " is not JSON: it is empty");
      }
      p.skipChildren();
      JsonToken after = p.nextToken();
      if (after != null) {
        throw new IllegalArgumentException(what + " is not one JSON value: more follows at index "
            + p.currentTokenLocation().getCharOffset());
      }
    } catch (JacksonException e) {
      throw new IllegalArgumentException(what + " is not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // reading a String does no I/O
    }
  }

  // -------------------------------------------------------------------------------- event lines

  /** @return the framed line of one event */
  static byte[] encodeEvent(StoredEvent e) {
    return Lines.frame(eventObject(e, e.ts().toString()));
  }

  /**
   * Encodes an event object, {@code {"id":..,"ts":..,"event":..,"actor":..,"target":..,"details":<json>}}:
   * an event line before framing, and an element of a journal entry's {@code events}, so each event
   * is encoded once per commit. The counterpart of {@link #readEvent}.
   *
   * @param ts the event's timestamp as text (a commit's events share it: formatted once)
   */
  static byte[] eventObject(StoredEvent e, String ts) {
    return write(g -> {
      g.writeStartObject();
      g.writeNumberField("id", e.id());
      g.writeStringField("ts", ts);
      g.writeStringField("event", e.type());
      g.writeStringField("actor", e.actor());
      g.writeStringField("target", e.target());
      g.writeFieldName("details");
      g.writeRawValue(e.detailsJson());
      g.writeEndObject();
    });
  }

  /** @return each event's object ({@link #eventObject}), the commit's timestamp formatted once */
  static List<byte[]> eventObjects(List<StoredEvent> events) {
    List<byte[]> objects = new ArrayList<>(events.size());
    String ts = null;
    Instant formatted = null;
    for (StoredEvent e : events) {
      if (!e.ts().equals(formatted)) {
        formatted = e.ts();
        ts = formatted.toString();
      }
      objects.add(eventObject(e, ts));
    }
    return objects;
  }

  /**
   * Decodes one event line (without its newline) whose checksum was verified.
   *
   * @throws CorruptFileException if a member is missing or malformed
   */
  static StoredEvent decodeEvent(byte[] line, Path file, long offset) {
    try (JsonParser p = JSON.createParser(line)) {
      expect(p, JsonToken.START_OBJECT, file);
      return readEvent(p, line, DetailsForm.RAW);
    } catch (JacksonException e) {
      throw new CorruptFileException(file, offset + errorOffset(e), "invalid JSON in event line: "
          + e.getOriginalMessage(), e);
    } catch (CorruptFileException e) {
      throw e;
    } catch (RuntimeException e) {
      // whatever the parser or the record's checks throw: the line, not the caller, is at fault
      throw new CorruptFileException(file, offset, "event line lacks or mangles id, ts, event, actor, target or"
          + " details: " + e, e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Parses the id at the start of an event line, {@code {"id":123,...}}, without decoding the rest.
   *
   * @return the id, or -1 if the line does not start that way
   */
  static long eventIdPrefix(byte[] buf, int from, int to) {
    byte[] prefix = {'{', '"', 'i', 'd', '"', ':'};
    if (to - from < prefix.length + 1) {
      return -1;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (buf[from + i] != prefix[i]) {
        return -1;
      }
    }
    long id = 0;
    int i = from + prefix.length;
    int digits = 0;
    while (i < to && buf[i] >= '0' && buf[i] <= '9' && digits < 18) {
      id = id * 10 + (buf[i] - '0');
      i++;
      digits++;
    }
    return digits == 0 || i >= to || buf[i] != ',' ? -1 : id;
  }

  /**
   * Reads an event object's members; the parser is just past its start.
   *
   * @param raw the bytes being parsed (details are embedded raw)
   * @param form how the details are held
   */
  static StoredEvent readEvent(JsonParser p, byte[] raw, DetailsForm form) throws IOException {
    long id = -1;
    String ts = null;
    String type = null;
    String actor = null;
    String target = null;
    String details = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      switch (name) {
        case "id" -> id = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
        case "ts" -> ts = text(p, t);
        case "event" -> type = text(p, t);
        case "actor" -> actor = text(p, t);
        case "target" -> target = text(p, t);
        case "details" -> details = form == DetailsForm.RAW_OR_TEXT && t == JsonToken.VALUE_STRING ? p.getText()
            : raw(p, raw);
        default -> p.skipChildren();
      }
    }
    return new StoredEvent(id, Instant.parse(Objects.requireNonNull(ts, "ts")), type, actor, target, details);
  }

  /** How an event object holds its details. */
  enum DetailsForm {
    /** Embedded raw, as in event lines. */
    RAW,
    /**
     * Raw, or a JSON string holding the text of the details object: how journals written before
     * events were embedded raw hold them (details are always an object, so a string cannot be
     * anything else).
     */
    RAW_OR_TEXT
  }

  /** @return the checkpoint's object, {@code {"revision":r,"eventId":e}}, before framing */
  static byte[] encodeCheckpoint(long revision, long eventId) {
    return encodeCounters(revision, eventId, -1, null);
  }

  /**
   * @param journalApplied bytes of the journal applied
   * @param boot the boot id ("" where there is none)
   * @return the lock header's object, before framing
   */
  static byte[] encodeHeader(long revision, long eventId, long journalApplied, String boot) {
    return encodeCounters(revision, eventId, journalApplied, Objects.requireNonNull(boot, "boot"));
  }

  /** Encodes a small JSON object of counters, for the checkpoint and the lock file's header. */
  private static byte[] encodeCounters(long revision, long eventId, long journal, String boot) {
    if (boot == null || PLAIN_BOOT_ID.matcher(boot).matches()) {
      // by hand: written on every commit (nothing to escape)
      StringBuilder text = new StringBuilder(96).append("{\"revision\":").append(revision)
          .append(",\"eventId\":").append(eventId);
      if (journal >= 0) {
        text.append(",\"journal\":").append(journal);
      }
      if (boot != null) {
        text.append(",\"boot\":\"").append(boot).append('"');
      }
      return text.append('}').toString().getBytes(UTF_8);
    }
    return write(g -> {
      g.writeStartObject();
      g.writeNumberField("revision", revision);
      g.writeNumberField("eventId", eventId);
      if (journal >= 0) {
        g.writeNumberField("journal", journal);
      }
      if (boot != null) {
        g.writeStringField("boot", boot);
      }
      g.writeEndObject();
    });
  }

  /**
   * Decodes counters written by {@link #encodeCounters}.
   *
   * @return {revision, eventId, journal (-1 if absent)} and the boot id, or null if not parseable
   */
  static Counters decodeCounters(byte[] bytes, int length) {
    try (JsonParser p = JSON.createParser(bytes, 0, length)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      long revision = -1;
      long eventId = -1;
      long journal = -1;
      String boot = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        switch (name) {
          case "revision" -> revision = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
          case "eventId" -> eventId = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
          case "journal" -> journal = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
          case "boot" -> boot = t == JsonToken.VALUE_STRING ? p.getText() : null;
          default -> p.skipChildren();
        }
      }
      return revision < 0 || eventId < 0 ? null : new Counters(revision, eventId, journal, boot);
    } catch (IOException e) {
      return null;
    }
  }

  /** Counters from a checkpoint or header. */
  record Counters(long revision, long eventId, long journal, String boot) {
    /** @return whether a commit has been counted: a revision or an event id handed out */
    boolean countedACommit() {
      return revision > 0 || eventId > 0;
    }
  }

  // ------------------------------------------------------------------------------------ helpers

  @FunctionalInterface
  interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  static byte[] write(Body body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      body.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** The exact text of the value at the parser's current token, which must start it. */
  static String raw(JsonParser p, byte[] bytes) throws IOException {
    int start = (int) p.currentTokenLocation().getByteOffset();
    p.skipChildren();
    int end = (int) p.currentLocation().getByteOffset();
    if (p.currentToken() == JsonToken.VALUE_STRING) {
      // the parser may not have read past the closing quote yet
      p.getText();
      end = (int) p.currentLocation().getByteOffset();
    }
    return new String(bytes, start, end - start, UTF_8);
  }

  static String text(JsonParser p, JsonToken t) throws IOException {
    return t == JsonToken.VALUE_STRING ? p.getText() : null;
  }

  static void expect(JsonParser p, JsonToken token, Path file) throws IOException {
    if (p.nextToken() != token) {
      throw corrupt(file, p, "expected " + token.asString(), null);
    }
  }

  static CorruptFileException corrupt(Path file, JsonParser p, String problem, Throwable cause) {
    return new CorruptFileException(file, p.currentTokenLocation().getByteOffset(), problem, cause);
  }

  static CorruptFileException corrupt(Path file, JacksonException e, String problem) {
    return new CorruptFileException(file, errorOffset(e), problem, e);
  }

  /** @return the byte offset a parser error names, or 0 when it names none (Jackson's location may be null) */
  static long errorOffset(JacksonException e) {
    return e.getLocation() == null ? 0 : Math.max(0, e.getLocation().getByteOffset());
  }
}
