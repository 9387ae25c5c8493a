/*
 * A small program as gcc -m32 -msse2 -O2 compiles it: scalar double arithmetic and conversions
 * under all four rounding modes, an SSE2 strlen in glibc's style (pcmpeqb/pmovmskb), a memchr,
 * pminub and a vectorised integer loop. It reads its inputs from and writes its results to the
 * differential harness's scratch window; see SimdProgramQemuTest.
 */
#include <emmintrin.h>
#include <stdint.h>

struct io {
  uint32_t mxcsr[4];
  double in[8];
  int32_t iin[8];
  char str[48];
  double out[4][6];
  int32_t iout[4][4];
  int32_t strl;
  int32_t chr;
  int32_t sum;
  uint32_t minb;
  uint8_t bytes[64];
};

#define IO ((volatile struct io *) 0x8F80 /* Layout.SCRATCH_ADDR */)

static int sse_strlen(const char *s) {
  const __m128i zero = _mm_setzero_si128();
  uintptr_t p = (uintptr_t) s & ~(uintptr_t) 15;
  unsigned mask = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *) p), zero));
  mask >>= (uintptr_t) s - p;
  if (mask) {
    return __builtin_ctz(mask);
  }
  for (;;) {
    p += 16;
    mask = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *) p), zero));
    if (mask) {
      return (int) (p - (uintptr_t) s) + __builtin_ctz(mask);
    }
  }
}

static int sse_memchr(const uint8_t *s, int c, int n) {
  const __m128i needle = _mm_set1_epi8((char) c);
  for (int i = 0; i + 16 <= n; i += 16) {
    unsigned m = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *) (s + i)), needle));
    if (m) {
      return i + __builtin_ctz(m);
    }
  }
  return -1;
}

__attribute__((section(".text.entry"))) void entry(void) {
  volatile struct io *v = IO;
  for (int rc = 0; rc < 4; rc++) {
    _mm_setcsr(0x1F80u | (unsigned) rc << 13);
    double a = v->in[0], b = v->in[1], c = v->in[2], d = v->in[3];
    v->out[rc][0] = a + b * c;
    v->out[rc][1] = a / c - d;
    v->out[rc][2] = __builtin_sqrt(a * a + b * b);
    v->out[rc][3] = (double) (float) (a * d);
    v->out[rc][4] = (double) v->iin[rc] / 3.0;
    v->out[rc][5] = a < b ? a - c : b * d;
    v->iout[rc][0] = (int) (a * 1000.0);
    v->iout[rc][1] = _mm_cvtsd_si32(_mm_set_sd(b * 100.0));
    v->iout[rc][2] = (int) (float) (c * d);
    v->iout[rc][3] = a > d;
    v->mxcsr[rc] = _mm_getcsr();
  }
  _mm_setcsr(0x1F80u);
  v->strl = sse_strlen((const char *) v->str);
  v->chr = sse_memchr((const uint8_t *) v->bytes, v->bytes[v->iin[4] & 63], 64);
  int32_t s = 0;
  for (int i = 0; i < 8; i++) {
    s += v->iin[i] * 3;
  }
  v->sum = s;
  __m128i x = _mm_loadu_si128((const __m128i *) v->bytes);
  __m128i y = _mm_loadu_si128((const __m128i *) (v->bytes + 16));
  __m128i m = _mm_min_epu8(x, y);
  m = _mm_min_epu8(m, _mm_srli_si128(m, 8));
  m = _mm_min_epu8(m, _mm_srli_si128(m, 4));
  v->minb = (uint32_t) _mm_cvtsi128_si32(m);
}
