/*
 * String formatting and parsing: itoa/atoi in several bases, the usual
 * string.h functions written here, word reversal, a tokenizer feeding a tiny
 * recursive-descent calculator, printf formatting, and word statistics.
 * Ends with a checksum.
 */
#include "rt.h"
#include "report.h"

static char *my_itoa(int32_t value, char *out, unsigned base)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    char tmp[34];
    int n = 0;
    uint32_t mag = value < 0 && base == 10 ? 0u - (uint32_t)value : (uint32_t)value;
    do {
        tmp[n++] = digits[mag % base];
        mag /= base;
    } while (mag);
    char *p = out;
    if (value < 0 && base == 10) *p++ = '-';
    while (n) *p++ = tmp[--n];
    *p = '\0';
    return out;
}

/* Parses an optionally signed integer in base 2..36 (base 0: C-style prefix); saturates on overflow. */
static int32_t my_strtol(const char *s, const char **end, unsigned base, int *overflow)
{
    while (*s == ' ' || *s == '\t') s++;
    int neg = 0;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) { s += 2; base = 16; }
    else if (base == 0 && s[0] == '0' && s[1] == 'b') { s += 2; base = 2; }
    else if (base == 0) base = 10;
    uint32_t limit = neg ? 0x80000000u : 0x7FFFFFFFu, acc = 0;
    *overflow = 0;
    for (;; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9') d = (unsigned)(*s - '0');
        else if (*s >= 'a' && *s <= 'z') d = (unsigned)(*s - 'a' + 10);
        else if (*s >= 'A' && *s <= 'Z') d = (unsigned)(*s - 'A' + 10);
        else break;
        if (d >= base) break;
        if (acc > (limit - d) / base) { *overflow = 1; acc = limit; }
        else acc = acc * base + d;
    }
    if (end) *end = s;
    return neg ? (int32_t)(0u - acc) : (int32_t)acc;
}

static const char *my_strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c) return s;
        if (!*s) return NULL;
    }
}

static const char *my_strrchr(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c) last = s;
        if (!*s) return last;
    }
}

static int my_strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) return (uint8_t)*a - (uint8_t)*b;
    }
    return 0;
}

static const char *my_strstr(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        if (my_strncmp(hay, needle, n) == 0) return hay;
    }
    return n == 0 ? hay : NULL;
}

static void reverse(char *a, char *b)
{
    while (a < b) { char t = *a; *a++ = *b; *b-- = t; }
}

/* Reverses the order of words in place: reverse everything, then each word. */
static void reverse_words(char *s)
{
    size_t n = strlen(s);
    if (!n) return;
    reverse(s, s + n - 1);
    char *w = s;
    for (char *p = s;; p++) {
        if (*p == ' ' || *p == '\0') {
            if (p > w) reverse(w, p - 1);
            w = p + 1;
            if (!*p) break;
        }
    }
}

static void conversions(void)
{
    say("== itoa / strtol ==\n");
    static const int32_t vals[] = { 0, 7, -7, 255, -256, 65535, 123456789, -987654321, 2147483647, -2147483647 - 1 };
    static const unsigned bases[] = { 10, 16, 2, 8, 36 };
    char buf[40];
    for (unsigned i = 0; i < ARRAY_SIZE(vals); i++) {
        say("%11d:", vals[i]);
        for (unsigned b = 0; b < ARRAY_SIZE(bases); b++) {
            my_itoa(OPAQUE(vals[i]), buf, bases[b]);
            int ovf;
            int32_t back = my_strtol(buf, NULL, bases[b], &ovf);
            say(" %s%s", buf, back == vals[i] || bases[b] != 10 ? "" : "(!)");
        }
        say("\n");
    }
    static const char *const inputs[] = {
        "42", "  -17xyz", "+0x1F", "0b101101", "2147483647", "2147483648", "-2147483648", "-2147483649",
        "99999999999", "0x", "", "  +", "0777", "zz",
    };
    for (unsigned i = 0; i < ARRAY_SIZE(inputs); i++) {
        const char *end;
        int ovf;
        int32_t v = my_strtol(inputs[i], &end, 0, &ovf);
        say("strtol(\"%s\") = %d, consumed %d%s\n", inputs[i], v, (int)(end - inputs[i]), ovf ? ", overflow" : "");
    }
}

static void stringfuncs(void)
{
    say("== string functions ==\n");
    static const char s[] = "the quick brown fox jumps over the lazy dog";
    say("strlen %u\n", (unsigned)strlen(s));
    say("strchr 'q' at %d, strchr 'z' at %d, strchr 'Z' %s\n", (int)(my_strchr(s, 'q') - s),
        (int)(my_strchr(s, 'z') - s), my_strchr(s, 'Z') ? "found" : "missing");
    say("strrchr 'o' at %d, strchr NUL at %d\n", (int)(my_strrchr(s, 'o') - s), (int)(my_strchr(s, 0) - s));
    say("strstr \"the\" at %d, \"lazy\" at %d, \"cat\" %s\n", (int)(my_strstr(s, "the") - s),
        (int)(my_strstr(s + 1, "the") - s), my_strstr(s, "cat") ? "found" : "missing");
    static const char *const pairs[][2] = {
        { "apple", "apples" }, { "abc", "abd" }, { "same", "same" }, { "Zebra", "apple" }, { "", "a" }, { "\xff", "a" },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(pairs); i++) {
        int c = strcmp(pairs[i][0], pairs[i][1]);
        int c3 = my_strncmp(pairs[i][0], pairs[i][1], 3);
        say("strcmp #%u: %s, strncmp3: %s\n", i, c < 0 ? "<" : c > 0 ? ">" : "=", c3 < 0 ? "<" : c3 > 0 ? ">" : "=");
    }
    char words[] = "one two  three four five";
    reverse_words(words);
    say("reversed words: \"%s\"\n", words);
    char up[64];
    unsigned i;
    for (i = 0; s[i]; i++) up[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
    up[i] = '\0';
    say("upper: %s\n", up);
    static const char *const pals[] = { "racecar", "A man a plan a canal Panama", "hospes", "" };
    for (unsigned k = 0; k < ARRAY_SIZE(pals); k++) {
        const char *a = pals[k], *b = pals[k] + strlen(pals[k]);
        int pal = 1;
        while (a < b) {
            char x = *a, y = b[-1];
            if (x == ' ') { a++; continue; }
            if (y == ' ') { b--; continue; }
            if (x >= 'A' && x <= 'Z') x += 32;
            if (y >= 'A' && y <= 'Z') y += 32;
            if (x != y) { pal = 0; break; }
            a++;
            b--;
        }
        say("\"%s\" is %sa palindrome\n", pals[k], pal ? "" : "not ");
    }
}

/* ---- tokenizer and calculator --------------------------------------------- */

enum tok_kind { T_NUM, T_IDENT, T_OP, T_LPAREN, T_RPAREN, T_END, T_ERR };
struct token {
    enum tok_kind kind;
    int32_t num;
    char text[16];
};

struct lexer {
    const char *p;
    struct token cur;
};

static void next_token(struct lexer *lx)
{
    const char *p = lx->p;
    while (*p == ' ') p++;
    struct token *t = &lx->cur;
    t->text[0] = '\0';
    if (!*p) {
        t->kind = T_END;
    } else if (*p >= '0' && *p <= '9') {
        int ovf;
        t->kind = T_NUM;
        t->num = my_strtol(p, &p, 0, &ovf);
        lx->p = p;
        return;
    } else if ((*p >= 'a' && *p <= 'z') || *p == '_') {
        int n = 0;
        while (((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9')) && n < 15) t->text[n++] = *p++;
        t->text[n] = '\0';
        t->kind = T_IDENT;
        lx->p = p;
        return;
    } else if (my_strchr("+-*/%^&|<>", *p)) {
        t->kind = T_OP;
        t->text[0] = *p;
        t->text[1] = '\0';
        if ((*p == '<' || *p == '>') && p[1] == *p) { t->text[1] = *p; t->text[2] = '\0'; p++; }
        p++;
    } else if (*p == '(') {
        t->kind = T_LPAREN;
        p++;
    } else if (*p == ')') {
        t->kind = T_RPAREN;
        p++;
    } else {
        t->kind = T_ERR;
        t->text[0] = *p++;
        t->text[1] = '\0';
    }
    lx->p = p;
}

static int calc_error;
static int32_t parse_expr(struct lexer *lx, int min_prec);

static int prec_of(const struct token *t)
{
    if (t->kind != T_OP) return -1;
    switch (t->text[0]) {
    case '|': return 1;
    case '^': return 2;
    case '&': return 3;
    case '<': case '>': return 4;
    case '+': case '-': return 5;
    default: return 6;   /* * / % */
    }
}

static int32_t parse_primary(struct lexer *lx)
{
    struct token t = lx->cur;
    next_token(lx);
    if (t.kind == T_NUM) return t.num;
    if (t.kind == T_OP && t.text[0] == '-') return (int32_t)(0u - (uint32_t)parse_primary(lx));
    if (t.kind == T_LPAREN) {
        int32_t v = parse_expr(lx, 0);
        if (lx->cur.kind != T_RPAREN) calc_error = 1;
        else next_token(lx);
        return v;
    }
    if (t.kind == T_IDENT) {
        if (strcmp(t.text, "answer") == 0) return 42;
        if (strcmp(t.text, "max") == 0) return 2147483647;
    }
    calc_error = 1;
    return 0;
}

static int32_t parse_expr(struct lexer *lx, int min_prec)
{
    int32_t lhs = parse_primary(lx);
    for (;;) {
        int p = prec_of(&lx->cur);
        if (p < 0 || p < min_prec || calc_error) return lhs;
        char op = lx->cur.text[0];
        next_token(lx);
        int32_t rhs = parse_expr(lx, p + 1);
        uint32_t a = (uint32_t)lhs, b = (uint32_t)rhs;
        switch (op) {
        case '+': lhs = (int32_t)(a + b); break;
        case '-': lhs = (int32_t)(a - b); break;
        case '*': lhs = (int32_t)(a * b); break;
        case '/': case '%':
            if (rhs == 0 || (lhs == -2147483647 - 1 && rhs == -1)) { calc_error = 2; return 0; }
            lhs = op == '/' ? lhs / rhs : lhs % rhs;
            break;
        case '&': lhs = (int32_t)(a & b); break;
        case '|': lhs = (int32_t)(a | b); break;
        case '^': lhs = (int32_t)(a ^ b); break;
        case '<': lhs = (int32_t)(a << (b & 31)); break;
        default: lhs = lhs >> (b & 31); break;
        }
    }
}

static void calculator(void)
{
    say("== tokenizer ==\n");
    struct lexer lx = { "x1 = (foo+0x2A)*-3 >> 2 ; bar", { T_END, 0, "" } };
    static const char *const kinds[] = { "num", "ident", "op", "(", ")", "end", "err" };
    for (;;) {
        next_token(&lx);
        if (lx.cur.kind == T_NUM) say("  %s %d\n", kinds[lx.cur.kind], lx.cur.num);
        else say("  %s %s\n", kinds[lx.cur.kind], lx.cur.text);
        if (lx.cur.kind == T_END) break;
    }
    say("== calculator ==\n");
    static const char *const exprs[] = {
        "1 + 2 * 3", "(1 + 2) * 3", "100 / 7", "-100 / 7", "-100 % 7", "2 * (3 + 4) * (5 - 6)",
        "1 << 10 | 5", "0xff & 0x0f ^ 3", "answer * 1000 + 7", "max + 1", "-8 >> 1", "(((((9)))))",
        "10 / (5 - 5)", "3 + * 4", "(1 + 2", "12 $ 4",
    };
    for (unsigned i = 0; i < ARRAY_SIZE(exprs); i++) {
        calc_error = 0;
        struct lexer l = { exprs[i], { T_END, 0, "" } };
        next_token(&l);
        int32_t v = parse_expr(&l, 0);
        if (!calc_error && l.cur.kind != T_END) calc_error = 1;
        if (calc_error == 0) say("%-24s = %d\n", exprs[i], v);
        else say("%-24s : %s\n", exprs[i], calc_error == 2 ? "division error" : "syntax error");
    }
}

static void formatting(void)
{
    say("== printf formatting ==\n");
    say("[%d] [%5d] [%-5d] [%05d] [%+d] [% d]\n", 42, 42, 42, 42, 42, 42);
    say("[%d] [%5d] [%-5d] [%05d] [%+d]\n", -42, -42, -42, -42, -42);
    say("[%u] [%x] [%X] [%08x] [%-6x]\n", 3000000000u, 0xBEEFu, 0xBEEFu, 0xBEEFu, 0x1u);
    say("[%s] [%8s] [%-8s] [%c%c%c] [%%]\n", "hi", "right", "left", 'a', 'b', 'c');
    say("[%lld] [%llu] [%llx] [%020llu]\n", -9223372036854775807LL - 1, 18446744073709551615ull,
        0xFEDCBA9876543210ull, 12345ull);
    say("[%*d] [%-*d]\n", 6, 7, 6, 7);
    char small[8];
    int n = snprintf(small, sizeof small, "%s", "truncated output");
    say("snprintf returned %d, kept \"%s\"\n", n, small);
}

static void word_stats(void)
{
    say("== word statistics ==\n");
    static const char text[] =
        "it was the best of times it was the worst of times it was the age of wisdom "
        "it was the age of foolishness it was the epoch of belief";
    char words[32][16];
    uint32_t counts[32];
    unsigned nwords = 0, total = 0, letters[26] = { 0 };
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        char w[16];
        int n = 0;
        while (*p && *p != ' ') {
            if (n < 15) w[n++] = *p;
            if (*p >= 'a' && *p <= 'z') letters[*p - 'a']++;
            p++;
        }
        w[n] = '\0';
        total++;
        unsigned k;
        for (k = 0; k < nwords; k++) {
            if (strcmp(words[k], w) == 0) break;
        }
        if (k == nwords && nwords < 32) {
            memcpy(words[nwords], w, (size_t)n + 1);
            counts[nwords++] = 0;
        }
        if (k < 32) counts[k]++;
    }
    say("%u words, %u distinct\n", total, nwords);
    for (unsigned k = 0; k < nwords; k++) {
        if (counts[k] > 1) say("  %-6s x%u\n", words[k], counts[k]);
    }
    say("letters:");
    for (int c = 0; c < 26; c++) {
        if (letters[c]) say(" %c%u", 'a' + c, letters[c]);
    }
    say("\n");
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("strings: formatting and parsing test kernel\n");
    conversions();
    stringfuncs();
    calculator();
    formatting();
    word_stats();
    printf("checksum %08x\n", say_hash);
    return 0;
}
