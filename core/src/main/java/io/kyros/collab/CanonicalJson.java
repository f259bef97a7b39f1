package io.kyros.collab;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) over Jackson's tree model, plus strict parsing and
 * the content hash built on it.
 *
 * <p>Guarantees:
 *
 * <ul>
 *   <li>Two trees that are equal as JSON values (same members in any order, numbers equal as IEEE
 *       754 doubles, strings equal after unescaping) have the same canonical text, bytes and hash.
 *   <li>Canonical text is accepted by {@link #parse(ObjectMapper, String)} and canonicalizes to
 *       itself again.
 *   <li>Object keys are sorted by UTF-16 code units; there is no insignificant whitespace; strings
 *       escape only {@code "}, {@code \} and U+0000..U+001F (as {@code \b \t \n \f \r} or
 *       <code>&#92;u00xx</code> with lowercase hex); numbers are written as ECMAScript's
 *       {@code Number.prototype.toString} writes them.
 *   <li>Values that would not survive the trip through an RFC 8785 implementation unchanged are
 *       rejected with {@link InvalidValueException} instead of being silently altered: NaN and
 *       infinities, integer nodes beyond ±2<sup>53</sup>, lone surrogates in keys or strings,
 *       nesting deeper than {@value #MAX_DEPTH} levels, and node types that are not JSON (binary,
 *       POJO, missing). Messages name the condition and the JSON path, such as {@code $.a[3].b}.
 * </ul>
 *
 * <p>The class is stateless: every method is a pure function of its arguments and is safe to call
 * from any number of threads at once. Trees passed in must not be mutated during a call.
 */
public final class CanonicalJson {
  /** Deepest nesting of arrays and objects accepted; the top-level container is level 1. */
  public static final int MAX_DEPTH = 1000;

  private static final long MAX_EXACT_INTEGER = 1L << 53;
  private static final BigInteger MAX_EXACT_BIG_INTEGER = BigInteger.valueOf(MAX_EXACT_INTEGER);
  private static final BigDecimal MAX_EXACT_DECIMAL = BigDecimal.valueOf(MAX_EXACT_INTEGER);
  private static final String HEX = "0123456789abcdef";
  private static final int HASH_BYTES = 16;

  private CanonicalJson() {}

  /**
   * Returns the RFC 8785 canonical JSON text of a tree.
   *
   * @param node the value to canonicalize; {@code FloatNode}s are read as their shortest decimal
   *     ({@code 0.1f} becomes {@code 0.1}), the same on every JDK, and {@code DecimalNode}s are
   *     rounded to the nearest double
   * @return the canonical text
   * @throws InvalidValueException if the tree holds NaN or an infinity, an integer node beyond
   *     ±2<sup>53</sup>, a lone surrogate, nesting deeper than {@value #MAX_DEPTH} levels, or a
   *     node that is not JSON
   * @throws NullPointerException if {@code node} is null
   */
  public static String canonicalize(JsonNode node) {
    Objects.requireNonNull(node, "node");
    StringBuilder out = new StringBuilder();
    write(node, out, new ArrayList<>(), 0);
    return out.toString();
  }

  /**
   * Returns the UTF-8 encoding of {@link #canonicalize(JsonNode)}, the form RFC 8785 hashes.
   *
   * @param node the value to canonicalize
   * @return the canonical text as UTF-8, a fresh array
   * @throws InvalidValueException as {@link #canonicalize(JsonNode)} does
   * @throws NullPointerException if {@code node} is null
   */
  public static byte[] canonicalBytes(JsonNode node) {
    return canonicalize(node).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Returns the tree that {@link #parse} builds from the canonical text of a value, without writing and parsing that
   * text: members in canonical order, strings as they are, each number as its canonical literal reads back (an int or
   * long node for an integer literal, a double node otherwise). For a value {@link #canonicalize(JsonNode)} has
   * accepted: not everything it refuses is refused here (a lone surrogate in a string or key is not looked for).
   *
   * @param node the value, which it does not modify or share
   * @param nodes makes the new tree's nodes, as the parser's node factory would
   * @return a new tree equal to {@code parse(mapper, canonicalize(node))}, its members in the same order
   * @throws InvalidValueException if {@code node} holds a number {@link #canonicalize(JsonNode)} refuses, nests too
   *     deep, or holds a node that is not JSON
   * @throws NullPointerException if an argument is null
   */
  static JsonNode canonicalTree(JsonNode node, JsonNodeFactory nodes) {
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(nodes, "nodes");
    return tree(node, nodes, new ArrayList<>());
  }

  /**
   * Returns the content hash of a tree: {@link #hashCanonical(byte[])} of its canonical bytes.
   *
   * @param node the value to hash
   * @return 22 base64url characters without padding
   * @throws InvalidValueException as {@link #canonicalize(JsonNode)} does
   * @throws NullPointerException if {@code node} is null
   */
  public static String hash(JsonNode node) {
    return hashCanonical(canonicalBytes(node));
  }

  /**
   * Returns the content hash of canonical bytes: the first 128 bits of their SHA-256 digest,
   * base64url-encoded without padding. The bytes are hashed as given, not checked to be canonical.
   *
   * @param canonicalUtf8 canonical JSON as UTF-8, as {@link #canonicalBytes(JsonNode)} returns it
   * @return 22 base64url characters without padding
   * @throws NullPointerException if {@code canonicalUtf8} is null
   */
  public static String hashCanonical(byte[] canonicalUtf8) {
    Objects.requireNonNull(canonicalUtf8, "canonicalUtf8");
    byte[] digest = sha256().digest(canonicalUtf8);
    byte[] prefix = Arrays.copyOf(digest, HASH_BYTES);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(prefix);
  }

  /** @return a new SHA-256 digest, which every Java platform provides */
  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  /**
   * Parses JSON text that must be an object; see {@link #parse(ObjectMapper, String)}.
   *
   * @param mapper supplies the parser factory, its stream read constraints and the node factory;
   *     it is not modified
   * @param json the JSON text
   * @return the parsed object
   * @throws InvalidValueException if {@link #parse(ObjectMapper, String)} rejects the text, or its
   *     value is not an object ({@code "value must be a JSON object, got array"})
   * @throws NullPointerException if an argument is null
   */
  public static ObjectNode parseObject(ObjectMapper mapper, String json) {
    return requireObject(parse(mapper, json), "value");
  }

  /**
   * Parses one JSON value as strict RFC 8259 JSON and checks it against the rules of
   * {@link #canonicalize(JsonNode)}. Leniencies enabled on the mapper (comments, single quotes,
   * NaN literals, trailing commas and the like) are switched off for this parse. Floating-point
   * numbers become {@code DoubleNode}s whatever the mapper's {@code USE_BIG_DECIMAL_FOR_FLOATS}
   * says; integers within ±2<sup>53</sup> become int or long nodes. An integer literal beyond
   * ±2<sup>53</sup> becomes the {@code DoubleNode} nearest to it only if that loses nothing: the
   * literal is exactly that double, or is how {@link #canonicalize(JsonNode)} writes it (as in
   * {@code 295147905179352830000} for 2<sup>68</sup>). Canonical text therefore always parses back,
   * while a literal that reading would change, such as {@code 9007199254740993}, is rejected.
   *
   * @param mapper supplies the parser factory, its stream read constraints and the node factory;
   *     it is not modified
   * @param json the JSON text
   * @return the parsed value
   * @throws InvalidValueException if the text is malformed ({@code "malformed JSON at line L,
   *     column C: ..."}), has content after the value, repeats a key within an object, exceeds the
   *     parser's limits, holds a number outside the double range or an integer literal that
   *     reading would change, or holds a value {@link #canonicalize(JsonNode)} rejects
   * @throws NullPointerException if an argument is null
   */
  public static JsonNode parse(ObjectMapper mapper, String json) {
    Objects.requireNonNull(mapper, "mapper");
    Objects.requireNonNull(json, "json");
    JsonNode root;
    JsonParser parser;
    try {
      parser = mapper.createParser(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try (parser) {
      for (JsonReadFeature leniency : JsonReadFeature.values()) {
        parser.disable(leniency.mappedFeature()); // every JsonReadFeature allows non-standard JSON
      }
      if (parser.nextToken() == null) {
        throw new InvalidValueException("malformed JSON at line 1, column 1: no value");
      }
      root = read(parser, mapper.getNodeFactory(), new ArrayList<>(), 0);
      if (parser.nextToken() != null) {
        throw new InvalidValueException(
            "malformed JSON at " + position(parser.currentTokenLocation())
                + ": content after the JSON value");
      }
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation() != null ? e.getLocation() : parser.currentLocation();
      String condition = e instanceof StreamConstraintsException
          ? "JSON exceeds a parser limit at "
          : "malformed JSON at ";
      throw new InvalidValueException(condition + position(at) + ": " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // not expected when reading from a String
    }
    canonicalize(root); // validation only
    return root;
  }

  /**
   * Returns {@code node} as an object, or rejects it.
   *
   * @param node the value to check
   * @param what what the value is, for the messages, for example {@code "document orders/42"}
   * @return {@code node}, cast
   * @throws InvalidValueException if {@code node} is not an object
   *     ({@code "<what> must be a JSON object, got array"})
   * @throws NullPointerException if {@code node} is null (the message names {@code what}) or
   *     {@code what} is null
   */
  public static ObjectNode requireObject(JsonNode node, String what) {
    Objects.requireNonNull(what, "what");
    Objects.requireNonNull(node, () -> what + " must not be null");
    if (!(node instanceof ObjectNode)) {
      throw new InvalidValueException(what + " must be a JSON object, got " + typeName(node));
    }
    return (ObjectNode) node;
  }

  // ---------------------------------------------------------------------------------------------
  // Writing. `path` holds the keys (String) and indexes (Integer) from the root to `node`.

  private static void write(JsonNode node, StringBuilder out, List<Object> path, int depth) {
    switch (node.getNodeType()) {
      case OBJECT -> writeObject(node, out, path, depth + 1);
      case ARRAY -> writeArray(node, out, path, depth + 1);
      case STRING -> writeString(node.textValue(), out, path, "string");
      case NUMBER -> writeNumber(node, out, path);
      case BOOLEAN -> out.append(node.booleanValue() ? "true" : "false");
      case NULL -> out.append("null");
      default -> throw invalid("not a JSON value: " + typeName(node) + " node at", path);
    }
  }

  private static void writeObject(JsonNode node, StringBuilder out, List<Object> path, int depth) {
    checkDepth(depth, path);
    List<Map.Entry<String, JsonNode>> members = new ArrayList<>(node.properties());
    members.sort(Map.Entry.comparingByKey()); // String.compareTo: UTF-16 code units, unsigned
    out.append('{');
    for (int i = 0; i < members.size(); i++) {
      Map.Entry<String, JsonNode> member = members.get(i);
      if (i > 0) {
        out.append(',');
      }
      path.add(member.getKey());
      writeString(member.getKey(), out, path, "key");
      out.append(':');
      write(member.getValue(), out, path, depth);
      path.remove(path.size() - 1);
    }
    out.append('}');
  }

  private static void writeArray(JsonNode node, StringBuilder out, List<Object> path, int depth) {
    checkDepth(depth, path);
    out.append('[');
    for (int i = 0; i < node.size(); i++) {
      if (i > 0) {
        out.append(',');
      }
      path.add(i);
      write(node.get(i), out, path, depth);
      path.remove(path.size() - 1);
    }
    out.append(']');
  }

  private static void checkDepth(int depth, List<Object> path) {
    if (depth > MAX_DEPTH) {
      throw invalid("nesting deeper than " + MAX_DEPTH + " levels at", path);
    }
  }

  private static void writeString(String s, StringBuilder out, List<Object> path, String what) {
    out.append('"');
    int plain = plainPrefix(s);
    out.append(s, 0, plain); // most strings are all plain: copied at once, not a character at a time
    for (int i = plain; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\b' -> out.append("\\b");
        case '\t' -> out.append("\\t");
        case '\n' -> out.append("\\n");
        case '\f' -> out.append("\\f");
        case '\r' -> out.append("\\r");
        default -> {
          if (c < 0x20) {
            out.append("\\u00").append(HEX.charAt(c >> 4)).append(HEX.charAt(c & 0xf));
          } else if (isLoneSurrogate(s, i)) {
            throw invalid("lone surrogate " + unicodeEscape(c) + " in " + what + " at", path);
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /**
   * @return the length of the longest prefix of {@code s} written as it is: no character that needs an escape
   *     (a quote, a backslash, a control character) and no surrogate (which must be checked for a partner)
   */
  private static int plainPrefix(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == '"' || c == '\\' || Character.isSurrogate(c)) {
        return i;
      }
    }
    return s.length();
  }

  private static void writeNumber(JsonNode node, StringBuilder out, List<Object> path) {
    out.append(numberLiteral(node, path));
  }

  /** @return how the canonical text writes a number node */
  private static String numberLiteral(JsonNode node, List<Object> path) {
    JsonParser.NumberType type = node.numberType();
    if (type == null) {
      throw invalid("not a JSON value: number node without a number type at", path);
    }
    return switch (type) {
      case INT, LONG -> {
        long v = node.longValue();
        if (v > MAX_EXACT_INTEGER || v < -MAX_EXACT_INTEGER) {
          throw beyondExact(Long.toString(v), path);
        }
        yield Long.toString(v);
      }
      case BIG_INTEGER -> {
        BigInteger v = node.bigIntegerValue();
        if (v.abs().compareTo(MAX_EXACT_BIG_INTEGER) > 0) {
          throw beyondExact(v.toString(), path);
        }
        yield v.toString();
      }
      case FLOAT -> doubleLiteral(EcmaNumbers.floatAsDouble(node.floatValue()), path);
      case DOUBLE -> doubleLiteral(node.doubleValue(), path);
      case BIG_DECIMAL -> {
        BigDecimal v = node.decimalValue();
        double d = v.doubleValue();
        if (!Double.isFinite(d)) {
          throw invalid("number out of the range of a double: " + v + " at", path);
        }
        // an integer beyond ±2^53 only as parsing takes one (integer): if the double loses nothing, being it exactly
        // or being how it is written; 9007199254740993 would be stored as 9007199254740992
        if (v.abs().compareTo(MAX_EXACT_DECIMAL) > 0 && v.stripTrailingZeros().scale() <= 0
            && new BigDecimal(d).compareTo(v) != 0 && new BigDecimal(EcmaNumbers.format(d)).compareTo(v) != 0) {
          throw beyondExact(v.toString(), path);
        }
        yield doubleLiteral(d, path);
      }
    };
  }

  private static String doubleLiteral(double d, List<Object> path) {
    if (!Double.isFinite(d)) {
      throw invalid("number must be finite:", path);
    }
    return EcmaNumbers.format(d);
  }

  // ---------------------------------------------------------------------------------------------
  // The canonical tree (canonicalTree): what reading the canonical text would build, without the text.

  private static JsonNode tree(JsonNode node, JsonNodeFactory f, List<Object> path) {
    switch (node.getNodeType()) {
      case OBJECT -> {
        checkDepth(path.size() + 1, path);
        List<Map.Entry<String, JsonNode>> members = new ArrayList<>(node.properties());
        members.sort(Map.Entry.comparingByKey()); // the order writeObject writes them in, which reading keeps
        ObjectNode object = f.objectNode();
        for (Map.Entry<String, JsonNode> member : members) {
          path.add(member.getKey());
          object.set(member.getKey(), tree(member.getValue(), f, path));
          path.remove(path.size() - 1);
        }
        return object;
      }
      case ARRAY -> {
        checkDepth(path.size() + 1, path);
        ArrayNode array = f.arrayNode(); // as read() makes it: a factory may override this one only
        for (int i = 0; i < node.size(); i++) {
          path.add(i);
          array.add(tree(node.get(i), f, path));
          path.remove(path.size() - 1);
        }
        return array;
      }
      case STRING -> {
        return f.textNode(node.textValue());
      }
      case NUMBER -> {
        // the literal, read back as read() reads the token: an integer token has no '.', 'e' or 'E'
        String literal = numberLiteral(node, path);
        for (int i = 0; i < literal.length(); i++) {
          char c = literal.charAt(i);
          if (c == '.' || c == 'e' || c == 'E') {
            return f.numberNode(Double.parseDouble(literal));
          }
        }
        return integer(literal, f, path);
      }
      case BOOLEAN -> {
        return f.booleanNode(node.booleanValue());
      }
      case NULL -> {
        return f.nullNode();
      }
      default -> throw invalid("not a JSON value: " + typeName(node) + " node at", path);
    }
  }

  private static InvalidValueException beyondExact(String value, List<Object> path) {
    return invalid(
        "integer beyond ±2^53 cannot be represented exactly: " + value + " at", path);
  }

  // ---------------------------------------------------------------------------------------------
  // Parsing. The parser has already checked syntax; this builds the tree, rejecting duplicate keys.
  // Numbers are converted from the token text, not with the parser's number accessors: in Jackson
  // 2.18.2 a getNumberType() call on a big integer leaves state behind that a later
  // getDoubleValue() returns instead of its own value (jackson-databind #4917).

  private static JsonNode read(JsonParser p, JsonNodeFactory f, List<Object> path, int depth)
      throws IOException {
    JsonToken token = p.currentToken();
    switch (token) {
      case START_OBJECT -> {
        checkDepth(depth + 1, path);
        ObjectNode object = f.objectNode();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String key = p.currentName();
          path.add(key);
          if (object.has(key)) {
            String at = " (" + position(p.currentTokenLocation()) + ")";
            throw invalid("duplicate key at", path, at);
          }
          p.nextToken();
          object.set(key, read(p, f, path, depth + 1));
          path.remove(path.size() - 1);
        }
        return object;
      }
      case START_ARRAY -> {
        checkDepth(depth + 1, path);
        ArrayNode array = f.arrayNode();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          path.add(array.size());
          array.add(read(p, f, path, depth + 1));
          path.remove(path.size() - 1);
        }
        return array;
      }
      case VALUE_STRING -> {
        return f.textNode(p.getText());
      }
      case VALUE_NUMBER_INT -> {
        return integer(p.getText(), f, path);
      }
      case VALUE_NUMBER_FLOAT -> {
        String literal = p.getText();
        double d = Double.parseDouble(literal);
        if (!Double.isFinite(d)) {
          throw invalid("number out of the range of a double: " + literal + " at", path);
        }
        return f.numberNode(d);
      }
      case VALUE_TRUE, VALUE_FALSE -> {
        return f.booleanNode(token == JsonToken.VALUE_TRUE);
      }
      case VALUE_NULL -> {
        return f.nullNode();
      }
      default -> throw new InvalidValueException(
          "malformed JSON at " + position(p.currentTokenLocation()) + ": unexpected " + token);
    }
  }

  /**
   * An integer literal within ±2^53 becomes an int or long node. Beyond that it is read as the
   * nearest double if that loses nothing: the literal is that double exactly, or is how
   * canonicalization writes it (doubles below 1e21 are written as plain digits, such as
   * 295147905179352830000 for 2^68, and canonical text must parse back).
   */
  private static JsonNode integer(String literal, JsonNodeFactory f, List<Object> path) {
    if (literal.length() <= 17) { // "-9007199254740992" is 17 characters
      long v = Long.parseLong(literal);
      if (v <= MAX_EXACT_INTEGER && v >= -MAX_EXACT_INTEGER) {
        return v == (int) v ? f.numberNode((int) v) : f.numberNode(v);
      }
    }
    double d = Double.parseDouble(literal);
    if (Double.isFinite(d) && (EcmaNumbers.format(d).equals(literal)
        || new BigDecimal(d).compareTo(new BigDecimal(literal)) == 0)) {
      return f.numberNode(d);
    }
    throw beyondExact(literal, path);
  }

  private static String position(JsonLocation at) {
    return at == null
        ? "unknown position"
        : "line " + at.getLineNr() + ", column " + at.getColumnNr();
  }

  // ---------------------------------------------------------------------------------------------
  // Messages.

  private static InvalidValueException invalid(String condition, List<Object> path) {
    return invalid(condition, path, "");
  }

  private static InvalidValueException invalid(String condition, List<Object> path, String suffix) {
    StringBuilder message = new StringBuilder(condition).append(" $");
    for (Object step : path) {
      if (step instanceof Integer) {
        message.append('[').append(step).append(']');
      } else if (isIdentifier((String) step)) {
        message.append('.').append(step);
      } else {
        appendQuotedKey((String) step, message);
      }
    }
    return new InvalidValueException(message.append(suffix).toString());
  }

  private static String typeName(JsonNode node) {
    return node.getNodeType().name().toLowerCase(Locale.ROOT);
  }

  private static boolean isIdentifier(String key) {
    if (key.isEmpty()) {
      return false;
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      boolean letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
      if (!letter && !(i > 0 && c >= '0' && c <= '9')) {
        return false;
      }
    }
    return true;
  }

  /** Appends {@code ["key"]}, escaping what would be unreadable or unrepresentable in a message. */
  private static void appendQuotedKey(String key, StringBuilder message) {
    message.append("[\"");
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c == '"' || c == '\\') {
        message.append('\\').append(c);
      } else if (c < 0x20 || c == 0x7f || isLoneSurrogate(key, i)) {
        message.append(unicodeEscape(c));
      } else {
        message.append(c);
      }
    }
    message.append("\"]");
  }

  /** @return whether the char at {@code i} is half of a character: a surrogate without its pair */
  static boolean isLoneSurrogate(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c)) {
      return i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1));
    }
    return Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
  }

  private static String unicodeEscape(char c) {
    return String.format(Locale.ROOT, "\\u%04x", (int) c);
  }
}
