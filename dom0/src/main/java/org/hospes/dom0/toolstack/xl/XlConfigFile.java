package org.hospes.dom0.toolstack.xl;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The settings of an xl domain configuration file (xl.cfg(5)), as written, before their meaning
 * is checked: {@code KEY = VALUE} statements ended by a newline or {@code ;}, where VALUE is a
 * string in double or single quotes (with C escapes in double quotes), a number, or a list
 * {@code [ VALUE, ... ]} that may span lines and end with a comma. {@code #} starts a comment.
 * Every value remembers the line it started on, so errors can name it.
 */
public final class XlConfigFile {

  /** One setting: a String, a Long, or a List of String/Long; and its line (from 1). */
  public record Setting(String key, Object value, int line) {}

  private final String source;
  private final Map<String, Setting> settings;

  private XlConfigFile(String source, Map<String, Setting> settings) {
    this.source = source;
    this.settings = Collections.unmodifiableMap(settings);
  }

  /** What the file is called in messages. */
  public String source() {
    return source;
  }

  /** The settings in file order; a key set twice keeps its last value, as in xl. */
  public Map<String, Setting> settings() {
    return settings;
  }

  /**
   * Parses the bytes of the file named {@code source}.
   *
   * @throws XlConfigException naming the file and line of the first syntax error
   */
  public static XlConfigFile parse(String source, byte[] bytes) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      text = null;
    }
    if (text == null || text.indexOf('\0') >= 0) {
      throw new XlConfigException(source + ": not a text file; create takes an xl domain"
          + " configuration (name = \"...\", kernel = \"...\", ...)");
    }
    return new Parser(source, text).file();
  }

  /** A recursive-descent parser over the text, keeping the line number. */
  private static final class Parser {
    private final String source;
    private final String text;
    private int pos;
    private int line = 1;

    Parser(String source, String text) {
      this.source = source;
      this.text = text;
    }

    XlConfigFile file() {
      Map<String, Setting> out = new LinkedHashMap<>();
      while (true) {
        skipBlankAndSeparators();
        if (pos >= text.length()) {
          return new XlConfigFile(source, out);
        }
        int keyLine = line;
        String key = identifier();
        skipSpaces();
        if (peek() != '=') {
          throw error(keyLine, key + ": expected '=' after the key, as in " + key
              + " = VALUE");
        }
        pos++;
        skipSpaces();
        if (pos >= text.length() || peek() == '\n' || peek() == '#' || peek() == ';') {
          throw error(keyLine, key + ": no value after '='");
        }
        Object value = value(key, false);
        out.remove(key);
        out.put(key, new Setting(key, value, keyLine));
        skipSpaces();
        if (pos < text.length() && peek() != '\n' && peek() != ';' && peek() != '#') {
          throw error(line, key + ": unexpected '" + peek() + "' after the value");
        }
      }
    }

    private String identifier() {
      int start = pos;
      while (pos < text.length()) {
        char c = text.charAt(pos);
        if (!(Character.isLetterOrDigit(c) || c == '_')) {
          break;
        }
        pos++;
      }
      if (pos == start) {
        throw error(line, "expected a KEY = VALUE setting, found '" + peekWord() + "'");
      }
      return text.substring(start, pos);
    }

    private Object value(String key, boolean inList) {
      char c = peek();
      if (c == '"' || c == '\'') {
        return string(key);
      }
      if (c == '[') {
        if (inList) {
          throw error(line, key + ": lists cannot be nested");
        }
        return list(key);
      }
      int start = pos;
      while (pos < text.length() && (Character.isLetterOrDigit(peek()) || peek() == '.'
          || peek() == '-' || peek() == '+' || peek() == '_')) {
        pos++;
      }
      String word = text.substring(start, pos);
      if (word.isEmpty()) {
        throw error(line, key + ": expected a value, found '" + peekWord() + "'");
      }
      try {
        return word.startsWith("0x") || word.startsWith("0X")
            ? Long.parseLong(word.substring(2), 16) : Long.parseLong(word);
      } catch (NumberFormatException e) {
        throw error(line, key + ": '" + word + "' is neither a number nor a quoted string"
            + " (write \"" + word + "\")");
      }
    }

    private List<Object> list(String key) {
      int start = line;
      pos++; // [
      List<Object> items = new ArrayList<>();
      while (true) {
        skipBlank();
        if (pos >= text.length()) {
          throw error(start, key + ": the list opened here has no closing ']'");
        }
        if (peek() == ']') {
          pos++;
          return items;
        }
        items.add(value(key, true));
        skipBlank();
        if (peek() == ',') {
          pos++;
        } else if (peek() != ']') {
          throw error(line, key + ": expected ',' or ']' in the list, found '" + peekWord()
              + "'");
        }
      }
    }

    private String string(String key) {
      char quote = peek();
      int start = line;
      pos++;
      StringBuilder b = new StringBuilder();
      while (true) {
        if (pos >= text.length() || peek() == '\n') {
          throw error(start, key + ": the string has no closing " + quote);
        }
        char c = text.charAt(pos++);
        if (c == quote) {
          return b.toString();
        }
        if (c == '\\' && quote == '"' && pos < text.length()) {
          char e = text.charAt(pos++);
          switch (e) {
            case 'n' -> b.append('\n');
            case 't' -> b.append('\t');
            case 'r' -> b.append('\r');
            case '\\', '"', '\'' -> b.append(e);
            default -> throw error(line, key + ": unknown escape \\" + e + " in a string");
          }
        } else {
          b.append(c);
        }
      }
    }

    /** Spaces, newlines and comments (inside a list). */
    private void skipBlank() {
      while (pos < text.length()) {
        char c = peek();
        if (c == '#') {
          skipComment();
        } else if (c == '\n') {
          line++;
          pos++;
        } else if (Character.isWhitespace(c)) {
          pos++;
        } else {
          return;
        }
      }
    }

    private void skipBlankAndSeparators() {
      while (pos < text.length()) {
        skipBlank();
        if (pos < text.length() && peek() == ';') {
          pos++;
        } else {
          return;
        }
      }
    }

    private void skipSpaces() {
      while (pos < text.length() && peek() != '\n' && Character.isWhitespace(peek())) {
        pos++;
      }
      if (pos < text.length() && peek() == '#') {
        skipComment();
      }
    }

    private void skipComment() {
      while (pos < text.length() && peek() != '\n') {
        pos++;
      }
    }

    private char peek() {
      return pos < text.length() ? text.charAt(pos) : '\0';
    }

    private String peekWord() {
      if (pos >= text.length()) {
        return "the end of the file";
      }
      int end = pos;
      while (end < text.length() && end < pos + 20 && !Character.isWhitespace(text.charAt(end))) {
        end++;
      }
      return end == pos ? String.valueOf(text.charAt(pos)) : text.substring(pos, end);
    }

    private XlConfigException error(int at, String message) {
      return new XlConfigException(source + ":" + at + ": " + message);
    }
  }
}
