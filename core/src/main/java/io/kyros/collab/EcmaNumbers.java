package io.kyros.collab;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.function.Predicate;

/**
 * ECMAScript {@code Number::toString} (ECMA-262 §6.1.6.1.20, radix 10), which RFC 8785 §3.2.2.3
 * prescribes for JSON numbers.
 *
 * <p>The digits are the shortest decimal that reads back as the same double; among shortest
 * candidates the one closest to the exact binary value wins, and an exact tie goes to the even
 * digit string. {@link Double#toString(double)} is not used for the digits: before JDK 19 it is not
 * always shortest (JDK-4511638).
 *
 * <p>Stateless and thread-safe.
 */
final class EcmaNumbers {
  /** 2<sup>53</sup>: below this, every integral double is an exact {@code long}. */
  private static final double TWO_POW_53 = 9007199254740992.0;

  private EcmaNumbers() {}

  /**
   * Formats a finite double as ECMAScript's {@code String(d)} does.
   *
   * @param d a finite value
   * @return the ECMAScript string form; {@code "0"} for both zeros
   * @throws IllegalArgumentException if {@code d} is NaN or infinite
   */
  static String format(double d) {
    if (!Double.isFinite(d)) {
      throw new IllegalArgumentException("number must be finite: " + d);
    }
    if (d == 0) {
      return "0"; // +0 and -0
    }
    if (d < 0) {
      return "-" + format(-d);
    }
    if (d < TWO_POW_53 && d == Math.rint(d)) {
      return Long.toString((long) d); // integral and below 1e21: plain digits
    }
    String fast = fewDecimals(d);
    if (fast != null) {
      return fast;
    }
    return slow(d);
  }

  /** The general path: BigDecimal search for the shortest digits. Package-private for the tests. */
  static String slow(double d) {
    if (d < 0) {
      return "-" + slow(-d);
    }
    BigDecimal shortest = shortest(d).stripTrailingZeros();
    String digits = shortest.unscaledValue().toString();
    return layout(digits, digits.length() - shortest.scale());
  }

  /** Powers of ten that are exact doubles. */
  private static final double[] POW10 = new double[23];

  static {
    double p = 1;
    for (int i = 0; i < POW10.length; i++) {
      POW10[i] = p;
      p *= 10;
    }
  }

  /**
   * The fast path for positive values with few decimals (prices, percentages, most measured data):
   * the smallest {@code k} such that some integer {@code m} below 2<sup>53</sup> makes
   * {@code m / 10^k} read back as {@code d}. Both {@code m} and {@code 10^k} are exact doubles, so
   * IEEE division rounds the exact quotient, exactly as parsing the decimal would: the check is
   * exact. {@code d × 10^k} computed in floating point is within one unit of the exact product, so
   * the integers that can qualify are among the four checked. Returns null when the value needs the
   * general path (more than 22 decimals, or digits beyond 2<sup>53</sup>), or when two candidates
   * qualify and the closest must be decided exactly.
   */
  static String fewDecimals(double d) {
    if (d == Math.rint(d)) {
      return null; // integral values have their own path
    }
    for (int k = 1; k < POW10.length; k++) {
      double x = d * POW10[k];
      if (x >= TWO_POW_53 / 2) {
        return null;
      }
      long base = (long) Math.floor(x) - 1;
      long found = -1;
      for (long m = Math.max(base, 0); m <= base + 3; m++) {
        if (m / POW10[k] == d) {
          if (found >= 0) {
            return null; // two shortest candidates: let the exact path pick the closest
          }
          found = m;
        }
      }
      if (found > 0) {
        String digits = Long.toString(found);
        return layout(digits, digits.length() - k);
      }
    }
    return null;
  }

  /**
   * The double a float means when it is written as JSON: the shortest decimal that reads back as
   * {@code f} (closest to {@code f} among equally short ones), read as a double. This is what
   * {@code Float.toString} prints on JDK 19 and later, computed here so that the canonical form, and
   * so the ETag, of a value with float fields is the same on every JDK (JDK 17 prints
   * {@code 9.0071993E15} where the shortest is {@code 9.007199E15}).
   *
   * @param f a float
   * @return the double of its shortest decimal; NaN and infinities are returned as they are
   */
  static double floatAsDouble(float f) {
    if (!Float.isFinite(f) || f == 0 || f == Math.rint(f) && Math.abs(f) < 16_777_216f) {
      return f; // non-finite, zero, or an integer that a float represents exactly
    }
    BigDecimal shortest = shortest(new BigDecimal(f), 9, c -> Float.parseFloat(c) == f);
    return Double.parseDouble(shortest.toString());
  }

  /** The shortest decimal that rounds to {@code d}, closest to {@code d} among equally short ones. */
  private static BigDecimal shortest(double d) {
    return shortest(new BigDecimal(d), 17, c -> Double.parseDouble(c) == d);
  }

  /**
   * The shortest decimal that {@code readsBack} accepts, closest to {@code exact} among equally short
   * ones. Having a round-tripping candidate with {@code p} significant digits is monotone in
   * {@code p} (pad with a zero), and {@code maxDigits} always suffice, so the smallest {@code p} is
   * found by bisection.
   */
  private static BigDecimal shortest(BigDecimal exact, int maxDigits, Predicate<String> readsBack) {
    int lo = 1;
    int hi = maxDigits;
    BigDecimal best = null;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      BigDecimal c = candidate(exact, mid, readsBack);
      if (c != null) {
        best = c;
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return best != null ? best : candidate(exact, maxDigits, readsBack);
  }

  /**
   * Among decimals with {@code p} significant digits that read back as the same binary value, the
   * closest to {@code exact} (ties to even), or {@code null} if there is none. Only the neighbours
   * just below and just above {@code exact} need checking: the set of decimals that read back as the
   * value is an interval around it, so if any candidate on one side is in it, the nearest one on that
   * side is too. The interval is asymmetric at powers of two, which is why the nearest of the two
   * neighbours alone is not enough.
   */
  private static BigDecimal candidate(BigDecimal exact, int p, Predicate<String> readsBack) {
    BigDecimal down = exact.round(new MathContext(p, RoundingMode.DOWN));
    if (down.compareTo(exact) == 0) {
      return down;
    }
    BigDecimal up = exact.round(new MathContext(p, RoundingMode.UP));
    boolean downOk = readsBack.test(down.toString());
    boolean upOk = readsBack.test(up.toString());
    if (downOk && upOk) {
      return exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
    }
    return downOk ? down : upOk ? up : null;
  }

  /**
   * Lays out digits {@code s} (no trailing zeros, {@code k} of them) and decimal exponent {@code n}
   * (the value is {@code s × 10^(n-k)}) as ECMA-262 §6.1.6.1.20 steps 6 to 10 do.
   */
  private static String layout(String s, int n) {
    int k = s.length();
    StringBuilder out = new StringBuilder(k + 26);
    if (k <= n && n <= 21) {
      out.append(s);
      out.append("0".repeat(n - k));
    } else if (0 < n && n <= 21) {
      out.append(s, 0, n).append('.').append(s, n, k);
    } else if (-6 < n && n <= 0) {
      out.append("0.").append("0".repeat(-n)).append(s);
    } else {
      out.append(s.charAt(0));
      if (k > 1) {
        out.append('.').append(s, 1, k);
      }
      int e = n - 1;
      out.append('e').append(e < 0 ? '-' : '+').append(Math.abs(e));
    }
    return out.toString();
  }
}
