package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BinaryNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.FloatNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.POJONode;
import com.fasterxml.jackson.databind.node.ShortNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CanonicalJsonTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /**
   * RFC 8785 Appendix B, Table 1 ("ECMAScript-Compatible JSON Number Serialization Samples"), all
   * finite rows; the NaN and Infinity rows are in {@link #appendixBNonFiniteRowsAreRejected}.
   * Checked row by row against the RFC text.
   */
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', textBlock = """
      0000000000000000 | 0
      8000000000000000 | 0
      0000000000000001 | 5e-324
      8000000000000001 | -5e-324
      7fefffffffffffff | 1.7976931348623157e+308
      ffefffffffffffff | -1.7976931348623157e+308
      4340000000000000 | 9007199254740992
      c340000000000000 | -9007199254740992
      4430000000000000 | 295147905179352830000
      44b52d02c7e14af5 | 9.999999999999997e+22
      44b52d02c7e14af6 | 1e+23
      44b52d02c7e14af7 | 1.0000000000000001e+23
      444b1ae4d6e2ef4e | 999999999999999700000
      444b1ae4d6e2ef4f | 999999999999999900000
      444b1ae4d6e2ef50 | 1e+21
      3eb0c6f7a0b5ed8c | 9.999999999999997e-7
      3eb0c6f7a0b5ed8d | 0.000001
      41b3de4355555553 | 333333333.3333332
      41b3de4355555554 | 333333333.33333325
      41b3de4355555555 | 333333333.3333333
      41b3de4355555556 | 333333333.3333334
      41b3de4355555557 | 333333333.33333343
      becbf647612f3696 | -0.0000033333333333333333
      43143ff3c1cb0959 | 1424953923781206.2
      """)
  void appendixBNumberSamples(String ieee754, String expected) {
    double d = Double.longBitsToDouble(Long.parseUnsignedLong(ieee754, 16));
    assertThat(EcmaNumbers.format(d)).isEqualTo(expected);
    assertThat(CanonicalJson.canonicalize(DoubleNode.valueOf(d))).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"7fffffffffffffff", "7ff0000000000000", "fff0000000000000"})
  void appendixBNonFiniteRowsAreRejected(String ieee754) {
    double d = Double.longBitsToDouble(Long.parseUnsignedLong(ieee754, 16));
    ObjectNode doc = NODES.objectNode();
    doc.putArray("x").add(1).add(d);
    assertThatThrownBy(() -> CanonicalJson.canonicalize(doc))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("number must be finite: $.x[1]");
  }

  /**
   * Powers of two whose round-trip interval is lopsided: rounding the exact value to the shortest
   * length that round-trips is not enough, the digit string just above must be tried too. Expected
   * strings are what V8 ({@code String(2 ** e)} in Node.js) prints.
   */
  @ParameterizedTest(name = "2^{0} -> {1}")
  @CsvSource({
    "-1017, 7.120236347223045e-307",
    "-1007, 7.291122019556398e-304",
    "-957, 8.209073602596753e-289",
    "-808, 5.858190679279809e-244",
  })
  void lopsidedPowersOfTwoGetTheShortestDigits(int exponent, String expected) {
    assertThat(EcmaNumbers.format(Math.scalb(1.0, exponent))).isEqualTo(expected);
  }

  @Test
  void numberLayoutFollowsEcmaScript() {
    assertThat(EcmaNumbers.format(1e21)).isEqualTo("1e+21");
    assertThat(EcmaNumbers.format(1e20)).isEqualTo("100000000000000000000");
    assertThat(EcmaNumbers.format(1.5e-7)).isEqualTo("1.5e-7");
    assertThat(EcmaNumbers.format(1e-7)).isEqualTo("1e-7");
    assertThat(EcmaNumbers.format(1.5e-6)).isEqualTo("0.0000015");
    assertThat(EcmaNumbers.format(123.456)).isEqualTo("123.456");
    assertThat(EcmaNumbers.format(-1.0)).isEqualTo("-1");
    assertThat(EcmaNumbers.format(0.1 + 0.2)).isEqualTo("0.30000000000000004");
    assertThat(EcmaNumbers.format(2e-323)).isEqualTo("2e-323"); // Double.toString: 1.98E-323
    assertThat(EcmaNumbers.format(-0.0)).isEqualTo("0");
    assertThatThrownBy(() -> EcmaNumbers.format(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
  }

  /** RFC 8785 §3.2.2 input and §3.2.3 output, and the §3.2.4 UTF-8 bytes. */
  @Test
  void rfcSection32Example() {
    String input = """
        {
          "numbers": [333333333.33333329, 1E30, 4.50,
                      2e-3, 0.000000000000000000000000001],
          "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
          "literals": [null, true, false]
        }
        """;
    String expected =
        "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            + "\"string\":\"\u20ac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    ObjectNode parsed = CanonicalJson.parseObject(MAPPER, input);
    assertThat(CanonicalJson.canonicalize(parsed)).isEqualTo(expected);
    assertThat(HexFormat.of().formatHex(CanonicalJson.canonicalBytes(parsed))).isEqualTo(
        "7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a"
            + "5b3333333333333333332e333333333333332c31652b33302c342e352c302e3030322c31652d3237"
            + "5d2c22737472696e67223a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d");
  }

  /** RFC 8785 §3.2.3: property names sort by UTF-16 code units, not code points or UTF-8. */
  @Test
  void rfcSection323KeySorting() {
    String input = """
        {
          "\\u20ac": "Euro Sign",
          "\\r": "Carriage Return",
          "\\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\\ud83d\\ude00": "Emoji: Grinning Face",
          "\\u0080": "Control",
          "\\u00f6": "Latin Small Letter O With Diaeresis"
        }
        """;
    String canonical = CanonicalJson.canonicalize(CanonicalJson.parseObject(MAPPER, input));
    List<String> order = new ArrayList<>();
    CanonicalJson.parseObject(MAPPER, canonical).properties()
        .forEach(member -> order.add(member.getValue().textValue()));
    assertThat(order).containsExactly(
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh");
    assertThat(canonical).startsWith("{\"\\r\":\"Carriage Return\",\"1\":");
  }

  /** The reference implementation's testdata/input/weird.json: U+007F and "</script>" stay literal. */
  @Test
  void onlyQuoteBackslashAndC0ControlsAreEscaped() {
    ObjectNode doc = NODES.objectNode();
    doc.put("\u20ac", "Euro Sign");
    doc.put("1", "One");
    doc.put("\u0080", "Control\u007f");
    doc.put("\ud83d\ude02", "Smiley");
    doc.put("\u00f6", "Latin Small Letter O With Diaeresis");
    doc.put("\ufb33", "Hebrew Letter Dalet With Dagesh");
    doc.put("</script>", "Browser Challenge");
    assertThat(CanonicalJson.canonicalize(doc)).isEqualTo(
        "{\"1\":\"One\",\"</script>\":\"Browser Challenge\",\"\u0080\":\"Control\u007f\","
            + "\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\","
            + "\"\ud83d\ude02\":\"Smiley\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}");

    StringBuilder controls = new StringBuilder();
    for (char c = 0; c < 0x20; c++) {
      controls.append(c);
    }
    assertThat(CanonicalJson.canonicalize(TextNode.valueOf(controls + "\"\\/\u2028")))
        .isEqualTo("\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
            + "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019"
            + "\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\\"\\\\/\u2028\"");
  }

  @Test
  void nodeKindsAreWrittenAsJson() {
    ArrayNode values = NODES.arrayNode()
        .add(FloatNode.valueOf(0.1f))
        .add(DoubleNode.valueOf(-0.0))
        .add(ShortNode.valueOf((short) -7))
        .add(IntNode.valueOf(42))
        .add(LongNode.valueOf(1L << 53))
        .add(LongNode.valueOf(-(1L << 53)))
        .add(BigIntegerNode.valueOf(BigInteger.ONE.shiftLeft(53).negate()))
        .add(DecimalNode.valueOf(new BigDecimal("4.50")))
        .add(DecimalNode.valueOf(new BigDecimal("0.1000000000000000000000000001")))
        .add(DoubleNode.valueOf(1e30))
        .add(TextNode.valueOf(""))
        .addNull()
        .add(true)
        .add(false)
        .add(NODES.objectNode())
        .add(NODES.arrayNode());
    assertThat(CanonicalJson.canonicalize(values)).isEqualTo(
        "[0.1,0,-7,42,9007199254740992,-9007199254740992,-9007199254740992,4.5,0.1,1e+30,\"\","
            + "null,true,false,{},[]]");
  }

  @Test
  void integersBeyondTwoToThe53AreRejected() {
    ObjectNode doc = NODES.objectNode();
    doc.put("n", (1L << 53) + 1);
    assertThatThrownBy(() -> CanonicalJson.canonicalize(doc))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("integer beyond ±2^53 cannot be represented exactly: 9007199254740993 at $.n");

    ObjectNode big = NODES.objectNode();
    big.putArray("a").add(1).add(BigIntegerNode.valueOf(BigInteger.ONE.shiftLeft(53).add(BigInteger.ONE).negate()));
    assertThatThrownBy(() -> CanonicalJson.canonicalize(big))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("integer beyond ±2^53 cannot be represented exactly: -9007199254740993 at $.a[1]");

    assertThatThrownBy(() -> CanonicalJson.canonicalize(LongNode.valueOf(Long.MIN_VALUE)))
        .isInstanceOf(InvalidValueException.class)
        .hasMessageContaining("integer beyond ±2^53");
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "{\"big\": 9007199254740993}"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("integer beyond ±2^53 cannot be represented exactly: 9007199254740993 at $.big");
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "{\"big\": [123456789012345678901234567890]}"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("integer beyond ±2^53 cannot be represented exactly: 123456789012345678901234567890 at $.big[0]");
    assertThat(CanonicalJson.canonicalize(CanonicalJson.parse(MAPPER, "[9007199254740992,-9007199254740992]")))
        .isEqualTo("[9007199254740992,-9007199254740992]");
    assertThatThrownBy(() -> CanonicalJson.parse(MAPPER, "[1234567890123456789]"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("integer beyond ±2^53 cannot be represented exactly: 1234567890123456789 at $[0]");
  }

  /** jackson-databind #4917: a big integer must not leak into the next number's value. */
  @Test
  void numbersAfterBigIntegersKeepTheirOwnValue() {
    assertThat(CanonicalJson.canonicalize(CanonicalJson.parse(MAPPER,
        "{\"a\": {\"x\": -938734600000000000000}, \"b\": [0.25, 295147905179352830000, 1.5, 7, 2.5]}")))
        .isEqualTo("{\"a\":{\"x\":-938734600000000000000},\"b\":[0.25,295147905179352830000,1.5,7,2.5]}");
  }

  /**
   * Doubles from 2^53 up to 1e21 are canonically written as plain digits; that text must parse
   * back (as doubles), while integer literals that would change on reading are still rejected.
   */
  @Test
  void canonicalTextOfLargeDoublesParsesBack() {
    ArrayNode values = NODES.arrayNode()
        .add(Math.scalb(1.0, 68))
        .add(-9007199254740994.0)
        .add(1e20)
        .add(FloatNode.valueOf(9.0071993E15f));
    String canonical = CanonicalJson.canonicalize(values);
    assertThat(canonical).isEqualTo("[295147905179352830000,-9007199254740994,100000000000000000000,9007199000000000]");
    JsonNode parsed = CanonicalJson.parse(MAPPER, canonical);
    assertThat(parsed.get(0)).isEqualTo(DoubleNode.valueOf(Math.scalb(1.0, 68)));
    assertThat(CanonicalJson.canonicalize(parsed)).isEqualTo(canonical);
    String exactDoubles = "[295147905179352825856,9007199254740994,1000000000000000000000]";
    assertThat(CanonicalJson.canonicalize(CanonicalJson.parse(MAPPER, exactDoubles)))
        .as("literals that are exactly a double")
        .isEqualTo("[295147905179352830000,9007199254740994,1e+21]");
    for (String changesOnReading : List.of("9007199254740993", "-9007199254740995", "1000000000000000000001",
        "12345678901234567890123456789")) {
      assertThatThrownBy(() -> CanonicalJson.parse(MAPPER, "[" + changesOnReading + "]"))
          .as(changesOnReading)
          .isInstanceOf(InvalidValueException.class)
          .hasMessage("integer beyond ±2^53 cannot be represented exactly: " + changesOnReading + " at $[0]");
    }
  }

  @Test
  void nonFiniteAndOutOfRangeNumbersAreRejected() {
    ObjectNode doc = NODES.objectNode();
    doc.putObject("a").put("x", Float.NaN);
    assertThatThrownBy(() -> CanonicalJson.canonicalize(doc))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("number must be finite: $.a.x");
    assertThatThrownBy(() -> CanonicalJson.canonicalize(DecimalNode.valueOf(new BigDecimal("1e400"))))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("number out of the range of a double: 1E+400 at $");
    assertThatThrownBy(() -> CanonicalJson.parse(MAPPER, "{\"x\": [1e400]}"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("number out of the range of a double: 1e400 at $.x[0]");
    ObjectMapper lenient = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    assertThatThrownBy(() -> CanonicalJson.parse(lenient, "[NaN]"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessageStartingWith("malformed JSON at line 1, column ")
        .hasMessageContaining("NaN");
  }

  @Test
  void loneSurrogatesAreRejected() {
    ObjectNode value = NODES.objectNode();
    value.putArray("s").add("ok").add("a\ud800b");
    assertThatThrownBy(() -> CanonicalJson.canonicalize(value))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("lone surrogate \\ud800 in string at $.s[1]");

    ObjectNode key = NODES.objectNode();
    key.putObject("o").put("k\udc00", 1);
    assertThatThrownBy(() -> CanonicalJson.canonicalize(key))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("lone surrogate \\udc00 in key at $.o[\"k\\udc00\"]");

    assertThatThrownBy(() -> CanonicalJson.canonicalize(TextNode.valueOf("\ude00\ud83d")))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("lone surrogate \\ude00 in string at $");
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "{\"x\": \"\\ud83d\"}"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("lone surrogate \\ud83d in string at $.x");
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "{\"\\udead\": 1}"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("lone surrogate \\udead in key at $[\"\\udead\"]");
  }

  @Test
  void nodesThatAreNotJsonAreRejected() {
    ObjectNode doc = NODES.objectNode();
    doc.set("bytes", BinaryNode.valueOf(new byte[] {1}));
    assertThatThrownBy(() -> CanonicalJson.canonicalize(doc))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("not a JSON value: binary node at $.bytes");
    ArrayNode pojo = NODES.arrayNode().add(new POJONode(new Object()));
    assertThatThrownBy(() -> CanonicalJson.canonicalize(pojo))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("not a JSON value: pojo node at $[0]");
    assertThatThrownBy(() -> CanonicalJson.canonicalize(MissingNode.getInstance()))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("not a JSON value: missing node at $");
  }

  @Test
  void nestingIsLimitedTo1000Levels() {
    assertThat(CanonicalJson.canonicalize(nestedArrays(1000))).hasSize(2000);
    assertThatThrownBy(() -> CanonicalJson.canonicalize(nestedArrays(1001)))
        .isInstanceOf(InvalidValueException.class)
        .hasMessageStartingWith("nesting deeper than 1000 levels at $[0][0][0]")
        .hasMessageEndingWith("[0]".repeat(1000));
    ObjectNode objects = NODES.objectNode();
    ObjectNode inner = objects;
    for (int i = 1; i < 1001; i++) {
      inner = inner.putObject("a-" + i);
    }
    assertThatThrownBy(() -> CanonicalJson.canonicalize(objects))
        .isInstanceOf(InvalidValueException.class)
        .hasMessageStartingWith("nesting deeper than 1000 levels at $[\"a-1\"][\"a-2\"]")
        .hasMessageEndingWith("[\"a-1000\"]");

    assertThat(CanonicalJson.parse(MAPPER, "[".repeat(1000) + "]".repeat(1000)).toString())
        .hasSize(2000);
    assertThatThrownBy(() -> CanonicalJson.parse(MAPPER, "[".repeat(1001) + "]".repeat(1001)))
        .isInstanceOf(InvalidValueException.class)
        .hasMessageContaining("nesting depth (1001)")
        .hasMessageContaining("1000");
    ObjectMapper deeper = new ObjectMapper(JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(5000).build())
        .build());
    assertThatThrownBy(() -> CanonicalJson.parse(deeper, "[".repeat(1001) + "]".repeat(1001)))
        .isInstanceOf(InvalidValueException.class)
        .hasMessageStartingWith("nesting deeper than 1000 levels at $[0][0]");
  }

  @Test
  void duplicateKeysAreRejected() {
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "{\"a\": {\"b\": 1, \"c\": 2, \"b\": 3}}"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("duplicate key at $.a.b (line 1, column 24)");
    assertThatThrownBy(() -> CanonicalJson.parse(MAPPER, "[{}, {\"x y\": 1, \"x y\": 1}]"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessageStartingWith("duplicate key at $[1][\"x y\"]");
  }

  @Test
  void malformedJsonIsRejectedWithPosition() {
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "{\"a\": 1,\n \"b\": }"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessageStartingWith("malformed JSON at line 2, column 7: Unexpected character ('}'")
        .hasCauseInstanceOf(JsonProcessingException.class);
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "{\"a\": 1} {\"b\": 2}"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("malformed JSON at line 1, column 10: content after the JSON value");
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "{\"a\": 1} x"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessageStartingWith("malformed JSON at line 1, column ");
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "  "))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("malformed JSON at line 1, column 1: no value");
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "{\"a\": 1"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessageStartingWith("malformed JSON at line 1, column ");
  }

  @Test
  void leniencyEnabledOnTheMapperIsIgnored() throws Exception {
    ObjectMapper lenient = JsonMapper.builder()
        .enable(JsonReadFeature.ALLOW_JAVA_COMMENTS, JsonReadFeature.ALLOW_SINGLE_QUOTES,
            JsonReadFeature.ALLOW_TRAILING_COMMA, JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES)
        .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
        .build();
    for (String json : List.of("{/* c */ \"a\": 1}", "{'a': 1}", "{\"a\": 1,}", "{a: 1}")) {
      assertThatThrownBy(() -> CanonicalJson.parseObject(lenient, json))
          .as(json)
          .isInstanceOf(InvalidValueException.class)
          .hasMessageStartingWith("malformed JSON at line 1, column ");
    }
    assertThat(CanonicalJson.parseObject(lenient, "{\"a\": 0.1}").get("a")).isInstanceOf(DoubleNode.class);
    assertThat(lenient.readTree("{'a': 1,}").get("a").intValue()).isEqualTo(1); // mapper untouched
  }

  @Test
  void topLevelValueMustBeAnObjectForParseObject() {
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "[1, 2]"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("value must be a JSON object, got array");
    assertThatThrownBy(() -> CanonicalJson.parseObject(MAPPER, "null"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("value must be a JSON object, got null");
    assertThat(CanonicalJson.parse(MAPPER, "\"x\"")).isEqualTo(TextNode.valueOf("x"));
  }

  @Test
  void requireObject() {
    ObjectNode object = NODES.objectNode();
    assertThat(CanonicalJson.requireObject(object, "document")).isSameAs(object);
    assertThatThrownBy(() -> CanonicalJson.requireObject(TextNode.valueOf("x"), "document orders/42"))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("document orders/42 must be a JSON object, got string");
    assertThatThrownBy(() -> CanonicalJson.requireObject(null, "patch"))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("patch");
  }

  @Test
  void hashIs128BitsOfSha256InBase64Url() {
    ObjectNode a = CanonicalJson.parseObject(MAPPER, "{\"b\": [1, 2.0, {\"y\": null, \"x\": \"é\"}], \"a\": true}");
    ObjectNode b = CanonicalJson.parseObject(MAPPER, "{\"a\":true,\"b\":[1e0,2,{\"x\":\"\\u00e9\",\"y\":null}]}");
    assertThat(CanonicalJson.hash(a)).matches("[A-Za-z0-9_-]{22}").isEqualTo(CanonicalJson.hash(b));
    assertThat(CanonicalJson.hash(a)).isNotEqualTo(CanonicalJson.hash(CanonicalJson.parseObject(MAPPER, "{\"a\":false}")));
    // SHA-256("{}") = 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
    assertThat(CanonicalJson.hash(NODES.objectNode())).isEqualTo("RBNvo1WzZ4oRRq0W9-hkng");
    assertThat(CanonicalJson.hashCanonical("{}".getBytes(StandardCharsets.UTF_8))).isEqualTo("RBNvo1WzZ4oRRq0W9-hkng");
  }

  private static JsonNode nestedArrays(int depth) {
    ArrayNode root = NODES.arrayNode();
    ArrayNode inner = root;
    for (int i = 1; i < depth; i++) {
      inner = inner.addArray();
    }
    return root;
  }

  /** Floats are written as their shortest decimal, computed by the project: the same on every JDK. */
  @Test
  void floatsUseTheirShortestDecimalOnEveryJdk() {
    ArrayNode values = NODES.arrayNode().add(0.1f).add(1.1f).add(9.0071993E15f).add(3.4028235E38f)
        .add(1.4E-45f).add(-2.5f).add(16777216f).add(1.0E10f);
    assertThat(CanonicalJson.canonicalize(values))
        .isEqualTo("[0.1,1.1,9007199000000000,3.4028235e+38,1e-45,-2.5,16777216,10000000000]");
  }

  @Test
  void aBigDecimalIntegerBeyond2pow53IsRejectedUnlessTheDoubleLosesNothing() {
    // found by review: BigDecimals went through doubleValue() without the check longs and BigIntegers get, so
    // 9007199254740993 was stored and hashed as 9007199254740992 while the caller saw its own value
    assertThatThrownBy(() -> CanonicalJson.canonicalize(DecimalNode.valueOf(new BigDecimal("9007199254740993"))))
        .isInstanceOf(InvalidValueException.class)
        .hasMessage("integer beyond ±2^53 cannot be represented exactly: 9007199254740993 at $");
    assertThatThrownBy(() -> CanonicalJson.canonicalize(DecimalNode.valueOf(new BigDecimal("-9007199254740993.0"))))
        .isInstanceOf(InvalidValueException.class);
    // as parsing takes integer literals: exactly a double, or how that double is written
    assertThat(CanonicalJson.canonicalize(NODES.arrayNode()
        .add(DecimalNode.valueOf(new BigDecimal("9007199254740992")))
        .add(DecimalNode.valueOf(new BigDecimal("1E+20")))
        .add(DecimalNode.valueOf(new BigDecimal("295147905179352830000")))
        .add(DecimalNode.valueOf(new BigDecimal("1E+300")))
        .add(DecimalNode.valueOf(new BigDecimal("9007199254740993.5")))))
        .isEqualTo("[9007199254740992,100000000000000000000,295147905179352830000,1e+300,9007199254740994]");
  }

  /** A node factory whose plain array maker is its own: the canonical tree makes arrays as reading does. */
  @Test
  void canonicalTreeMakesNodesAsReadingDoes() {
    class OwnArray extends ArrayNode {
      OwnArray(JsonNodeFactory f) {
        super(f);
      }
    }
    JsonNodeFactory own = new JsonNodeFactory() {
      @Override
      public ArrayNode arrayNode() {
        return new OwnArray(this);
      }
    };
    ObjectMapper mapper = new ObjectMapper().setNodeFactory(own);
    ObjectNode value = JsonNodeFactory.instance.objectNode();
    value.putArray("a").add(1).addArray().add("x");
    JsonNode read = CanonicalJson.parse(mapper, CanonicalJson.canonicalize(value));
    JsonNode tree = CanonicalJson.canonicalTree(value, own);
    assertThat(read.get("a")).isInstanceOf(OwnArray.class);
    assertThat(tree.get("a")).isInstanceOf(OwnArray.class);
    assertThat(tree.get("a").get(1)).isInstanceOf(OwnArray.class);
    assertThat(tree).isEqualTo(read);
  }
}
