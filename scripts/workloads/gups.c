/* gups.c - a random-access memory benchmark in the manner of HPCC RandomAccess (the class "HPCC"
 * of seed 002): XOR updates to pseudo-random 8-byte words of one large table, the address stream
 * of RandomAccess's published generator (a 64-bit shift register with feedback polynomial 0x7).
 * Nothing is reused between updates: one TLB miss and one cache miss per update.
 *
 * Usage: gups [TABLE_MIB [UPDATES]]   (defaults 128 MiB, 4,000,000 updates; TABLE_MIB a power of two)
 * Start-up writes every word once (the first-touch phase); the update loop is the steady phase.
 * Prints a checksum so the compiler keeps the work. Written for vmmu; record its steady phase with
 * `vmmu record --skip N` (scripts/workloads/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long argument(const char *text, const char *name) {
  char *end = NULL;
  const unsigned long value = strtoul(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value == 0) {
    fprintf(stderr, "gups: %s '%s' is not a positive number\n", name, text);
    exit(2);
  }
  return value;
}

int main(int argc, char **argv) {
  const unsigned long mib = argc > 1 ? argument(argv[1], "TABLE_MIB") : 128;
  const unsigned long updates = argc > 2 ? argument(argv[2], "UPDATES") : 4000000;
  if ((mib & (mib - 1)) != 0 || mib > (1ul << 20)) {
    fprintf(stderr, "gups: TABLE_MIB %lu must be a power of two up to 1048576\n", mib);
    return 2;
  }
  const uint64_t words = (uint64_t)mib << 17; /* MiB / 8 bytes */
  uint64_t *table = malloc(words * sizeof *table);
  if (table == NULL) {
    fprintf(stderr, "gups: cannot allocate %lu MiB\n", mib);
    return 1;
  }
  for (uint64_t i = 0; i < words; ++i)
    table[i] = i;
  uint64_t random = 1;
  for (unsigned long u = 0; u < updates; ++u) {
    random = (random << 1) ^ ((int64_t)random < 0 ? 7u : 0u);
    table[random & (words - 1)] ^= random;
  }
  uint64_t sum = 0;
  for (uint64_t i = 0; i < words; i += 4096 / sizeof *table)
    sum += table[i];
  printf("gups: %lu updates on %lu MiB, checksum %016llx\n", updates, mib, (unsigned long long)sum);
  free(table);
  return 0;
}
