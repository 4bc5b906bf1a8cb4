package ai.taco.core.weights;

import ai.taco.core.error.WeightsException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Checks a pickle's opcode stream before it is unpickled (in the manner of Python's {@code pickletools.genops}), so
 * that a hostile file is refused before it can make the unpickler allocate, hash or recurse:
 *
 * <ul>
 *   <li>every declared length (strings, bytes, LONG1/LONG4, frames) is non-negative and fits in the bytes that
 *       follow it; big integers and text-protocol lines are short;
 *   <li>the number of opcodes (which bounds the number of objects and memo entries) is bounded;
 *   <li>dict keys and set members are strings, bytes, numbers, booleans or None: a container as a key would be hashed
 *       by {@code HashMap.put}, and hashing a list that contains itself or shares sub-lists recurses forever or takes
 *       exponential time;
 *   <li>the stack and memo are used consistently (no pop of an empty stack, no GET of an unset memo slot).
 * </ul>
 *
 * <p>The scan simulates the unpickler's stack with the <em>kind</em> of each value only (a value's kind never changes
 * after it is pushed, so memo copies stay exact). Nesting depth is not visible here (lists can be filled after they
 * are memoized); {@link PickleGraph} bounds it after unpickling without recursion.
 */
final class PickleScan {
  /** Kinds of stack values. Only {@link #HASHABLE} kinds may be dict keys or set members. */
  private static final byte MARK = 0;
  private static final byte STR = 1;
  private static final byte NUM = 2;
  private static final byte BYTES = 3;
  private static final byte CONTAINER = 4;
  private static final byte OBJECT = 5;

  /**
   * Most opcodes per pickle. A state-dict pickle has ~20 opcodes per tensor (the full TACO model: ~30 000 in all;
   * tensor data lives outside the pickle), so 4 million leaves room for any real checkpoint while bounding the objects
   * and memo entries a forged pickle can create.
   */
  static final long MAX_OPCODES = 4_000_000;

  /** Largest LONG1/LONG4 integer in bytes: torch writes at most the 10-byte legacy magic number. */
  static final int MAX_LONG_BYTES = 64;

  /** Longest text-protocol argument line (INT, LONG, FLOAT, GET/PUT, GLOBAL names, STRING/UNICODE values). */
  static final int MAX_LINE = 1 << 16;

  private final byte[] bytes;
  private final int limit;
  private int pos;
  private byte[] stack = new byte[64];
  private int sp;
  private int[] marks = new int[16];
  private int mp;
  private final Map<Long, Byte> memo = new HashMap<>();

  private PickleScan(byte[] bytes, int start, int limit) {
    this.bytes = bytes;
    this.pos = start;
    this.limit = limit;
  }

  /**
   * Scans one pickle starting at {@code start}.
   *
   * @return the offset just after its STOP opcode
   * @throws WeightsException (without the file name: callers add it) describing the first problem
   */
  static int check(byte[] bytes, int start) {
    return new PickleScan(bytes, start, bytes.length).run();
  }

  private int run() {
    long count = 0;
    while (true) {
      if (pos >= limit) {
        throw fail("pickle ends without a STOP opcode (truncated)");
      }
      if (++count > MAX_OPCODES) {
        throw fail("pickle has more than " + MAX_OPCODES + " opcodes");
      }
      int at = pos;
      int op = bytes[pos++] & 0xff;
      switch (op) {
        case '.': // STOP
          if (sp != 1 || mp != 0) {
            throw fail("malformed pickle: STOP with " + sp + " values on the stack", at);
          }
          return pos;
        case '(': // MARK
          if (mp == marks.length) {
            marks = Arrays.copyOf(marks, mp * 2);
          }
          marks[mp++] = sp;
          push(MARK);
          break;
        case '0': // POP
          if (sp > 0 && stack[sp - 1] == MARK) {
            popMark(at);
          } else {
            pop(at);
          }
          break;
        case '1': // POP_MARK
          popMark(at);
          break;
        case '2': // DUP
          push(peek(at));
          break;
        case 'F': case 'I': case 'L': // FLOAT, INT, LONG (text)
          line(at, 256);
          push(NUM);
          break;
        case 'J': skip(4, at); push(NUM); break; // BININT
        case 'K': skip(1, at); push(NUM); break; // BININT1
        case 'M': skip(2, at); push(NUM); break; // BININT2
        case 'G': skip(8, at); push(NUM); break; // BINFLOAT
        case 'N': case 0x88: case 0x89: push(NUM); break; // NONE, NEWTRUE, NEWFALSE
        case 0x8a: { // LONG1
          int n = u1(at);
          bigInt(n, at);
          push(NUM);
          break;
        }
        case 0x8b: { // LONG4 (signed length)
          long n = s4(at);
          bigInt(n, at);
          push(NUM);
          break;
        }
        case 'S': case 'V': // STRING, UNICODE (text)
          line(at, MAX_LINE);
          push(STR);
          break;
        case 'T': lengthPrefixed(s4(at), at); push(STR); break; // BINSTRING (signed length)
        case 'U': lengthPrefixed(u1(at), at); push(STR); break; // SHORT_BINSTRING
        case 'X': lengthPrefixed(u4(at), at); push(STR); break; // BINUNICODE
        case 0x8c: lengthPrefixed(u1(at), at); push(STR); break; // SHORT_BINUNICODE
        case 0x8d: lengthPrefixed(s8(at), at); push(STR); break; // BINUNICODE8
        case 'B': lengthPrefixed(u4(at), at); push(BYTES); break; // BINBYTES
        case 'C': lengthPrefixed(u1(at), at); push(BYTES); break; // SHORT_BINBYTES
        case 0x8e: lengthPrefixed(s8(at), at); push(BYTES); break; // BINBYTES8
        case 0x96: lengthPrefixed(s8(at), at); push(OBJECT); break; // BYTEARRAY8
        case 0x80: skip(1, at); break; // PROTO
        case 0x95: { // FRAME: a length hint only, but it must fit
          long n = s8(at);
          if (n < 0 || n > limit - pos) {
            throw fail("pickle frame of " + n + " bytes exceeds the " + (limit - pos) + " bytes that follow", at);
          }
          break;
        }
        case ']': case '}': case ')': push(CONTAINER); break; // EMPTY_LIST, EMPTY_DICT, EMPTY_TUPLE
        case 0x8f: push(CONTAINER); break; // EMPTY_SET
        case 'l': case 't': popToMark(at); push(CONTAINER); break; // LIST, TUPLE
        case 'd': { // DICT
          int n = popToMark(at);
          requireKeys(n, 2, at);
          push(CONTAINER);
          break;
        }
        case 0x91: { // FROZENSET
          int n = popToMark(at);
          requireKeys(n, 1, at);
          push(CONTAINER);
          break;
        }
        case 0x85: pop(at); push(CONTAINER); break; // TUPLE1
        case 0x86: pop(at); pop(at); push(CONTAINER); break; // TUPLE2
        case 0x87: pop(at); pop(at); pop(at); push(CONTAINER); break; // TUPLE3
        case 'a': pop(at); peek(at); break; // APPEND
        case 'e': popToMark(at); peek(at); break; // APPENDS
        case 's': { // SETITEM
          pop(at);
          byte key = pop(at);
          if (!hashable(key)) {
            throw badKey(key, at);
          }
          peek(at);
          break;
        }
        case 'u': { // SETITEMS
          int n = popToMark(at);
          requireKeys(n, 2, at);
          peek(at);
          break;
        }
        case 0x90: { // ADDITEMS
          int n = popToMark(at);
          requireKeys(n, 1, at);
          peek(at);
          break;
        }
        case 'c': // GLOBAL
          line(at, MAX_LINE);
          line(at, MAX_LINE);
          push(OBJECT);
          break;
        case 0x93: pop(at); pop(at); push(OBJECT); break; // STACK_GLOBAL
        case 'R': case 0x81: pop(at); pop(at); push(OBJECT); break; // REDUCE, NEWOBJ
        case 0x92: pop(at); pop(at); pop(at); push(OBJECT); break; // NEWOBJ_EX
        case 'b': pop(at); peek(at); break; // BUILD
        case 'i': line(at, MAX_LINE); line(at, MAX_LINE); popToMark(at); push(OBJECT); break; // INST
        case 'o': popToMark(at); push(OBJECT); break; // OBJ
        case 'P': line(at, MAX_LINE); push(OBJECT); break; // PERSID
        case 'Q': pop(at); push(OBJECT); break; // BINPERSID
        case 'g': get(parseIndex(line(at, 32), at), at); break; // GET
        case 'h': get(u1(at), at); break; // BINGET
        case 'j': get(u4(at), at); break; // LONG_BINGET
        case 'p': memo.put(parseIndex(line(at, 32), at), peekValue(at)); break; // PUT
        case 'q': memo.put((long) u1(at), peekValue(at)); break; // BINPUT
        case 'r': memo.put(u4(at), peekValue(at)); break; // LONG_BINPUT
        case 0x94: memo.put((long) memo.size(), peekValue(at)); break; // MEMOIZE
        case 0x98: peek(at); break; // READONLY_BUFFER
        default:
          // EXT1/2/4 (extension registry), NEXT_BUFFER (out-of-band data) and unknown bytes.
          throw fail(String.format("unsupported or invalid pickle opcode 0x%02x", op), at);
      }
    }
  }

  private static boolean hashable(byte kind) {
    return kind == STR || kind == NUM || kind == BYTES;
  }

  private WeightsException badKey(byte kind, int at) {
    return fail("a dict key or set member is a " + (kind == CONTAINER ? "container" : kind == MARK ? "mark" : "object")
        + ", not a string or number (a state dict's keys are strings)", at);
  }

  /** The {@code n} values just popped (at {@code stack[sp..]}): every {@code step}-th from the first must be hashable. */
  private void requireKeys(int n, int step, int at) {
    int from = sp;
    if (step == 2 && n % 2 != 0) {
      throw fail("malformed pickle: odd number of dict items", at);
    }
    for (int i = from; i < from + n; i += step) {
      if (!hashable(stack[i])) {
        throw badKey(stack[i], at);
      }
    }
  }

  private void push(byte kind) {
    if (sp == stack.length) {
      stack = Arrays.copyOf(stack, sp * 2);
    }
    stack[sp++] = kind;
  }

  private byte pop(int at) {
    if (sp == 0 || stack[sp - 1] == MARK) {
      throw fail("malformed pickle: pop from an empty stack", at);
    }
    return stack[--sp];
  }

  private byte peek(int at) {
    if (sp == 0 || stack[sp - 1] == MARK) {
      throw fail("malformed pickle: empty stack", at);
    }
    return stack[sp - 1];
  }

  private Byte peekValue(int at) {
    return peek(at);
  }

  /**
   * Removes the topmost mark and the values above it; returns how many values there were. They stay readable in
   * {@code stack[sp .. sp + n)} until the next push.
   */
  private int popToMark(int at) {
    if (mp == 0) {
      throw fail("malformed pickle: no MARK before a collection opcode", at);
    }
    int markAt = marks[--mp];
    int n = sp - markAt - 1;
    System.arraycopy(stack, markAt + 1, stack, markAt, n);
    sp = markAt;
    return n;
  }

  private void popMark(int at) {
    popToMark(at);
  }

  private void get(long index, int at) {
    Byte kind = memo.get(index);
    if (kind == null) {
      throw fail("malformed pickle: memo slot " + index + " is read before it is set", at);
    }
    push(kind);
  }

  private int u1(int at) {
    need(1, at);
    return bytes[pos++] & 0xff;
  }

  private long u4(int at) {
    return s4(at) & 0xffffffffL;
  }

  private long s4(int at) {
    need(4, at);
    long v = (bytes[pos] & 0xff) | (bytes[pos + 1] & 0xff) << 8 | (bytes[pos + 2] & 0xff) << 16 | bytes[pos + 3] << 24;
    pos += 4;
    return v;
  }

  private long s8(int at) {
    need(8, at);
    long v = 0;
    for (int i = 7; i >= 0; i--) {
      v = v << 8 | (bytes[pos + i] & 0xff);
    }
    pos += 8;
    return v;
  }

  private void skip(int n, int at) {
    need(n, at);
    pos += n;
  }

  private void need(int n, int at) {
    if (limit - pos < n) {
      throw fail("pickle truncated inside an opcode", at);
    }
  }

  private void lengthPrefixed(long n, int at) {
    if (n < 0) {
      throw fail("pickle declares a negative length (" + n + ")", at);
    }
    if (n > limit - pos) {
      throw fail("pickle declares a " + n + "-byte value but only " + (limit - pos) + " bytes follow", at);
    }
    pos += (int) n;
  }

  private void bigInt(long n, int at) {
    if (n < 0) {
      throw fail("pickle declares a negative integer length (" + n + ")", at);
    }
    if (n > MAX_LONG_BYTES) {
      throw fail("pickle declares a " + n + "-byte integer (at most " + MAX_LONG_BYTES + " accepted)", at);
    }
    lengthPrefixed(n, at);
  }

  /** The argument line after a text opcode, without its newline. */
  private String line(int at, int max) {
    int end = pos;
    int stop = (int) Math.min(limit, (long) pos + max + 1);
    while (end < stop && bytes[end] != '\n') {
      end++;
    }
    if (end >= stop) {
      throw fail(end >= limit ? "pickle truncated inside a text argument" : "pickle text argument longer than " + max
          + " bytes", at);
    }
    String s = new String(bytes, pos, end - pos, StandardCharsets.ISO_8859_1);
    pos = end + 1;
    return s;
  }

  private long parseIndex(String s, int at) {
    try {
      long v = Long.parseLong(s.trim());
      if (v < 0) {
        throw fail("malformed pickle: negative memo index", at);
      }
      return v;
    } catch (NumberFormatException e) {
      throw fail("malformed pickle: memo index '" + s + "' is not a number", at);
    }
  }

  private WeightsException fail(String message) {
    return new WeightsException(message);
  }

  private WeightsException fail(String message, int at) {
    return new WeightsException(message + " (at byte " + at + ")");
  }
}
