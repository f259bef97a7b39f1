package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.FloatNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.ShortNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

class CanonicalJsonProperties {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final long TWO_POW_53 = 1L << 53;

  /** (a) Key order, whitespace and the spelling of strings and numbers do not reach the canonical form. */
  @Property(tries = 1000)
  void canonicalFormIgnoresKeyOrderWhitespaceAndSpelling(@ForAll("json") JsonNode value, @ForAll Random random) {
    String text = render(value, random);
    JsonNode parsed = value.isObject()
        ? CanonicalJson.parseObject(MAPPER, text)
        : CanonicalJson.parse(MAPPER, text);
    assertThat(CanonicalJson.canonicalize(parsed)).as(text).isEqualTo(CanonicalJson.canonicalize(value));
    assertThat(CanonicalJson.hash(parsed)).isEqualTo(CanonicalJson.hash(value));
  }

  /**
   * (b') The canonical tree is what reading the canonical text builds: equal nodes (an int node is not equal to a long
   * or double node of the same value) and members in the same order.
   */
  @Property(tries = 1000)
  void canonicalTreeIsTheCanonicalTextReadBack(@ForAll("json") JsonNode value) {
    assertCanonicalTreeReadsBack(value);
  }

  /** (b'') The same for every kind of number node, alone in an object and in an array. */
  @Property(tries = 2000)
  void canonicalTreeReadsEveryNumberBackAsItsLiteral(@ForAll("numberNodes") JsonNode number) {
    assertCanonicalTreeReadsBack(NODES.objectNode().set("n", number));
    assertCanonicalTreeReadsBack(NODES.arrayNode().add(number).add(NODES.objectNode().set("z", number)));
  }

  @Provide
  Arbitrary<JsonNode> numberNodes() {
    return Arbitraries.oneOf(
        doubles().map(DoubleNode::valueOf),
        Arbitraries.of(0.0, -0.0, 1.0, -1.0, 1e21, 1e-7, 123456789012.0, 0.1, 9007199254740992.0, 0x1p60)
            .map(DoubleNode::valueOf),
        Arbitraries.floats().filter(Float::isFinite).map(FloatNode::valueOf),
        Arbitraries.longs().between(-TWO_POW_53, TWO_POW_53).map(LongNode::valueOf),
        Arbitraries.integers().map(IntNode::valueOf),
        Arbitraries.shorts().map(ShortNode::valueOf),
        Arbitraries.longs().between(-TWO_POW_53, TWO_POW_53).map(v -> BigIntegerNode.valueOf(BigInteger.valueOf(v))),
        Arbitraries.of(BigInteger.ONE.shiftLeft(60), BigInteger.ONE.shiftLeft(68).negate()).map(BigDecimal::new)
            .map(DecimalNode::valueOf),
        Combinators.combine(Arbitraries.longs().between(-TWO_POW_53, TWO_POW_53), Arbitraries.integers().between(-30, 30))
            .as((unscaled, scale) -> (JsonNode) DecimalNode.valueOf(BigDecimal.valueOf(unscaled, scale)))
            .filter(CanonicalJsonProperties::canonicalizes));
  }

  /** @return whether canonicalization accepts the value (a decimal may be an integer beyond ±2^53 it refuses) */
  private static boolean canonicalizes(JsonNode value) {
    try {
      CanonicalJson.canonicalize(value);
      return true;
    } catch (InvalidValueException e) {
      return false;
    }
  }

  private static void assertCanonicalTreeReadsBack(JsonNode value) {
    JsonNode read = CanonicalJson.parse(MAPPER, CanonicalJson.canonicalize(value));
    JsonNode tree = CanonicalJson.canonicalTree(value, NODES);
    assertThat(tree).as(value.toString()).isEqualTo(read);
    assertThat(tree.toString()).as(value.toString()).isEqualTo(read.toString());
    if (value.isContainerNode()) {
      assertThat(tree).isNotSameAs(value);
    }
  }

  /** (b) Canonical text parses back to a value with the same canonical text. */
  @Property(tries = 1000)
  void canonicalizeIsIdempotent(@ForAll("json") JsonNode value) {
    String canonical = CanonicalJson.canonicalize(value);
    assertThat(CanonicalJson.canonicalize(CanonicalJson.parse(MAPPER, canonical))).isEqualTo(canonical);
    assertThat(CanonicalJson.hashCanonical(CanonicalJson.canonicalBytes(value)))
        .isEqualTo(CanonicalJson.hash(value))
        .hasSize(22);
  }

  /** (c) Numbers read back exactly, in no more significant digits than Double.toString uses. */
  @Property(tries = 5000)
  void numbersRoundTripInFewestDigits(@ForAll("finiteDoubles") double d) {
    String formatted = EcmaNumbers.format(d);
    assertThat(Double.parseDouble(formatted)).as(formatted).isEqualTo(d == 0 ? 0.0 : d);
    assertThat(significantDigits(formatted)).as(formatted)
        .isLessThanOrEqualTo(significantDigits(Double.toString(d)));
    assertThat(formatted).matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?(e[+-][1-9][0-9]*)?");
  }

  /** (e) The fast path for values with few decimals agrees with the general path whenever it answers. */
  @Property(tries = 10000)
  void fewDecimalsFastPathAgreesWithTheGeneralPath(@ForAll("fewDecimalDoubles") double d) {
    String fast = EcmaNumbers.fewDecimals(Math.abs(d));
    if (fast != null) {
      assertThat(fast).isEqualTo(EcmaNumbers.slow(Math.abs(d)));
    }
    assertThat(EcmaNumbers.format(d)).isEqualTo(EcmaNumbers.slow(d));
  }

  @Provide
  Arbitrary<Double> fewDecimalDoubles() {
    return Arbitraries.oneOf(
        doubles().filter(x -> x != 0),
        Arbitraries.longs().between(1, 1L << 52).flatMap(m -> Arbitraries.integers().between(1, 22)
            .map(k -> m / Math.pow(10, k))),
        Arbitraries.integers().between(1, 10_000_000).map(i -> i / 100.0),
        Arbitraries.integers().between(1, 10_000_000).map(i -> i * 1.25e-3));
  }

  /** (d) A float's shortest decimal reads back as the same float, in no more digits than Float.toString. */
  @Property(tries = 5000)
  void floatsRoundTripInFewestDigits(@ForAll("finiteFloats") float f) {
    double d = EcmaNumbers.floatAsDouble(f);
    assertThat((float) d).isEqualTo(f);
    String formatted = EcmaNumbers.format(d);
    assertThat(Float.parseFloat(formatted)).as(formatted).isEqualTo(f == 0 ? 0.0f : f);
    assertThat(significantDigits(formatted)).as(formatted)
        .isLessThanOrEqualTo(significantDigits(Float.toString(f)));
  }

  @Provide
  Arbitrary<Float> finiteFloats() {
    return Arbitraries.oneOf(
        Arbitraries.floats(),
        Arbitraries.integers().map(Float::intBitsToFloat).filter(Float::isFinite),
        Arbitraries.integers().between(-149, 127).map(e -> Math.scalb(1.0f, e)));
  }

  @Provide
  Arbitrary<Double> finiteDoubles() {
    return doubles();
  }

  // ---------------------------------------------------------------------------------------------
  // Generators: bounded-depth trees of every JSON-valued node kind canonicalize accepts.

  /** Finite doubles: jqwik's own, raw bit patterns, powers of two and short decimals. */
  private static Arbitrary<Double> doubles() {
    return Arbitraries.oneOf(
        Arbitraries.doubles(),
        Arbitraries.longs().map(Double::longBitsToDouble).filter(Double::isFinite),
        Arbitraries.integers().between(-1074, 1023).map(e -> Math.scalb(1.0, e)),
        Arbitraries.integers().between(-100_000, 100_000).map(i -> i / 1000.0));
  }

  @Provide
  Arbitrary<JsonNode> json() {
    return Arbitraries.frequencyOf(
        Tuple.of(3, object(3)),
        Tuple.of(1, value(3)));
  }

  private static Arbitrary<JsonNode> value(int depth) {
    if (depth == 0) {
      return leaf();
    }
    return Arbitraries.frequencyOf(
        Tuple.of(3, leaf()),
        Tuple.of(1, Arbitraries.lazy(() -> array(depth))),
        Tuple.of(1, Arbitraries.lazy(() -> object(depth))));
  }

  private static Arbitrary<JsonNode> array(int depth) {
    return value(depth - 1).list().ofMaxSize(5).map(items -> {
      ArrayNode array = NODES.arrayNode();
      items.forEach(array::add);
      return array;
    });
  }

  private static Arbitrary<JsonNode> object(int depth) {
    return Combinators.combine(strings(), value(depth - 1)).as(Map::entry).list().ofMaxSize(5).map(members -> {
      ObjectNode object = NODES.objectNode();
      members.forEach(member -> object.set(member.getKey(), member.getValue()));
      return object;
    });
  }

  private static Arbitrary<JsonNode> leaf() {
    return Arbitraries.oneOf(
        strings().map(TextNode::valueOf),
        doubles().map(DoubleNode::valueOf),
        Arbitraries.floats().map(FloatNode::valueOf),
        Arbitraries.longs().between(-TWO_POW_53, TWO_POW_53).map(LongNode::valueOf),
        Arbitraries.integers().map(IntNode::valueOf),
        Arbitraries.longs().between(-TWO_POW_53, TWO_POW_53).map(v -> BigIntegerNode.valueOf(BigInteger.valueOf(v))),
        Arbitraries.of(BooleanNode.TRUE, BooleanNode.FALSE, NullNode.getInstance()));
  }

  /** Strings without lone surrogates, heavy on characters that need or may take escapes. */
  private static Arbitrary<String> strings() {
    Arbitrary<Integer> codePoint = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.integers().between(0x20, 0x7e)),
        Tuple.of(2, Arbitraries.of((int) '"', (int) '\\', (int) '/', 0x7f, 0x2028, 0xfeff, 0xffff)),
        Tuple.of(2, Arbitraries.integers().between(0, 0x1f)),
        Tuple.of(2, Arbitraries.integers().between(0x80, 0xffff)
            .filter(c -> !Character.isSurrogate((char) c.intValue()))),
        Tuple.of(1, Arbitraries.integers().between(0x10000, 0x10ffff)));
    return codePoint.list().ofMaxSize(8).map(codePoints -> {
      StringBuilder s = new StringBuilder();
      codePoints.forEach(s::appendCodePoint);
      return s.toString();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Renderer: valid JSON for the same value, with shuffled keys, random whitespace and random but
  // equivalent spellings of strings and numbers.

  private static String render(JsonNode node, Random random) {
    StringBuilder out = new StringBuilder();
    render(node, random, out);
    space(random, out);
    return out.toString();
  }

  private static void render(JsonNode node, Random random, StringBuilder out) {
    space(random, out);
    switch (node.getNodeType()) {
      case OBJECT -> {
        List<Map.Entry<String, JsonNode>> members = new ArrayList<>(node.properties());
        Collections.shuffle(members, random);
        out.append('{');
        for (int i = 0; i < members.size(); i++) {
          if (i > 0) {
            space(random, out);
            out.append(',');
          }
          space(random, out);
          string(members.get(i).getKey(), random, out);
          space(random, out);
          out.append(':');
          render(members.get(i).getValue(), random, out);
        }
        space(random, out);
        out.append('}');
      }
      case ARRAY -> {
        out.append('[');
        for (int i = 0; i < node.size(); i++) {
          if (i > 0) {
            space(random, out);
            out.append(',');
          }
          render(node.get(i), random, out);
        }
        space(random, out);
        out.append(']');
      }
      case STRING -> string(node.textValue(), random, out);
      case NUMBER -> out.append(node.isFloatingPointNumber()
          ? spellDouble(node, random)
          : spellInteger(node.longValue(), random));
      default -> out.append(node.toString()); // true, false, null
    }
  }

  private static String spellDouble(JsonNode node, Random random) {
    if (node instanceof FloatNode) {
      // canonicalize reads a float as its shortest decimal, the same on every JDK
      return Double.toString(EcmaNumbers.floatAsDouble(node.floatValue()));
    }
    double d = node.doubleValue();
    return switch (random.nextInt(4)) {
      case 0 -> Double.toString(d); // "1.0E10", "-0.0", "4.9E-324"
      case 1 -> new BigDecimal(d).toString(); // the exact binary value, up to ~770 digits
      case 2 -> new BigDecimal(d).round(new MathContext(17)).toString(); // "1.0000000000000000E+10"
      default -> EcmaNumbers.format(d);
    };
  }

  private static String spellInteger(long v, Random random) {
    return switch (random.nextInt(4)) {
      case 0 -> v + ".0";
      case 1 -> new BigDecimal(v).movePointLeft(3).toPlainString() + "e3";
      case 2 -> v == 0 ? "-0" : Long.toString(v);
      default -> Long.toString(v);
    };
  }

  private static void string(String s, Random random, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean mustEscape = c < 0x20 || c == '"' || c == '\\';
      if (!mustEscape && random.nextInt(4) != 0) {
        out.append(c);
        continue;
      }
      String shortEscape = switch (c) {
        case '"' -> "\\\"";
        case '\\' -> "\\\\";
        case '/' -> "\\/";
        case '\b' -> "\\b";
        case '\t' -> "\\t";
        case '\n' -> "\\n";
        case '\f' -> "\\f";
        case '\r' -> "\\r";
        default -> null;
      };
      if (shortEscape != null && random.nextBoolean()) {
        out.append(shortEscape);
      } else {
        String hex = String.format("%04x", (int) c);
        out.append("\\u").append(random.nextBoolean() ? hex : hex.toUpperCase(Locale.ROOT));
      }
    }
    out.append('"');
  }

  private static void space(Random random, StringBuilder out) {
    out.append(switch (random.nextInt(8)) {
      case 0 -> " ";
      case 1 -> "\n  ";
      case 2 -> "\t";
      case 3 -> "\r\n";
      default -> "";
    });
  }

  /** Digits of the significand with leading and trailing zeros removed: "1.50E-7" has 2. */
  private static int significantDigits(String number) {
    String significand = number.split("[eE]")[0].replace("-", "").replace(".", "");
    return significand.replaceAll("^0+", "").replaceAll("0+$", "").length();
  }
}
